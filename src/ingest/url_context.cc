#include "ingest/url_context.h"

#include <algorithm>
#include <array>
#include <utility>

#include "ingest/pii_scrubber.h"

namespace ca::ingest {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsControl(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b < 0x20 || b == 0x7f;
}
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

template <size_t N>
bool OneOf(std::string_view lower, const std::array<std::string_view, N>& words) {
  return std::find(words.begin(), words.end(), lower) != words.end();
}

/// Spaces and control characters at both ends removed.
std::string_view TrimUrl(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// `s` percent-decoded ('+' as a space when `plus_space`); malformed escapes are kept as written.
/// Returns `s` itself when there is nothing to decode, else the decoded text in `*buffer`.
std::string_view Decode(std::string_view s, bool plus_space, std::string* buffer) {
  if (s.find('%') == std::string_view::npos &&
      (!plus_space || s.find('+') == std::string_view::npos)) {
    return s;
  }
  buffer->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      buffer->push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (c == '+' && plus_space) {
      buffer->push_back(' ');
    } else {
      buffer->push_back(c);
    }
  }
  return *buffer;
}

/// Appends `s` percent-encoded for a query component (space as '+') or a path segment. Letters,
/// digits, -._~!$'()*,;:@ and the brackets of scrubber markers are kept.
void Encode(std::string_view s, bool query, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : s) {
    if (IsAlnum(c) || std::string_view("-._~!$'()*,;:@[]").find(c) != std::string_view::npos) {
      out->push_back(c);
    } else if (c == ' ' && query) {
      out->push_back('+');
    } else {
      const auto b = static_cast<unsigned char>(c);
      out->push_back('%');
      out->push_back(kHex[b >> 4]);
      out->push_back(kHex[b & 15]);
    }
  }
}

/// The scheme of `s` (without ':'), or empty when `s` does not start with one.
std::string_view SchemeOf(std::string_view s) {
  if (s.empty() || !IsAlpha(s[0])) return {};
  for (size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ':') return s.substr(0, i);
    if (!IsAlnum(c) && c != '+' && c != '-' && c != '.') return {};
  }
  return {};
}

/// A URL cut into its parts as views of the text; no validation.
struct Split {
  std::string_view scheme;     // without ':'
  bool has_authority = false;  // "//" present
  bool has_userinfo = false;   // "user:pass@" present
  std::string_view host_port;  // the authority after the user-info
  std::string_view path;
  bool has_query = false;
  std::string_view query;  // without '?'
  bool has_fragment = false;
  std::string_view fragment;  // without '#'
};

/// Cuts `s` into its parts; false when it does not start like a URL (a scheme, '/', '?', '#',
/// '.').
bool SplitUrl(std::string_view s, Split* split) {
  *split = Split{};
  split->scheme = SchemeOf(s);
  std::string_view rest = s;
  if (!split->scheme.empty()) {
    rest.remove_prefix(split->scheme.size() + 1);
  } else if (s.empty() || std::string_view("/?#.").find(s[0]) == std::string_view::npos) {
    return false;
  }
  const size_t hash = rest.find('#');
  if (hash != std::string_view::npos) {
    split->has_fragment = true;
    split->fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  const size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    split->has_query = true;
    split->query = rest.substr(question + 1);
    rest = rest.substr(0, question);
  }
  if (rest.size() >= 2 && rest[0] == '/' && rest[1] == '/') {
    split->has_authority = true;
    rest.remove_prefix(2);
    const size_t slash = std::min(rest.find('/'), rest.size());
    std::string_view authority = rest.substr(0, slash);
    split->path = rest.substr(slash);
    const size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      split->has_userinfo = true;
      authority.remove_prefix(at + 1);
    }
    split->host_port = authority;
  } else {
    split->path = rest;
  }
  return true;
}

