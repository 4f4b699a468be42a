#include "ingest/context_fields.h"

#include <simdjson.h>

#include <emmintrin.h>

#include <cctype>
#include <cstring>
#include <utility>

namespace ca::ingest {
namespace {

// The first '"' in [p, end), else nullptr: 16 bytes at a time, inline (strings of a context are
// mostly short, where a call to memchr costs more than the search).
const char* FindQuote(const char* p, const char* end) {
  const __m128i quote = _mm_set1_epi8('"');
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if (const int hits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, quote))) {
      return p + __builtin_ctz(static_cast<unsigned>(hits));
    }
  }
  for (; p < end; ++p) {
    if (*p == '"') return p;
  }
  return nullptr;
}

// A cursor over minified JSON without backslashes: every string ends at the next '"'.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool AtEnd() const { return p_ == end_; }
  bool Take(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  char Peek() const { return p_ == end_ ? '\0' : *p_; }

  // A string starting at the cursor ('"'); its text without the quotes.
  bool String(std::string_view* text) {
    if (!Take('"')) return false;
    const char* close = FindQuote(p_, end_);
    if (close == nullptr) return false;
    *text = std::string_view(p_, close - p_);
    p_ = close + 1;
    return true;
  }

  // Skips the value at the cursor, nested or not; its text in `*value`.
  bool Skip(std::string_view* value) {
    const char* begin = p_;
    if (p_ == end_) return false;
    if (*p_ == '"') {
      std::string_view ignored;
      if (!String(&ignored)) return false;
    } else if (*p_ == '{' || *p_ == '[') {
      int depth = 0;
      while (p_ != end_) {
        const char c = *p_;
        if (c == '"') {
          std::string_view ignored;
          if (!String(&ignored)) return false;
          continue;
        }
        ++p_;
        if (c == '{' || c == '[') {
          ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
          break;
        }
      }
      if (depth != 0) return false;
    } else {
      // A number, true, false or null.
      while (p_ != end_ && (std::isalnum(static_cast<unsigned char>(*p_)) || *p_ == '-' ||
                            *p_ == '+' || *p_ == '.')) {
        ++p_;
      }
      if (p_ == begin) return false;
    }
    *value = std::string_view(begin, p_ - begin);
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

// Calls `member(key, value)` for each member of the object `json`; false on text that is not a
// minified object.
template <typename Member>
bool ForEachMember(std::string_view json, Member member) {
  Scanner s(json);
  if (!s.Take('{')) return false;
  if (s.Take('}')) return s.AtEnd();
  do {
    std::string_view key, value;
    if (!s.String(&key) || !s.Take(':') || !s.Skip(&value)) return false;
    member(key, value);
  } while (s.Take(','));
  return s.Take('}') && s.AtEnd();
}

// The text of a JSON string value, else empty.
std::string_view StringText(std::string_view value) {
  if (value.size() < 2 || value.front() != '"') return {};
  return value.substr(1, value.size() - 2);
}

}  // namespace

bool ScanContextFields(std::string_view context_json, ContextFields* out) {
  if (std::memchr(context_json.data(), '\\', context_json.size()) != nullptr) return false;
  *out = ContextFields();
  // Of keys given twice the first counts, as in a JSON parser's lookup by key.
  enum Seen : uint32_t { kIp = 1, kUserAgent = 2, kUserAgentCamel = 4, kPage = 8 };
  uint32_t seen = 0;
  std::string_view user_agent_camel, page;
  auto once = [&seen](uint32_t bit) {
    if (seen & bit) return false;
    seen |= bit;
    return true;
  };
  using K = ContextFields;
  const bool ok = ForEachMember(context_json, [&](std::string_view key, std::string_view value) {
    switch (key.size()) {
      case 2:
        if (key == "ip" && once(kIp)) out->ip = StringText(value);
        if (key == "os") out->present |= 1u << K::kOs;
        break;
      case 4:
        if (key == "page" && once(kPage) && value.front() == '{') page = value;
        break;
      case 6:
        if (key == "region") out->present |= 1u << K::kRegion;
        if (key == "device" && !out->has(K::kDevice)) {
          out->present |= 1u << K::kDevice;
          out->device_is_object = value.front() == '{';
        }
        break;
      case 7:
        if (key == "country") out->present |= 1u << K::kCountry;
        if (key == "browser") out->present |= 1u << K::kBrowser;
        if (key == "channel") out->present |= 1u << K::kChannel;
        if (key == "session") out->present |= 1u << K::kSession;
        if (key == "profile") out->present |= 1u << K::kProfile;
        break;
      case 8:
        if (key == "campaign") out->present |= 1u << K::kCampaign;
        break;
      case 9:
        if (key == "userAgent" && once(kUserAgentCamel)) user_agent_camel = StringText(value);
        break;
      case 10:
        if (key == "user_agent" && once(kUserAgent)) out->user_agent = StringText(value);
        break;
      case 11:
        if (key == "device_type") out->present |= 1u << K::kDeviceType;
        break;
      case 13:
        if (key == "referrer_host") out->present |= 1u << K::kReferrerHost;
        break;
      default:
        break;
    }
  });
  if (!ok) return false;
  if (out->user_agent.empty()) out->user_agent = user_agent_camel;
  if (page.empty()) return true;
  uint32_t page_seen = 0;
  return ForEachMember(page, [&](std::string_view key, std::string_view value) {
    auto first = [&](uint32_t bit) {
      if (page_seen & bit) return false;
      page_seen |= bit;
      return true;
    };
    if (key == "url" && first(1)) out->page_url = StringText(value);
    if (key == "path" && first(2)) out->page_path = StringText(value);
    if (key == "referrer" && first(4)) out->referrer = StringText(value);
  });
}

bool ParseContextFields(std::string_view context_json, simdjson::dom::parser& parser,
                        ContextFields* out) {
  simdjson::dom::object context;
  if (parser.parse(context_json.data(), context_json.size()).get_object().get(context) !=
      simdjson::SUCCESS) {
    return false;
  }
  auto string_at = [](simdjson::dom::object o, std::string_view key) {
    std::string_view s;
    return o[key].get_string().get(s) == simdjson::SUCCESS ? s : std::string_view();
  };
  *out = ContextFields();
  using K = ContextFields;
  static constexpr std::pair<std::string_view, K::Key> kKeys[] = {
      {"country", K::kCountry},   {"region", K::kRegion},
      {"browser", K::kBrowser},   {"os", K::kOs},
      {"device", K::kDevice},     {"device_type", K::kDeviceType},
      {"campaign", K::kCampaign}, {"referrer_host", K::kReferrerHost},
      {"channel", K::kChannel},   {"session", K::kSession},
      {"profile", K::kProfile}};
  for (const auto& [key, bit] : kKeys) {
    if (context[key].error() == simdjson::SUCCESS) out->present |= 1u << bit;
  }
  simdjson::dom::element device;
  out->device_is_object = context["device"].get(device) == simdjson::SUCCESS && device.is_object();
  out->ip = string_at(context, "ip");
  out->user_agent = string_at(context, "user_agent");
  if (out->user_agent.empty()) out->user_agent = string_at(context, "userAgent");
  simdjson::dom::object page;
  if (context["page"].get_object().get(page) == simdjson::SUCCESS) {
    out->page_url = string_at(page, "url");
    out->page_path = string_at(page, "path");
    out->referrer = string_at(page, "referrer");
  }
  return true;
}

}  // namespace ca::ingest
