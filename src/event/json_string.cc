#include "event/json_string.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace ca::event {
namespace {

// Escaped length added by each byte when written as a JSON string (0 = copied as is); mirrors
// simdjson's minifier: \" \\ \b \t \n \f \r are 2 bytes, other control characters \u00XX.
constexpr auto kEscapeExtra = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 5;
  for (int c : {'\b', '\t', '\n', '\f', '\r', '"', '\\'}) t[c] = 1;
  return t;
}();

// Index of the first byte of `s` that JSON needs escaped (s.size() if none). Checks 8 bytes per
// step: most strings need no escaping at all.
size_t FirstToEscape(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    uint64_t quote = x ^ (kOnes * '"');
    uint64_t backslash = x ^ (kOnes * '\\');
    uint64_t hits =
        ((x - kOnes * 0x20) & ~x) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash);
    if (hits & kHigh) break;
  }
  for (; i < s.size(); ++i) {
    if (kEscapeExtra[static_cast<unsigned char>(s[i])] != 0) return i;
  }
  return s.size();
}

}  // namespace

void AppendJsonMember(std::string_view key, std::string_view value, std::string* out) {
  AppendJsonString(key, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

size_t JsonStringSize(std::string_view s) {
  size_t n = s.size() + 2;
  for (size_t i = FirstToEscape(s); i < s.size(); ++i) {
    n += kEscapeExtra[static_cast<unsigned char>(s[i])];
  }
  return n;
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (;;) {
    size_t i = FirstToEscape(s);
    out->append(s.data(), i);
    if (i == s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
    s.remove_prefix(i + 1);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\r':
        out->append("\\r");
        break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(esc, 6);
      }
    }
  }
  out->push_back('"');
}

}  // namespace ca::event