bool IsHostChar(char c) {
  return IsAlnum(c) || std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

/// Validates `host_port` and stores its host (lower case) and port in `url`.
bool ParseHostPort(std::string_view host_port, ParsedUrl* url) {
  std::string_view host = host_port;
  std::string_view port;
  bool has_port = false;
  if (!host_port.empty() && host_port[0] == '[') {
    const size_t close = host_port.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    host = host_port.substr(0, close + 1);
    const std::string_view inner = host.substr(1, host.size() - 2);
    if (inner.find(':') == std::string_view::npos) return false;
    for (const char c : inner) {
      if (HexValue(c) < 0 && c != ':' && c != '.') return false;
    }
    const std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return false;
      has_port = true;
      port = after.substr(1);
    }
  } else {
    const size_t colon = host_port.find(':');
    if (colon != std::string_view::npos) {
      host = host_port.substr(0, colon);
      has_port = true;
      port = host_port.substr(colon + 1);
    }
    if (!std::all_of(host.begin(), host.end(), IsHostChar)) return false;
  }
  if (has_port && !port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit)) return false;
    uint32_t value = 0;
    for (const char c : port) value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) return false;
    url->port = static_cast<uint16_t>(value);
  }
  url->host = LowerAscii(host);
  return true;
}

constexpr std::array<std::string_view, 6> kSchemesWithHost = {"http", "https", "ws",
                                                              "wss",  "ftp",   "ftps"};

constexpr std::array<std::string_view, 33> kSensitiveNames = {
    "mail",     "tel",       "mobile",   "msisdn",    "fax",        "name",    "firstname",
    "lastname", "fullname",  "surname",  "givenname", "familyname", "user",    "username",
    "login",    "pass",      "pwd",      "pin",       "otp",        "address", "street",
    "dob",      "birthdate", "birthday", "iban",      "key",        "code",    "auth",
    "sig",      "jwt",       "sid",      "session",   "sessionid"};

bool IsSensitiveParam(std::string_view name) {
  if (name.empty()) return false;
  if (PiiScrubber::IsSensitiveKey(name)) return true;
  std::string k;
  for (const char c : name) {
    if (IsAlnum(c)) k.push_back(Lower(c));
  }
  for (const std::string_view word : {"email", "phone", "signature", "credential"}) {
    if (k.find(word) != std::string::npos) return true;
  }
  return OneOf(k, kSensitiveNames);
}

/// Scratch buffers reused across the parameters of one query.
struct Scratch {
  std::string key, value, scrubbed_key, scrubbed_value;
};

/// Scrubs one `name[=value]` parameter; false when it stays as it is, else its new text is in
/// `*out`.
bool ScrubParam(std::string_view param, Scratch* scratch, std::string* out) {
  const size_t eq = param.find('=');
  const bool has_value = eq != std::string_view::npos;
  const std::string_view raw_key = param.substr(0, eq);
  const std::string_view raw_value = has_value ? param.substr(eq + 1) : std::string_view();
  const std::string_view key = Decode(raw_key, true, &scratch->key);
  const bool key_changed = PiiScrubber::ScrubString(key, &scratch->scrubbed_key);
  bool value_changed = false;
  std::string_view new_value = raw_value;
  bool encode_value = false;
  if (has_value && !raw_value.empty() &&
      (IsSensitiveParam(key) || (key_changed && IsSensitiveParam(scratch->scrubbed_key)))) {
    new_value = kRedactedMarker;
    value_changed = raw_value != kRedactedMarker;
  } else if (has_value) {
    const std::string_view value = Decode(raw_value, true, &scratch->value);
    if (PiiScrubber::ScrubString(value, &scratch->scrubbed_value)) {
      new_value = scratch->scrubbed_value;
      value_changed = encode_value = true;
    }
  }
  if (!key_changed && !value_changed) return false;
  out->clear();
  if (key_changed) {
    Encode(scratch->scrubbed_key, true, out);
  } else {
    out->append(raw_key);
  }
  if (has_value) {
    out->push_back('=');
    if (encode_value) {
      Encode(new_value, true, out);
    } else {
      out->append(new_value);
    }
  }
  return true;
}

