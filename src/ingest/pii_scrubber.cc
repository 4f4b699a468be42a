#include "ingest/pii_scrubber.h"

#include <arpa/inet.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <utility>

#include "event/json_string.h"

namespace ca::ingest {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsEmailLocal(char c) {
  return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool IsDomainChar(char c) { return IsAlnum(c) || c == '.' || c == '-'; }

struct Match {
  size_t begin, end;
  std::string_view marker;
};

/// The e-mail address around the '@' at `at` (starting at `floor` or later), if it is one:
/// local@domain.tld with a TLD of 2+ letters (letters or digits right after the TLD end the
/// address: "a@b.io2026" is a@b.io).
std::optional<Match> EmailAt(std::string_view s, size_t at, size_t floor) {
  size_t b = at;
  while (b > floor && IsEmailLocal(s[b - 1])) --b;
  size_t e = at + 1;
  while (e < s.size() && IsDomainChar(s[e])) ++e;
  if (b == at) return std::nullopt;
  // The last dot of the domain that is followed by 2+ letters ends it after those letters.
  for (size_t dot = e; dot-- > at + 2;) {
    if (s[dot] != '.' || s[dot - 1] == '.' || s[dot - 1] == '@') continue;
    size_t letters = dot + 1;
    while (letters < e && std::isalpha(static_cast<unsigned char>(s[letters]))) ++letters;
    if (letters - dot - 1 >= 2) return Match{b, letters, kEmailMarker};
  }
  return std::nullopt;
}

bool LuhnValid(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

/// A card or phone number starting at `b` (a digit, '+' or '('), if there is one: digits with
/// single separators (' ', '-', and parentheses around a group), not touching letters or digits.
std::optional<Match> NumberAt(std::string_view s, size_t b) {
  if (b > 0 && (IsAlnum(s[b - 1]) || s[b - 1] == '+')) return std::nullopt;
  size_t i = b;
  const bool plus = s[i] == '+';
  if (plus) ++i;
  std::string digits;
  bool separated = false, parenthesis = false, only_space_dash = true;
  size_t end = i;
  while (i < s.size()) {
    const char c = s[i];
    if (IsDigit(c)) {
      // Longer than any card or phone: no match, and stopping here keeps a scan of a long run of
      // digits linear (each start reads at most this far).
      if (digits.size() == 19) return std::nullopt;
      digits.push_back(c);
      end = ++i;
      continue;
    }
    const bool sep = c == ' ' || c == '-' || c == '(' || c == ')';
    if (!sep) break;
    // One separator between digit groups; "(030) 123" has ") " and " (" as one.
    size_t j = i + 1;
    if ((c == ')' && j < s.size() && s[j] == ' ') || (c == ' ' && j < s.size() && s[j] == '(')) {
      ++j;
    }
    if (j >= s.size() || !IsDigit(s[j])) break;
    if (c == '(' || c == ')' || s[j - 1] == '(') {
      parenthesis = true;
      only_space_dash = false;
    }
    separated = true;
    i = j;
  }
  if (end < s.size() && IsAlnum(s[end])) return std::nullopt;
  const size_t n = digits.size();
  // Cards: 13..19 digits grouped by spaces or dashes, or 15..19 in one run; Luhn.
  if (!plus && only_space_dash && n <= 19 && (separated ? n >= 13 : n >= 15) && LuhnValid(digits)) {
    return Match{b, end, kCardMarker};
  }
  // Phones: 7..15 digits with a leading '+' or parentheses, or 9..15 with separators.
  if (n >= 7 && n <= 15 && (plus || parenthesis || (separated && n >= 9))) {
    size_t begin = b;
    if (begin > 0 && s[begin - 1] == '(') --begin;
    return Match{begin, end, kPhoneMarker};
  }
  return std::nullopt;
}

/// Where a string token of minified JSON ends: the index of its closing quote, given the index
/// just past its opening one; npos when it is not closed.
size_t StringEnd(std::string_view json, size_t from) {
  for (size_t q = json.find('"', from); q != std::string_view::npos; q = json.find('"', q + 1)) {
    size_t backslashes = 0;
    while (q - backslashes > from && json[q - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return q;
  }
  return std::string_view::npos;
}

/// Whether a string value may hold an e-mail address, a card or a phone number (a looser rule
/// than EmailAt's and NumberAt's): an '@'; or 7 digits with nothing but separators between them
/// and a separator, '+' or '(' among them; or 15 digits in one run. A bare run of fewer digits
/// is an id or a version ("Gecko/20100101"), never a number to scrub.
bool MayHoldPii(std::string_view text) {
  int run = 0;
  bool decorated = false;
  for (char c : text) {
    if (IsDigit(c)) {
      ++run;
      if (run >= 15 || (run >= 7 && decorated)) return true;
    } else if (c == ' ' || c == '-' || c == '(' || c == ')' || c == '+') {
      if (run > 0 || c == '+' || c == '(') decorated = true;
    } else if (c == '@') {
      return true;
    } else {
      run = 0;
      decorated = false;
    }
  }
  return false;
}

/// What Scrub needs to know about a minified JSON object before rewriting it, found in one pass
/// over its string tokens without allocating.
struct Survey {
  bool may_have_pii = false;  ///< a value MayHoldPii, or a key that may be sensitive
  bool escaped_key = false;   ///< a key with an escape sequence (judged by the Rewriter)
  /// The text between the quotes of the top-level "ip" string value; npos when there is none.
  size_t ip_begin = std::string_view::npos, ip_end = std::string_view::npos;
};

std::optional<Survey> SurveyObject(std::string_view json) {
  Survey survey;
  int depth = 0;
  size_t pos = 0;
  while (true) {
    const size_t open = json.find('"', pos);
    // Between strings: only structure, numbers and literals; track the depth.
    for (size_t i = pos; i < std::min(open, json.size()); ++i) {
      const char c = json[i];
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
    }
    if (open == std::string_view::npos) break;
    const size_t close = StringEnd(json, open + 1);
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view text = json.substr(open + 1, close - open - 1);
    pos = close + 1;
    if (pos < json.size() && json[pos] == ':') {  // a key
      if (text.find('\\') != std::string_view::npos) {
        survey.escaped_key = true;
      } else if (PiiScrubber::IsSensitiveKey(text)) {
        survey.may_have_pii = true;
      }
      if (depth == 1 && text == "ip" && pos + 1 < json.size() && json[pos + 1] == '"') {
        const size_t end = StringEnd(json, pos + 2);
        if (end == std::string_view::npos) return std::nullopt;
        survey.ip_begin = pos + 2;
        survey.ip_end = end;
        if (MayHoldPii(json.substr(pos + 2, end - pos - 2))) survey.may_have_pii = true;
        pos = end + 1;
      }
    } else if (MayHoldPii(text)) {
      survey.may_have_pii = true;
    }
  }
  return survey;
}

/// Walks a minified JSON object token by token, copying it and rewriting string values and the
/// values of sensitive keys.
class Rewriter {
 public:
  /// `scrub`: replace PII (else only the IP is truncated, when the options say so).
  Rewriter(std::string_view in, const PiiScrubber::Options& options, bool scrub, std::string* out)
      : in_(in), options_(options), scrub_(scrub), out_(out) {}

  /// False on text that is not the JSON this expects (then nothing is scrubbed).
  bool Run() {
    if (in_.empty() || in_[0] != '{') return false;
    return Value() && pos_ == in_.size();
  }
  bool changed() const { return changed_; }

 private:
  bool Value() {
    if (pos_ >= in_.size()) return false;
    switch (in_[pos_]) {
      case '{':
        return Object();
      case '[':
        return Array();
      case '"': {
        std::string_view raw;
        std::string text;
        if (!String(&raw, &text)) return false;
        std::string scrubbed;
        if (scrub_ && PiiScrubber::ScrubString(text, &scrubbed)) {
          event::AppendJsonString(scrubbed, out_);
          changed_ = true;
        } else {
          out_->append(raw);
        }
        return true;
      }
      default: {  // number, true, false, null: copied
        const size_t b = pos_;
        while (pos_ < in_.size() && in_[pos_] != ',' && in_[pos_] != '}' && in_[pos_] != ']') {
          ++pos_;
        }
        out_->append(in_.substr(b, pos_ - b));
        return pos_ > b;
      }
    }
  }

  bool Object() {
    out_->push_back('{');
    ++pos_;
    ++depth_;
    if (Peek('}')) return Close('}');
    while (true) {
      std::string_view raw;
      std::string key;
      if (!Peek('"') || !String(&raw, &key) || !Peek(':')) return false;
      out_->append(raw);
      out_->push_back(':');
      ++pos_;
      const size_t b = pos_;
      const auto& allowed = options_.allowed_keys;
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) {
        if (!Skip()) return false;
        out_->append(in_.substr(b, pos_ - b));
      } else if (options_.truncate_ip && depth_ == 1 && key == "ip" && Peek('"')) {
        std::string_view raw;
        std::string ip;
        if (!String(&raw, &ip)) return false;
        const std::optional<std::string> truncated = TruncateIp(ip);
        if (truncated && *truncated != ip) {
          event::AppendJsonString(*truncated, out_);
          changed_ = true;
        } else {
          out_->append(raw);
        }
      } else if (scrub_ && PiiScrubber::IsSensitiveKey(key)) {
        if (!Skip()) return false;
        event::AppendJsonString(kRedactedMarker, out_);
        changed_ = true;
      } else if (!Value()) {
        return false;
      }
      if (Peek('}')) return Close('}');
      if (!Peek(',')) return false;
      out_->push_back(',');
      ++pos_;
    }
  }

  bool Array() {
    out_->push_back('[');
    ++pos_;
    if (Peek(']')) return Close(']');
    while (true) {
      if (!Value()) return false;
      if (Peek(']')) return Close(']');
      if (!Peek(',')) return false;
      out_->push_back(',');
      ++pos_;
    }
  }

  bool Peek(char c) const { return pos_ < in_.size() && in_[pos_] == c; }
  bool Close(char c) {
    out_->push_back(c);
    ++pos_;
    if (c == '}') --depth_;
    return true;
  }

  /// Moves past the string token at pos_ (a '"'); sets `escaped` when it holds a backslash.
  bool SkipString(bool* escaped) {
    ++pos_;
    while (pos_ < in_.size() && in_[pos_] != '"') {
      if (in_[pos_] == '\\') {
        *escaped = true;
        ++pos_;
      }
      ++pos_;
    }
    if (pos_ >= in_.size()) return false;
    ++pos_;
    return true;
  }

  /// Reads the string token at pos_: `raw` is its text with quotes, `text` its value.
  bool String(std::string_view* raw, std::string* text) {
    const size_t b = pos_;
    bool escaped = false;
    if (!SkipString(&escaped)) return false;
    *raw = in_.substr(b, pos_ - b);
    if (!escaped) {
      text->assign(raw->substr(1, raw->size() - 2));
      return true;
    }
    thread_local simdjson::dom::parser parser;
    std::string_view value;
    if (parser.parse(raw->data(), raw->size()).get_string().get(value) != simdjson::SUCCESS) {
      return false;
    }
    text->assign(value);
    return true;
  }

  /// Moves past the value at pos_: a string, an object or array (brackets balanced, strings
  /// skipped whole), or a scalar.
  bool Skip() {
    if (pos_ >= in_.size()) return false;
    bool escaped = false;
    if (in_[pos_] == '"') return SkipString(&escaped);
    if (in_[pos_] == '{' || in_[pos_] == '[') {
      int depth = 0;
      while (pos_ < in_.size()) {
        const char c = in_[pos_];
        if (c == '"') {
          if (!SkipString(&escaped)) return false;
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) {
          ++pos_;
          return true;
        }
        ++pos_;
      }
      return false;
    }
    const size_t b = pos_;
    while (pos_ < in_.size() && in_[pos_] != ',' && in_[pos_] != '}' && in_[pos_] != ']') ++pos_;
    return pos_ > b;
  }

  std::string_view in_;
  const PiiScrubber::Options& options_;
  const bool scrub_;
  std::string* out_;
  size_t pos_ = 0;
  int depth_ = 0;  // objects open around pos_
  bool changed_ = false;
};

}  // namespace

PiiScrubber::PiiScrubber() = default;
PiiScrubber::PiiScrubber(Options options) : options_(std::move(options)) {}

std::optional<std::string> TruncateIp(std::string_view ip) {
  const std::string text(ip);
  char buf[INET6_ADDRSTRLEN];
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    reinterpret_cast<unsigned char*>(&v4.s_addr)[3] = 0;
    return std::string(inet_ntop(AF_INET, &v4, buf, sizeof(buf)));
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::fill(v6.s6_addr + 6, v6.s6_addr + 16, 0);
    return std::string(inet_ntop(AF_INET6, &v6, buf, sizeof(buf)));
  }
  return std::nullopt;
}

bool PiiScrubber::IsSensitiveKey(std::string_view key) {
  // Lower case without '_' and '-', on the stack for the usual short keys.
  char small[64];
  std::string large;
  char* k = small;
  if (key.size() > sizeof small) {
    large.resize(key.size());
    k = large.data();
  }
  size_t n = 0;
  for (char c : key) {
    if (c == '_' || c == '-') continue;
    k[n++] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view folded(k, n);
  static constexpr std::string_view kWords[] = {"password", "passwd", "secret",       "token",
                                                "apikey",   "ssn",    "authorization"};
  return std::any_of(std::begin(kWords), std::end(kWords),
                     [&](std::string_view w) { return folded.find(w) != std::string_view::npos; });
}

bool PiiScrubber::ScrubString(std::string_view s, std::string* out) {
  std::vector<Match> matches;
  for (size_t at = s.find('@'); at != std::string_view::npos; at = s.find('@', at + 1)) {
    if (auto m = EmailAt(s, at, matches.empty() ? 0 : matches.back().end)) {
      matches.push_back(*m);
      at = m->end - 1;
    }
  }
  std::vector<Match> numbers;
  size_t email = 0;  // the first e-mail match not wholly before i (matches are in order)
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsDigit(s[i]) && s[i] != '+') continue;
    while (email < matches.size() && matches[email].end <= i) ++email;
    if (email < matches.size() && i >= matches[email].begin) continue;  // inside an e-mail
    if (auto m = NumberAt(s, i)) {
      numbers.push_back(*m);
      i = m->end;
    } else {
      while (i + 1 < s.size() && IsAlnum(s[i + 1])) ++i;  // the rest of this word
    }
  }
  if (matches.empty() && numbers.empty()) return false;
  matches.insert(matches.end(), numbers.begin(), numbers.end());
  std::sort(matches.begin(), matches.end(),
            [](const Match& a, const Match& b) { return a.begin < b.begin; });
  out->clear();
  size_t pos = 0;
  for (const Match& m : matches) {
    if (m.begin < pos) {
      // Overlapping matches ("+49 30 1234567.x@b.io": a phone, then an e-mail whose local part
      // starts inside it): the later one's rest is replaced too, so nothing of it is left.
      if (m.end > pos) {
        out->append(m.marker);
        pos = m.end;
      }
      continue;
    }
    out->append(s.substr(pos, m.begin - pos));
    out->append(m.marker);
    pos = m.end;
  }
  out->append(s.substr(pos));
  return true;
}

bool PiiScrubber::Scrub(std::string_view json, std::string* out) const {
  if (json.empty() || json[0] != '{') return false;
  const std::optional<Survey> survey = SurveyObject(json);
  if (!survey) return false;  // not the JSON this expects: left alone, as the Rewriter would
  const bool scrub = options_.scrub && (survey->may_have_pii || survey->escaped_key);
  const bool ip = options_.truncate_ip && survey->ip_begin != std::string_view::npos;
  if (!scrub && !ip) return false;
  const std::string_view ip_text =
      ip ? json.substr(survey->ip_begin, survey->ip_end - survey->ip_begin) : std::string_view();
  if (!scrub && ip_text.find('\\') == std::string_view::npos) {
    // Only the IP to truncate (the usual browser context): spliced in, nothing else rewritten.
    // An "ip" key that the allowlist names is kept whole.
    const auto& allowed = options_.allowed_keys;
    if (std::find(allowed.begin(), allowed.end(), "ip") != allowed.end()) return false;
    const std::optional<std::string> truncated = TruncateIp(ip_text);
    if (!truncated || *truncated == ip_text) return false;
    out->assign(json.substr(0, survey->ip_begin));
    out->append(*truncated);
    out->append(json.substr(survey->ip_end));
    return true;
  }
  std::string rewritten;
  rewritten.reserve(json.size());
  Rewriter rewriter(json, options_, scrub, &rewritten);
  if (!rewriter.Run() || !rewriter.changed()) return false;
  *out = std::move(rewritten);
  return true;
}

}  // namespace ca::ingest
