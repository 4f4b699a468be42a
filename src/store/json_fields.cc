#include "store/json_fields.h"

#include <charconv>
#include <cstdint>
#include <cstdlib>

#include "base/utf8.h"

namespace ca::store {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // Skips a string starting at pos_ ('"'); returns its raw text including the quotes.
  bool SkipString(std::string_view* raw) {
    size_t start = pos_;
    if (pos_ >= s_.size() || s_[pos_] != '"') return false;
    for (++pos_; pos_ < s_.size(); ++pos_) {
      if (s_[pos_] == '\\') {
        ++pos_;
      } else if (s_[pos_] == '"') {
        ++pos_;
        *raw = s_.substr(start, pos_ - start);
        return true;
      }
    }
    return false;
  }
  // Skips any value; returns its raw text.
  bool SkipValue(std::string_view* raw) {
    SkipSpace();
    if (pos_ >= s_.size()) return false;
    size_t start = pos_;
    char c = s_[pos_];
    if (c == '"') return SkipString(raw);
    if (c == '{' || c == '[') {
      int depth = 0;
      while (pos_ < s_.size()) {
        char d = s_[pos_];
        if (d == '"') {
          std::string_view ignored;
          if (!SkipString(&ignored)) return false;
          continue;
        }
        if (d == '{' || d == '[') ++depth;
        if (d == '}' || d == ']') {
          if (--depth == 0) {
            ++pos_;
            *raw = s_.substr(start, pos_ - start);
            return true;
          }
        }
        ++pos_;
      }
      return false;
    }
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' && s_[pos_] != ']' &&
           s_[pos_] != ' ') {
      ++pos_;
    }
    *raw = s_.substr(start, pos_ - start);
    return !raw->empty();
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

bool KeyEquals(std::string_view raw_key, std::string_view key) {
  std::string_view inner = raw_key.substr(1, raw_key.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return inner == key;
  auto decoded = AsString(raw_key);
  return decoded && *decoded == key;
}

bool Hex4(std::string_view s, size_t i, uint32_t* v) {
  if (i + 4 > s.size()) return false;
  auto r = std::from_chars(s.data() + i, s.data() + i + 4, *v, 16);
  return r.ec == std::errc() && r.ptr == s.data() + i + 4;
}

}  // namespace

bool FindMembers(std::string_view json, std::span<const std::string_view> keys,
                 std::span<std::optional<std::string_view>> found) {
  for (auto& f : found) f.reset();
  Scanner sc(json);
  if (!sc.Consume('{')) return false;
  if (sc.Consume('}')) return true;
  while (true) {
    sc.SkipSpace();
    std::string_view raw_key, raw_value;
    if (!sc.SkipString(&raw_key) || !sc.Consume(':') || !sc.SkipValue(&raw_value)) break;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!found[i] && KeyEquals(raw_key, keys[i])) found[i] = raw_value;
    }
    if (sc.Consume(',')) continue;
    if (sc.Consume('}')) return true;
    break;
  }
  for (auto& f : found) f.reset();
  return false;
}

std::optional<std::string_view> FindMember(std::string_view json, std::string_view key) {
  std::optional<std::string_view> found;
  FindMembers(json, std::span<const std::string_view>(&key, 1), std::span(&found, 1));
  return found;
}

std::optional<std::string> AsString(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return std::nullopt;
  std::string_view s = raw.substr(1, raw.size() - 2);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= s.size()) return std::nullopt;
    switch (s[i]) {
      case '"':
      case '\\':
      case '/':
        out.push_back(s[i]);
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        uint32_t cp = 0;
        if (!Hex4(s, i + 1, &cp)) return std::nullopt;
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < s.size() && s[i + 1] == '\\' &&
            s[i + 2] == 'u') {
          uint32_t lo = 0;
          if (Hex4(s, i + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        AppendUtf8(cp, &out);
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

std::optional<double> AsNumber(std::string_view raw) {
  if (raw.empty() || !(raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))) return std::nullopt;
  double v = 0;
  auto r = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (r.ec != std::errc() || r.ptr != raw.data() + raw.size()) return std::nullopt;
  return v;
}

}  // namespace ca::store