/// Scrubs `path` segment by segment (split at '/'). Returns whether anything changed and, only
/// then, appends the scrubbed path to `*out`.
bool ScrubPath(std::string_view path, std::string* out) {
  std::string decoded_buffer, scrubbed;
  bool changed = false;
  size_t copied = 0;  // path[0, copied) is in *out once changed
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t slash = std::min(path.find('/', pos), path.size());
    const std::string_view segment = path.substr(pos, slash - pos);
    const std::string_view decoded = Decode(segment, false, &decoded_buffer);
    if (PiiScrubber::ScrubString(decoded, &scrubbed)) {
      out->append(path.substr(copied, pos - copied));
      Encode(scrubbed, false, out);
      copied = slash;
      changed = true;
    }
    pos = slash + 1;
  }
  if (changed) out->append(path.substr(copied));
  return changed;
}

/// Scrubs a fragment: as a query after its first '?' (the part before like a path), as a query
/// when it holds a '=', else like a path. Same contract as ScrubPath.
bool ScrubFragment(std::string_view fragment, std::string* out) {
  const size_t question = fragment.find('?');
  if (question == std::string_view::npos && fragment.find('=') != std::string_view::npos) {
    std::string scrubbed;
    if (!ScrubQuery(fragment, &scrubbed)) return false;
    out->append(scrubbed);
    return true;
  }
  if (question == std::string_view::npos) return ScrubPath(fragment, out);
  const std::string_view head = fragment.substr(0, question);
  const std::string_view tail = fragment.substr(question + 1);
  std::string scrubbed_head, scrubbed_tail;
  const bool head_changed = ScrubPath(head, &scrubbed_head);
  const bool tail_changed = ScrubQuery(tail, &scrubbed_tail);
  if (!head_changed && !tail_changed) return false;
  out->append(head_changed ? std::string_view(scrubbed_head) : head);
  out->push_back('?');
  out->append(tail_changed ? std::string_view(scrubbed_tail) : tail);
  return true;
}

/// Appends `s` as valid UTF-8: invalid bytes become U+FFFD, control characters spaces.
void AppendCleanUtf8(std::string_view s, std::string* out) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out->push_back(IsControl(s[i]) ? ' ' : s[i]);
      ++i;
      continue;
    }
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // range of the second byte
    if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b == 0xe0) lo = 0xa0;
      if (b == 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b == 0xf0) lo = 0x90;
      if (b == 0xf4) hi = 0x8f;
    }
    bool valid = n > 0 && i + n < s.size();
    for (size_t k = 1; valid && k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      valid = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xbf);
    }
    if (valid) {
      out->append(s.substr(i, n + 1));
      i += n + 1;
    } else {
      out->append("\xef\xbf\xbd");
      ++i;
    }
  }
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

/// A UTM value as Utm documents it.
std::string CleanUtmValue(std::string_view raw) {
  std::string decoded_buffer, clean, scrubbed;
  AppendCleanUtf8(Decode(raw, true, &decoded_buffer), &clean);
  std::string_view text = clean;
  if (PiiScrubber::ScrubString(text, &scrubbed)) text = scrubbed;
  text = TrimSpaces(text);
  if (text.size() > kMaxUtmValueBytes) {
    size_t cut = kMaxUtmValueBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
    text = TrimSpaces(text.substr(0, cut));
  }
  return std::string(text);
}

struct ClickId {
  std::string_view name;
  Channel channel;
};
constexpr std::array<ClickId, 12> kClickIds = {{
    {"gclid", Channel::kSearch},
    {"gbraid", Channel::kSearch},
    {"wbraid", Channel::kSearch},
    {"msclkid", Channel::kSearch},
    {"yclid", Channel::kSearch},
    {"fbclid", Channel::kSocial},
    {"li_fat_id", Channel::kSocial},
    {"ttclid", Channel::kSocial},
    {"twclid", Channel::kSocial},
    {"rdt_cid", Channel::kSocial},
    {"epik", Channel::kSocial},
    {"sccid", Channel::kSocial},
}};

/// Calls `f(raw_name, raw_value)` for each `&`-separated parameter of `query`.
template <typename F>
void ForEachParam(std::string_view query, F f) {
  if (!query.empty() && query[0] == '?') query.remove_prefix(1);
  size_t pos = 0;
  while (pos <= query.size()) {
    const size_t amp = std::min(query.find('&', pos), query.size());
    const std::string_view param = query.substr(pos, amp - pos);
    const size_t eq = param.find('=');
    f(param.substr(0, eq),
      eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1));
    pos = amp + 1;
  }
}

