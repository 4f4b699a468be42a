// libFuzzer target for the URL part of ingest enrichment (ingest/url_context.h): ParseUrl,
// ScrubUrl, ScrubQuery, ExtractUtm, ClassifyChannel and ReferrerHost on arbitrary bytes. The input
// is a referrer and a page URL separated by the first '\n' (without one, both are the input).
// Besides memory errors it checks: parsed schemes and hosts are lower-case ASCII; scrubbing keeps
// a parsed URL's scheme, host and port; sensitive parameters are redacted; UTM values are short,
// trimmed, valid UTF-8 without control characters; a visit without referrer or tags is direct.

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/pii_scrubber.h"
#include "ingest/url_context.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

bool IsLowerAscii(std::string_view s) {
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || b < 0x20 || b >= 0x7f) return false;
  }
  return true;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// `s` percent-decoded with '+' as a space, in lower case.
std::string DecodeLower(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      c = static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

/// Every parameter of a scrubbed query named email, password or phone has an empty or redacted
/// value.
void CheckRedacted(std::string_view query) {
  if (!query.empty() && query[0] == '?') query.remove_prefix(1);
  for (size_t pos = 0; pos <= query.size();) {
    const size_t amp = std::min(query.find('&', pos), query.size());
    const std::string_view param = query.substr(pos, amp - pos);
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos) {
      const std::string name = DecodeLower(param.substr(0, eq));
      const std::string_view value = param.substr(eq + 1);
      if (name == "email" || name == "password" || name == "phone") {
        Check(value.empty() || value == ca::ingest::kRedactedMarker, "sensitive value redacted");
      }
    }
    pos = amp + 1;
  }
}

void CheckUtmValue(std::string_view v) {
  Check(v.size() <= ca::ingest::kMaxUtmValueBytes, "utm value capped");
  Check(v.empty() || (v.front() != ' ' && v.back() != ' '), "utm value trimmed");
  Check(simdjson::validate_utf8(v.data(), v.size()), "utm value is UTF-8");
  for (const char c : v) {
    const auto b = static_cast<unsigned char>(c);
    Check(b >= 0x20 && b != 0x7f, "utm value without control characters");
  }
}

void CheckUrl(std::string_view text) {
  const std::optional<ca::ingest::ParsedUrl> url = ca::ingest::ParseUrl(text);
  if (text.size() > ca::ingest::kMaxUrlBytes) Check(!url, "length cap");
  if (url) {
    Check(IsLowerAscii(url->scheme) && IsLowerAscii(url->host), "scheme and host lower case");
    if (!url->host.empty()) Check(!url->path.empty(), "an authority has a path");
  }

  std::string scrubbed;
  const bool changed = ca::ingest::ScrubUrl(text, &scrubbed);
  Check(!changed || scrubbed != text, "changed means different");
  // (".a@b.io/x" is a relative reference that scrubbing turns into a bare word: not checked.)
  const bool dotted = url && url->scheme.empty() && url->path.starts_with('.');
  if (changed && url && !dotted && scrubbed.size() <= ca::ingest::kMaxUrlBytes) {
    const std::optional<ca::ingest::ParsedUrl> again = ca::ingest::ParseUrl(scrubbed);
    Check(again.has_value(), "a scrubbed URL parses");
    Check(again->scheme == url->scheme && again->host == url->host && again->port == url->port,
          "scrubbing keeps scheme, host and port");
  }
  if (url) {
    std::string query;
    if (ca::ingest::ScrubQuery(url->query, &query)) {
      CheckRedacted(query);
    } else {
      CheckRedacted(url->query);
    }
  }

  const ca::ingest::Utm utm = ca::ingest::ExtractUtm(url ? std::string_view(url->query) : text);
  for (const std::string* v : {&utm.source, &utm.medium, &utm.campaign, &utm.term, &utm.content}) {
    CheckUtmValue(*v);
  }
  (void)ca::ingest::IsPaidTraffic(utm);

  const std::string host = ca::ingest::ReferrerHost(text);
  Check(host == (url ? ca::ingest::WithoutWww(url->host) : ""), "referrer host");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view referrer = input.substr(0, newline);
  const std::string_view page =
      newline == std::string_view::npos ? input : input.substr(newline + 1);
  CheckUrl(referrer);
  if (newline != std::string_view::npos) CheckUrl(page);

  const std::optional<ca::ingest::ParsedUrl> page_url = ca::ingest::ParseUrl(page);
  const ca::ingest::Utm utm = ca::ingest::ExtractUtm(page_url ? page_url->query : "");
  const ca::ingest::Channel channel = ca::ingest::ClassifyChannel(referrer, page, utm);
  Check(!ca::ingest::ChannelName(channel).empty(), "channel name");
  if (!utm.Tagged()) {
    Check(ca::ingest::ClassifyChannel("", page, utm) == ca::ingest::Channel::kDirect,
          "no referrer, no tags: direct");
  }
  return 0;
}
