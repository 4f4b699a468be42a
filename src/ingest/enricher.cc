#include "ingest/enricher.h"

#include <simdjson.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <utility>

#include "event/json_string.h"
#include "event/timestamp.h"
#include "ingest/pii_scrubber.h"
#include "ingest/thread_memo.h"
#include "ingest/url_context.h"

namespace ca::ingest {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

std::string_view StringAt(object o, std::string_view key) {
  std::string_view s;
  if (o[key].get_string().get(s) != simdjson::SUCCESS) return {};
  return s;
}

// "2026-W48" for the ISO week holding epoch day `day`.
std::string IsoWeek(int64_t day) {
  const int64_t weekday = ((day + 3) % 7 + 7) % 7;  // Monday 0; 1970-01-01 was a Thursday
  const int64_t thursday = day - weekday + 3;       // the ISO year is the Thursday's
  int64_t year = 1970 + thursday / 366;
  while (event::DaysFromCivil(year + 1, 1, 1) <= thursday) ++year;
  while (event::DaysFromCivil(year, 1, 1) > thursday) --year;
  const int64_t week = (thursday - event::DaysFromCivil(year, 1, 1)) / 7 + 1;
  char text[48];
  std::snprintf(text, sizeof text, "%04lld-W%02lld", static_cast<long long>(year),
                static_cast<long long>(week));
  return text;
}

std::optional<int64_t> TimeOf(element value) {
  int64_t ms;
  if (value.get_int64().get(ms) == simdjson::SUCCESS && ms >= 0) return ms;
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
  Result<int64_t> parsed = event::ParseIso8601Millis(text);
  if (parsed.ok()) return *parsed;
  if (text.size() == 10) parsed = event::ParseIso8601Millis(std::string(text) + "T00:00:00Z");
  return parsed.ok() ? std::optional<int64_t>(*parsed) : std::nullopt;
}

// Appends `,"key":"value"` (the comma when `out` already has members) when value is non-empty.
void AddString(std::string* out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  if (!out->empty()) out->push_back(',');
  event::AppendJsonString(key, out);
  out->push_back(':');
  event::AppendJsonString(value, out);
}

// Appends `,"key":{members}` when members is non-empty.
void AddObject(std::string* out, std::string_view key, const std::string& members) {
  if (members.empty()) return;
  if (!out->empty()) out->push_back(',');
  event::AppendJsonString(key, out);
  out->append(":{").append(members).push_back('}');
}

// `value` with personal data replaced (PiiScrubber::ScrubString): every value enrichment adds
// is clean, so that the privacy stage can skip them (Event::clean_context_tail).
std::string Clean(std::string_view value) {
  std::string scrubbed;
  return PiiScrubber::ScrubString(value, &scrubbed) ? scrubbed : std::string(value);
}

// False when ScrubUrl surely leaves `path` as it is: no '@', no percent-encoding that could
// hide one, no query or fragment, fewer than 7 digits.
bool MayNeedScrubbing(std::string_view path) {
  int digits = 0;
  for (char c : path) {
    if (c == '@' || c == '%' || c == '?' || c == '#' || c == ':') return true;
    if (c >= '0' && c <= '9' && ++digits >= 7) return true;
  }
  return false;
}

// Keys longer than this are not memoised (their slots would hold them).
constexpr size_t kMaxMemoKeyBytes = 1024;

// What a pure function of `key` gives, from this thread's memo when it is there; `scratch`
// holds it when the key is too long to keep.
template <typename Value, typename Compute>
const Value& Memoized(ThreadMemo<Value>& memo, uint64_t owner, std::string_view key,
                      Compute compute, Value* scratch) {
  if (key.size() > kMaxMemoKeyBytes) return *scratch = compute(key);
  if (const Value* kept = memo.Find(owner, key)) return *kept;
  return memo.Put(owner, key, compute(key));
}

// The members enrichment adds for a user agent.
struct UserAgentParts {
  std::string browser;  // members of context.browser
  std::string os;       // members of context.os
  std::string device;   // the device type
};

// What enrichment takes from context.page.url.
struct PageFacts {
  std::string path;  // when the URL parses
  std::string host;
  Utm utm;
  bool url_changed = false;  // ScrubUrl removed something: store clean_url
  std::string clean_url;
};

// What enrichment takes from context.page.referrer.
struct ReferrerFacts {
  std::string host;  // ReferrerHost
  bool changed = false;
  std::string clean;
};

std::string Version(const std::optional<std::string>& major,
                    const std::optional<std::string>& minor) {
  if (!major) return {};
  return minor ? *major + "." + *minor : *major;
}

}  // namespace