struct HostRule {
  std::string_view domain;  // "name.*": name followed by a public suffix
  bool subdomains;          // also matches hosts ending in "." + domain
};

constexpr std::array<HostRule, 20> kEmailHosts = {{
    {"mail.google.com", false},
    {"inbox.google.com", false},
    {"com.google.android.gm", false},
    {"com.microsoft.office.outlook", false},
    {"outlook.live.com", true},
    {"outlook.office.com", true},
    {"outlook.office365.com", true},
    {"mail.live.com", true},
    {"mail.yahoo.*", true},
    {"mail.aol.com", true},
    {"mail.proton.me", true},
    {"mail.protonmail.com", true},
    {"mail.zoho.*", true},
    {"app.fastmail.com", true},
    {"mail.yandex.*", true},
    {"e.mail.ru", true},
    {"navigator.gmx.net", true},
    {"navigator.web.de", true},
    {"mail.qq.com", true},
    {"email.t-online.de", true},
}};

constexpr std::array<HostRule, 27> kSearchHosts = {{
    {"google.*", false},
    {"images.google.*", false},
    {"scholar.google.*", false},
    {"encrypted.google.com", false},
    {"com.google.android.googlequicksearchbox", false},
    {"bing.com", true},
    {"duckduckgo.com", true},
    {"search.yahoo.*", true},
    {"yahoo.*", false},
    {"yandex.*", false},
    {"ya.ru", false},
    {"baidu.com", true},
    {"ecosia.org", true},
    {"startpage.com", true},
    {"qwant.com", true},
    {"search.brave.com", true},
    {"search.naver.com", true},
    {"seznam.cz", false},
    {"search.seznam.cz", true},
    {"so.com", true},
    {"sogou.com", true},
    {"search.aol.com", true},
    {"ask.com", true},
    {"kagi.com", true},
    {"search.daum.net", true},
    {"coccoc.com", true},
    {"mojeek.com", true},
}};

constexpr std::array<HostRule, 37> kSocialHosts = {{
    {"facebook.com", true},
    {"fb.me", true},
    {"fb.com", true},
    {"messenger.com", true},
    {"instagram.com", true},
    {"threads.net", true},
    {"t.co", true},
    {"twitter.com", true},
    {"x.com", true},
    {"linkedin.com", true},
    {"lnkd.in", true},
    {"reddit.com", true},
    {"redd.it", true},
    {"youtube.com", true},
    {"youtu.be", true},
    {"tiktok.com", true},
    {"pinterest.*", true},
    {"pin.it", true},
    {"xing.com", true},
    {"vk.com", true},
    {"tumblr.com", true},
    {"quora.com", true},
    {"weibo.com", true},
    {"snapchat.com", true},
    {"bsky.app", true},
    {"mastodon.social", true},
    {"news.ycombinator.com", true},
    {"t.me", true},
    {"web.telegram.org", true},
    {"whatsapp.com", true},
    {"wa.me", true},
    {"discord.com", true},
    {"com.facebook.katana", false},
    {"com.instagram.android", false},
    {"com.linkedin.android", false},
    {"com.twitter.android", false},
    {"com.reddit.frontpage", false},
}};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// Whether `host` is `domain` or, with `subdomains`, ends with "." + domain.
bool MatchesDomain(std::string_view host, std::string_view domain, bool subdomains) {
  if (host == domain) return true;
  return subdomains && host.size() > domain.size() && EndsWith(host, domain) &&
         host[host.size() - domain.size() - 1] == '.';
}

bool AllLetters(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsAlpha);
}

/// Whether `label` is a generic second level under a country code (co.uk, com.br, ne.jp...).
bool IsCountrySecondLevel(std::string_view label) {
  static constexpr std::array<std::string_view, 11> kLabels = {
      "co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go", "gob"};
  return OneOf(label, kLabels);
}

