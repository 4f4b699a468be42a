#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ca {

/// Appends code point `cp` (at most 0x10FFFF) to `*out` as UTF-8.
inline void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// Calls `visit(cp)` for each code point of `s` while it is well-formed UTF-8 (no overlong forms,
/// surrogates or values past 0x10FFFF). False at the first malformed sequence, or as soon as
/// `visit` returns false; true at the end.
template <typename Visit>
bool ForEachCodePoint(std::string_view s, Visit visit) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = b;
    if (b >= 0x80) {
      if ((b & 0xe0) == 0xc0) {
        n = 1;
        cp = b & 0x1f;
      } else if ((b & 0xf0) == 0xe0) {
        n = 2;
        cp = b & 0x0f;
      } else if ((b & 0xf8) == 0xf0) {
        n = 3;
        cp = b & 0x07;
      } else {
        return false;
      }
      if (s.size() - i <= n) return false;
      for (size_t k = 1; k <= n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xc0) != 0x80) return false;
        cp = (cp << 6) | (c & 0x3f);
      }
      static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
      if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    }
    if (!visit(cp)) return false;
    i += n + 1;
  }
  return true;
}

/// True when `s` is well-formed UTF-8.
inline bool IsValidUtf8(std::string_view s) {
  return ForEachCodePoint(s, [](uint32_t) { return true; });
}

}  // namespace ca