UserProfile ProfileFromTraits(std::string_view traits_json) {
  UserProfile profile;
  thread_local simdjson::dom::parser parser;
  object traits;
  if (parser.parse(traits_json.data(), traits_json.size()).get_object().get(traits) !=
      simdjson::SUCCESS) {
    return profile;
  }
  auto first = [&](std::initializer_list<std::string_view> keys) {
    for (std::string_view key : keys) {
      std::string_view v = StringAt(traits, key);
      if (!v.empty()) return std::string(v.substr(0, 100));
    }
    return std::string();
  };
  profile.industry = first({"industry"});
  profile.seniority = first({"seniority", "job_level", "level"});
  profile.location = first({"location", "city"});
  if (profile.location.empty()) {
    object address;
    if (traits["address"].get_object().get(address) == simdjson::SUCCESS) {
      profile.location = std::string(StringAt(address, "city").substr(0, 100));
    }
  }
  if (profile.location.empty()) profile.location = first({"country"});
  for (std::string_view key : {"signup_at", "signed_up_at", "created_at", "createdAt"}) {
    element value;
    if (traits[key].get(value) != simdjson::SUCCESS) continue;
    if (std::optional<int64_t> ms = TimeOf(value)) {
      profile.signup_week = IsoWeek(*ms / kDayMs);
      break;
    }
  }
  return profile;
}

Enricher::Enricher(const UserAgentParser* user_agents, const GeoLookup* geo, UserProfiles* profiles,
                   Sessionizer::Options sessions)
    : user_agents_(user_agents),
      geo_(geo),
      profiles_(profiles),
      sessions_(sessions),
      memo_owner_(NewMemoOwner()) {}