/// The number of trailing labels of `host` that form its public suffix: 2 for a country's
/// second level (co.uk), else 1; 0 when the last label is not letters.
size_t PublicSuffixLabels(std::string_view host) {
  const size_t last_dot = host.rfind('.');
  const std::string_view tld =
      last_dot == std::string_view::npos ? host : host.substr(last_dot + 1);
  if (!AllLetters(tld)) return 0;
  if (tld.size() != 2 || last_dot == std::string_view::npos) return 1;
  const std::string_view before = host.substr(0, last_dot);
  const size_t dot = before.rfind('.');
  const std::string_view second = dot == std::string_view::npos ? before : before.substr(dot + 1);
  return dot != std::string_view::npos && IsCountrySecondLevel(second) ? 2 : 1;
}

/// The position of the dot before the last `labels` labels of `host`; nullopt when it has no
/// more labels than that.
std::optional<size_t> DotBeforeLabels(std::string_view host, size_t labels) {
  size_t end = host.size();
  for (size_t i = 0; i < labels; ++i) {
    if (end == 0) return std::nullopt;
    end = host.rfind('.', end - 1);
    if (end == std::string_view::npos) return std::nullopt;
  }
  return end;
}

bool MatchesRule(std::string_view host, const HostRule& rule) {
  if (!EndsWith(rule.domain, ".*")) return MatchesDomain(host, rule.domain, rule.subdomains);
  const std::string_view base = rule.domain.substr(0, rule.domain.size() - 2);
  const size_t labels = PublicSuffixLabels(host);
  if (labels == 0) return false;
  const std::optional<size_t> dot = DotBeforeLabels(host, labels);
  return dot && MatchesDomain(host.substr(0, *dot), base, rule.subdomains);
}

/// The channel of a referrer host (lower case, without "www."), if it is in the tables.
std::optional<Channel> ChannelOfHost(std::string_view host) {
  if (host.empty()) return std::nullopt;
  if (host.substr(0, host.find('.')) == "webmail") return Channel::kEmail;
  const auto matches = [host](const HostRule& rule) { return MatchesRule(host, rule); };
  if (std::any_of(kEmailHosts.begin(), kEmailHosts.end(), matches)) return Channel::kEmail;
  if (std::any_of(kSearchHosts.begin(), kSearchHosts.end(), matches)) return Channel::kSearch;
  if (std::any_of(kSocialHosts.begin(), kSocialHosts.end(), matches)) return Channel::kSocial;
  return std::nullopt;
}

constexpr std::array<std::string_view, 17> kHostingSuffixes = {
    "github.io",    "gitlab.io",     "herokuapp.com",     "vercel.app",      "netlify.app",
    "pages.dev",    "workers.dev",   "web.app",           "firebaseapp.com", "appspot.com",
    "blogspot.com", "wordpress.com", "azurewebsites.net", "cloudfront.net",  "amazonaws.com",
    "onrender.com", "fly.dev"};

/// The registrable domain of `host`, approximated (ClassifyChannel documents how).
std::string_view SiteOf(std::string_view host) {
  if (host.empty() || host[0] == '[') return host;
  if (IsDigit(host.back())) return host;  // an IPv4 address or junk
  size_t labels = PublicSuffixLabels(host);
  if (labels == 0) return host;
  for (const std::string_view suffix : kHostingSuffixes) {
    if (MatchesDomain(host, suffix, true)) labels = 2;
  }
  const std::optional<size_t> dot = DotBeforeLabels(host, labels + 1);
  return dot ? host.substr(*dot + 1) : host;
}

constexpr std::array<std::string_view, 5> kEmailWords = {"email", "e-mail", "e_mail", "e mail",
                                                         "newsletter"};
constexpr std::array<std::string_view, 8> kSocialMedia = {
    "social", "social-network", "social_network", "social-media", "social_media",
    "sm",     "social network", "social media"};
constexpr std::array<std::string_view, 19> kSearchSources = {
    "google", "bing",      "yahoo",   "duckduckgo", "ddg",    "yandex", "baidu",
    "ecosia", "startpage", "qwant",   "brave",      "naver",  "seznam", "ask",
    "sogou",  "kagi",      "adwords", "googleads",  "bingads"};