void Enricher::Enrich(const RequestContext& request, event::Event* e) {
  thread_local simdjson::dom::parser parser;
  object context;
  if (parser.parse(e->context_json.data(), e->context_json.size()).get_object().get(context) !=
      simdjson::SUCCESS) {
    return;  // the decoder only passes objects
  }
  auto has = [&](std::string_view key) { return context[key].error() == simdjson::SUCCESS; };
  std::string add;  // members to append, comma-separated

  if (geo_ != nullptr && !has("country")) {
    std::string_view ip = StringAt(context, "ip");
    if (ip.empty()) ip = request.client_ip;
    if (std::optional<GeoLocation> where = geo_->Lookup(ip)) {
      AddString(&add, "country", where->country);
      if (!has("region")) AddString(&add, "region", Clean(where->region));
    }
  }

  if (user_agents_ != nullptr) {
    std::string_view header = StringAt(context, "user_agent");
    if (header.empty()) header = StringAt(context, "userAgent");
    if (header.empty()) header = request.user_agent;
    if (!header.empty()) {
      thread_local ThreadMemo<UserAgentParts> memo(1024);
      UserAgentParts scratch;
      const UserAgentParts& ua = Memoized(
          memo, memo_owner_, header,
          [&](std::string_view h) {
            const UserAgent parsed = user_agents_->Parse(h);
            UserAgentParts parts;
            AddString(&parts.browser, "name", Clean(parsed.browser.family));
            AddString(&parts.browser, "version",
                      Clean(Version(parsed.browser.major, parsed.browser.minor)));
            AddString(&parts.os, "name", Clean(parsed.os.family));
            AddString(&parts.os, "version", Clean(Version(parsed.os.major, parsed.os.minor)));
            parts.device = parsed.device_type;
            return parts;
          },
          &scratch);
      if (!has("browser")) AddObject(&add, "browser", ua.browser);
      if (!has("os")) AddObject(&add, "os", ua.os);
      element device;
      if (context["device"].get(device) != simdjson::SUCCESS) {
        AddString(&add, "device", ua.device);
      } else if (device.is_object() && !has("device_type")) {
        AddString(&add, "device_type", ua.device);
      }
    }
  }
  // Page, referrer and campaign.
  object page;
  std::string_view page_url, page_path, referrer;
  if (context["page"].get_object().get(page) == simdjson::SUCCESS) {
    page_url = StringAt(page, "url");
    page_path = StringAt(page, "path");
    referrer = StringAt(page, "referrer");
  }
  thread_local ThreadMemo<PageFacts> page_memo(8192);
  thread_local ThreadMemo<ReferrerFacts> referrer_memo(1024);
  thread_local ThreadMemo<Channel> channel_memo(1024);
  PageFacts page_scratch;
  const PageFacts& page_facts = Memoized(
      page_memo, memo_owner_, page_url,
      [](std::string_view url) {
        PageFacts facts;
        facts.url_changed = ScrubUrl(url, &facts.clean_url);
        if (std::optional<ParsedUrl> parsed = ParseUrl(url)) {
          // The path as stored: from the scrubbed URL (ScrubUrl percent-decodes segments).
          if (facts.url_changed) {
            std::optional<ParsedUrl> clean = ParseUrl(facts.clean_url);
            facts.path = clean ? Clean(clean->path) : std::string();
          } else {
            facts.path = Clean(parsed->path);
          }
          facts.host = std::move(parsed->host);
          facts.utm = ExtractUtm(parsed->query);
        }
        return facts;
      },
      &page_scratch);
  ReferrerFacts referrer_scratch;
  const ReferrerFacts& referrer_facts = Memoized(
      referrer_memo, memo_owner_, referrer,
      [](std::string_view url) {
        ReferrerFacts facts;
        facts.host = Clean(ReferrerHost(url));
        facts.changed = ScrubUrl(url, &facts.clean);
        return facts;
      },
      &referrer_scratch);
  // The sender's own page.path goes into the session as its entry page: scrubbed like a URL.
  std::string clean_path;
  if (MayNeedScrubbing(page_path) && ScrubUrl(page_path, &clean_path)) page_path = clean_path;
  if (page_path.empty()) page_path = page_facts.path;
  const Utm& utm = page_facts.utm;
  const std::string& referrer_host = referrer_facts.host;
  const bool has_page = !page_url.empty() || !referrer.empty();
  // The channel is a function of the referrer and the page URL; without campaign parameters,
  // of the referrer and the page's host alone (a host has no "://", so the keys stay apart).
  thread_local std::string channel_key;
  channel_key.assign(referrer).push_back('\n');
  channel_key.append(utm.Tagged() ? page_url : std::string_view(page_facts.host));
  Channel channel_scratch;
  const Channel channel_kind = Memoized(
      channel_memo, memo_owner_, channel_key,
      [&](std::string_view) { return ClassifyChannel(referrer, page_url, utm); }, &channel_scratch);
  const std::string_view channel = ChannelName(channel_kind);
  if (has_page) {
    if (!has("campaign")) {
      std::string members;
      AddString(&members, "source", utm.source);
      AddString(&members, "medium", utm.medium);
      AddString(&members, "name", utm.campaign);
      AddString(&members, "term", utm.term);
      AddString(&members, "content", utm.content);
      AddObject(&add, "campaign", members);
    }
    if (!has("referrer_host")) AddString(&add, "referrer_host", referrer_host);
    if (!has("channel")) AddString(&add, "channel", channel);
  }

  const bool anonymized = (e->flags & event::kFlagAnonymized) != 0;
  const std::string_view sender = !e->user_id.empty() ? e->user_id : e->anonymous_id;
  if (!anonymized && !sender.empty()) {
    SessionSeed first;
    first.entry_path = page_path;
    if (has_page) {
      first.referrer_host = referrer_host;
      first.channel = channel;
      first.utm_source = utm.source;
      first.utm_medium = utm.medium;
      first.utm_campaign = utm.campaign;
    }
    // A client's own session id keeps its id; the context is its first event's all the same.
    thread_local Sessionizer::Rendered session;
    thread_local std::string client_key;
    const bool own_id = !e->session_id.empty();
    if (own_id) client_key.assign("\x01").append(e->session_id);
    sessions_.Assign(e->tenant, own_id ? std::string_view(client_key) : sender, e->timestamp_ms,
                     e->received_at_ms, first, &session);
    if (!own_id) e->session_id = session.id;
    if (!has("session")) {
      if (!add.empty()) add.push_back(',');
      add.append(R"("session":{"id":)");
      event::AppendJsonString(own_id ? Clean(e->session_id) : session.id, &add);
      add.append(session.members_after_id).push_back('}');
    }
  }

  if (!anonymized && profiles_ != nullptr && !e->user_id.empty()) {
    if (e->type == "identify") {
      thread_local simdjson::dom::parser properties_parser;  // `context` lives in `parser`
      object properties;
      element traits;
      if (properties_parser.parse(e->properties_json.data(), e->properties_json.size())
                  .get_object()
                  .get(properties) == simdjson::SUCCESS &&
          properties["traits"].get(traits) == simdjson::SUCCESS && traits.is_object()) {
        profiles_->Identify(e->tenant, e->user_id, simdjson::minify(traits));
      }
    }
    if (!has("profile")) {
      if (std::optional<UserProfile> profile = profiles_->Find(e->tenant, e->user_id)) {
        std::string members;
        AddString(&members, "industry", Clean(profile->industry));
        AddString(&members, "seniority", Clean(profile->seniority));
        AddString(&members, "location", Clean(profile->location));
        AddString(&members, "signup_week", profile->signup_week);
        AddObject(&add, "profile", members);
      }
    }
  }

  // URLs may carry personal data in their query (e-mails, tokens): the stored copy has it removed.
  const bool url_changed = page_facts.url_changed;
  const bool referrer_changed = referrer_facts.changed;
  const std::string& clean_url = page_facts.clean_url;
  const std::string& clean_referrer = referrer_facts.clean;
  if (!add.empty()) {
    std::string& json = e->context_json;
    json.pop_back();  // '}'
    const size_t tail_start = json.size();
    if (json.size() > 1) json.push_back(',');
    json.append(add).push_back('}');
    e->clean_context_tail = static_cast<uint32_t>(json.size() - 1 - tail_start);
  }
  if (url_changed || referrer_changed) {
    nlohmann::json doc = nlohmann::json::parse(e->context_json, nullptr, false);
    if (doc.is_object() && doc["page"].is_object()) {
      if (url_changed) doc["page"]["url"] = clean_url;
      if (referrer_changed) doc["page"]["referrer"] = clean_referrer;
      e->context_json = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      e->clean_context_tail = 0;  // members reordered
    }
  }
}

}  // namespace ca::ingest