constexpr std::array<std::string_view, 26> kSocialSources = {
    "facebook", "fb",       "meta",    "instagram", "ig",        "threads",  "twitter",
    "x",        "linkedin", "reddit",  "youtube",   "yt",        "tiktok",   "pinterest",
    "xing",     "mastodon", "bluesky", "bsky",      "snapchat",  "whatsapp", "telegram",
    "vk",       "quora",    "tumblr",  "discord",   "hackernews"};

std::optional<Channel> ChannelOfSource(std::string_view source) {
  const std::string s = LowerAscii(source);
  if (OneOf(s, kSearchSources)) return Channel::kSearch;
  if (OneOf(s, kSocialSources)) return Channel::kSocial;
  if (s.find('.') == std::string::npos) return std::nullopt;
  const std::optional<ParsedUrl> url = ParseUrl(s);
  return ChannelOfHost(WithoutWww(url && !url->host.empty() ? std::string_view(url->host) : s));
}

}  // namespace

std::optional<ParsedUrl> ParseUrl(std::string_view text) {
  if (text.size() > kMaxUrlBytes) return std::nullopt;
  text = TrimUrl(text);
  if (text.empty() || std::any_of(text.begin(), text.end(), IsControl)) return std::nullopt;
  Split split;
  if (!SplitUrl(text, &split)) return std::nullopt;
  ParsedUrl url;
  url.scheme = LowerAscii(split.scheme);
  if (split.has_authority) {
    if (!ParseHostPort(split.host_port, &url)) return std::nullopt;
    if (url.host.empty() && url.scheme != "file") return std::nullopt;
    if (split.path.empty()) url.path = "/";
  }
  if (OneOf(url.scheme, kSchemesWithHost) && url.host.empty()) return std::nullopt;
  if (url.path.empty()) url.path = split.path;
  url.query = split.query;
  url.fragment = split.fragment;
  return url;
}

std::string_view WithoutWww(std::string_view host) {
  if (host.size() > 4 && host.substr(0, 4) == "www." &&
      host.find('.', 4) != std::string_view::npos) {
    host.remove_prefix(4);
  }
  return host;
}

std::string ReferrerHost(std::string_view referrer_url) {
  const std::optional<ParsedUrl> url = ParseUrl(referrer_url);
  if (!url) return {};
  return std::string(WithoutWww(url->host));
}

bool ScrubQuery(std::string_view query, std::string* out) {
  std::string result;
  Scratch scratch;
  std::string replacement;
  bool changed = false;
  size_t pos = !query.empty() && query[0] == '?' ? 1 : 0;
  while (pos <= query.size()) {
    const size_t amp = std::min(query.find('&', pos), query.size());
    const std::string_view param = query.substr(pos, amp - pos);
    if (ScrubParam(param, &scratch, &replacement)) {
      if (!changed) {
        result.reserve(query.size() + 16);
        result.append(query.substr(0, pos));
        changed = true;
      }
      result.append(replacement);
    } else if (changed) {
      result.append(param);
    }
    if (changed && amp < query.size()) result.push_back('&');
    pos = amp + 1;
  }
  if (!changed) return false;
  *out = std::move(result);
  return true;
}

bool ScrubUrl(std::string_view url, std::string* out) {
  const std::string_view core = TrimUrl(url);
  Split split;
  if (!SplitUrl(core, &split)) return PiiScrubber::ScrubString(url, out);
  std::string path, query, fragment;
  const bool path_changed = ScrubPath(split.path, &path);
  const bool query_changed = split.has_query && ScrubQuery(split.query, &query);
  const bool fragment_changed = split.has_fragment && ScrubFragment(split.fragment, &fragment);
  if (!split.has_userinfo && !path_changed && !query_changed && !fragment_changed) return false;
  const size_t lead = static_cast<size_t>(core.data() - url.data());
  std::string result;
  result.reserve(url.size() + 16);
  result.append(url.substr(0, lead));
  if (!split.scheme.empty()) {
    result.append(split.scheme);
    result.push_back(':');
  }
  if (split.has_authority) {
    result.append("//");
    result.append(split.host_port);
  }
  result.append(path_changed ? std::string_view(path) : split.path);
  if (split.has_query) {
    result.push_back('?');
    result.append(query_changed ? std::string_view(query) : split.query);
  }
  if (split.has_fragment) {
    result.push_back('#');
    result.append(fragment_changed ? std::string_view(fragment) : split.fragment);
  }
  result.append(url.substr(lead + core.size()));
  *out = std::move(result);
  return true;
}

bool Utm::Tagged() const {
  return !source.empty() || !medium.empty() || !campaign.empty() || !term.empty() ||
         !content.empty() || !click_id.empty();
}

Utm ExtractUtm(std::string_view query) {
  Utm utm;
  std::string name_buffer;
  ForEachParam(query, [&](std::string_view raw_name, std::string_view raw_value) {
    if (raw_name.size() > 32) return;
    const std::string name = LowerAscii(Decode(raw_name, true, &name_buffer));
    if (utm.click_id.empty()) {
      for (const ClickId& id : kClickIds) {
        if (name == id.name) utm.click_id = std::string(id.name);
      }
    }
    std::string* field = nullptr;
    if (name == "utm_source") field = &utm.source;
    if (name == "utm_medium") field = &utm.medium;
    if (name == "utm_campaign") field = &utm.campaign;
    if (name == "utm_term") field = &utm.term;
    if (name == "utm_content") field = &utm.content;
    if (field != nullptr && field->empty()) *field = CleanUtmValue(raw_value);
  });
  return utm;
}

bool IsPaidTraffic(const Utm& utm) {
  const std::string medium = LowerAscii(utm.medium);
  if (medium.find("cp") != std::string::npos || medium == "ppc" || medium == "retargeting" ||
      medium.rfind("paid", 0) == 0) {
    return true;
  }
  return !utm.click_id.empty() && utm.click_id != "fbclid";
}

std::string_view ChannelName(Channel channel) {
  switch (channel) {
    case Channel::kDirect:
      return "direct";
    case Channel::kSearch:
      return "search";
    case Channel::kSocial:
      return "social";
    case Channel::kEmail:
      return "email";
    case Channel::kReferral:
      return "referral";
  }
  return "direct";
}

std::optional<Channel> ChannelOfCampaign(const Utm& utm) {
  const std::string source = LowerAscii(utm.source);
  const std::string medium = LowerAscii(utm.medium);
  if (OneOf(medium, kEmailWords) || OneOf(source, kEmailWords) || source == "mailchimp") {
    return Channel::kEmail;
  }
  if (!source.empty()) {
    if (const std::optional<Channel> channel = ChannelOfSource(source)) return *channel;
  }
  if (OneOf(medium, kSocialMedia)) return Channel::kSocial;
  if (medium == "organic") return Channel::kSearch;
  for (const ClickId& id : kClickIds) {
    if (utm.click_id == id.name) return id.channel;
  }
  return std::nullopt;
}

ReferrerChannelFacts ReferrerChannelFactsOf(std::string_view referrer_url) {
  ReferrerChannelFacts facts;
  const std::optional<ParsedUrl> referrer = ParseUrl(referrer_url);
  if (!referrer || referrer->host.empty()) return facts;
  const std::string_view host = WithoutWww(referrer->host);
  facts.has_host = true;
  facts.site = std::string(SiteOf(host));
  facts.channel = ChannelOfHost(host).value_or(Channel::kReferral);
  return facts;
}

std::string PageSiteOf(std::string_view page_url) {
  const std::optional<ParsedUrl> page = ParseUrl(page_url);
  return page && !page->host.empty() ? std::string(SiteOf(page->host)) : std::string();
}

Channel CombineChannel(std::optional<Channel> campaign, const ReferrerChannelFacts& referrer,
                       std::string_view page_site, bool tagged) {
  if (campaign) return *campaign;
  const bool same_site = !page_site.empty() && referrer.site == page_site;
  if (referrer.has_host && !same_site) return referrer.channel;
  return tagged ? Channel::kReferral : Channel::kDirect;
}

Channel ClassifyChannel(std::string_view referrer_url, std::string_view page_url, const Utm& utm) {
  return CombineChannel(ChannelOfCampaign(utm), ReferrerChannelFactsOf(referrer_url),
                        PageSiteOf(page_url), utm.Tagged());
}

}  // namespace ca::ingest
