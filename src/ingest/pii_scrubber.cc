#include "ingest/pii_scrubber.h"

#include <arpa/inet.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>
#include <utility>

#include "event/json_string.h"
#include "ingest/pii_survey.h"

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

/// What Scrub needs to know about a minified JSON object before rewriting it.
struct Survey {
  /// A value that may hold an e-mail address, a card or a phone number, or an escape sequence
  /// (StringSurvey), or a key that is sensitive or escaped.
  bool may_have_pii = false;
  /// The text between the quotes of the top-level "ip" string value; npos when there is none.
  size_t ip_begin = std::string_view::npos, ip_end = std::string_view::npos;
};

/// Surveys `json` in one pass over its bytes, without allocating. nullopt when a string is not
/// closed. With `check_pii` false only the IP is looked for.
std::optional<Survey> SurveyObject(std::string_view json, bool check_pii) {
  Survey survey;
  int depth = 0;
  const char* const start = json.data();
  const char* const end = start + json.size();
  const char* p = start;
  const char* ip_value_quote = nullptr;  // where the top-level "ip" key's string value starts
  while (p < end) {
    if (*p != '"') {  // structure, numbers and literals
      if (*p == '{' || *p == '[') ++depth;
      if (*p == '}' || *p == ']') --depth;
      ++p;
      continue;
    }
    const bool is_ip_value = p == ip_value_quote;
    const char* const begin = ++p;
    const StringSurvey string = SurveyString(begin, end);
    if (string.close == nullptr) return std::nullopt;
    const std::string_view text(begin, string.close - begin);
    p = string.close + 1;
    if (p < end && *p == ':') {  // a key
      if (check_pii && (string.escaped || PiiScrubber::IsSensitiveKey(text))) {
        survey.may_have_pii = true;
      }
      if (depth == 1 && text == "ip") ip_value_quote = p + 1;
    } else {
      if (is_ip_value) {
        survey.ip_begin = begin - start;
        survey.ip_end = string.close - start;
      }
      if (check_pii && (string.may_have_pii || string.escaped)) survey.may_have_pii = true;
    }
    // The Rewriter will go through everything (the IP too): nothing more to learn.
    if (survey.may_have_pii) return survey;
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
  ip = ip.substr(0, ip.find('\0'));  // what inet_pton would read
  char text[INET6_ADDRSTRLEN];
  if (ip.size() >= sizeof text) return std::nullopt;
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';
  char buf[INET6_ADDRSTRLEN];
  in_addr v4;
  if (inet_pton(AF_INET, text, &v4) == 1) {
    // inet_pton takes only the canonical dotted quad (no leading zeros): its last part becomes 0.
    const size_t dot = ip.rfind('.');
    if (dot != std::string_view::npos) return std::string(ip.substr(0, dot + 1)) + "0";
    reinterpret_cast<unsigned char*>(&v4.s_addr)[3] = 0;
    return std::string(inet_ntop(AF_INET, &v4, buf, sizeof(buf)));
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text, &v6) == 1) {
    std::fill(v6.s6_addr + 6, v6.s6_addr + 16, 0);
    return std::string(inet_ntop(AF_INET6, &v6, buf, sizeof(buf)));
  }
  return std::nullopt;
}

bool PiiScrubber::IsSensitiveKey(std::string_view key) {
  // Each sensitive word has an 's', a 'k' or a 'z' (password, passwd, secret, ssn; token,
  // apikey; authorization): most keys ("ip", "page", "url") have none and end here.
  bool candidate = false;
  for (char c : key) {
    c |= 0x20;  // ASCII lower case
    candidate |= c == 's' || c == 'k' || c == 'z';
  }
  if (!candidate) return false;
  // Lower case without '_' and '-', on the stack for the usual short keys; then one pass that
  // tries only the words starting with each letter.
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
  auto at = [&](size_t i, std::string_view word) { return folded.substr(i, word.size()) == word; };
  for (size_t i = 0; i + 3 <= n; ++i) {
    switch (folded[i]) {
      case 'p':
        if (at(i, "password") || at(i, "passwd")) return true;
        break;
      case 's':
        if (at(i, "secret") || at(i, "ssn")) return true;
        break;
      case 't':
        if (at(i, "token")) return true;
        break;
      case 'a':
        if (at(i, "apikey") || at(i, "authorization")) return true;
        break;
      default:
        break;
    }
  }
  return false;
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

PiiScrubber::Decision PiiScrubber::Decide(std::string_view json, size_t clean_tail) const {
  Decision d;
  if ((!options_.scrub && !options_.truncate_ip) || json.empty() || json[0] != '{') return d;
  // A clean tail is whole members after a comma: what comes before it is still well formed.
  if (clean_tail >= json.size() - 1) clean_tail = 0;
  const std::optional<Survey> survey =
      SurveyObject(json.substr(0, json.size() - 1 - clean_tail), options_.scrub);
  if (!survey) return d;  // not the JSON this expects: left alone, as the Rewriter would
  const bool scrub = options_.scrub && survey->may_have_pii;
  const bool ip = options_.truncate_ip && survey->ip_begin != std::string_view::npos;
  if (!scrub && !ip) return d;
  const std::string_view ip_text =
      ip ? json.substr(survey->ip_begin, survey->ip_end - survey->ip_begin) : std::string_view();
  if (!scrub && ip_text.find('\\') == std::string_view::npos) {
    // Only the IP to truncate (the usual browser context): spliced in, nothing else rewritten.
    // An "ip" key that the allowlist names is kept whole.
    const auto& allowed = options_.allowed_keys;
    if (std::find(allowed.begin(), allowed.end(), "ip") != allowed.end()) return d;
    std::optional<std::string> truncated = TruncateIp(ip_text);
    if (!truncated || *truncated == ip_text) return d;
    d.action = Decision::kSpliceIp;
    d.ip_begin = survey->ip_begin;
    d.ip_end = survey->ip_end;
    d.truncated_ip = std::move(*truncated);
    return d;
  }
  d.action = Decision::kRewrite;
  d.scrub = scrub;
  return d;
}

bool PiiScrubber::Rewrite(std::string_view json, bool scrub, std::string* out) const {
  std::string rewritten;
  rewritten.reserve(json.size());
  Rewriter rewriter(json, options_, scrub, &rewritten);
  if (!rewriter.Run() || !rewriter.changed()) return false;
  *out = std::move(rewritten);
  return true;
}

bool PiiScrubber::Scrub(std::string_view json, std::string* out, size_t clean_tail) const {
  const Decision d = Decide(json, clean_tail);
  switch (d.action) {
    case Decision::kNothing:
      return false;
    case Decision::kSpliceIp:
      out->assign(json.substr(0, d.ip_begin));
      out->append(d.truncated_ip);
      out->append(json.substr(d.ip_end));
      return true;
    case Decision::kRewrite:
      return Rewrite(json, d.scrub, out);
  }
  return false;
}

bool PiiScrubber::ScrubInPlace(std::string* json, size_t clean_tail) const {
  const Decision d = Decide(*json, clean_tail);
  switch (d.action) {
    case Decision::kNothing:
      return false;
    case Decision::kSpliceIp:
      json->replace(d.ip_begin, d.ip_end - d.ip_begin, d.truncated_ip);
      return true;
    case Decision::kRewrite:
      return Rewrite(*json, d.scrub, json);
  }
  return false;
}

}  // namespace ca::ingest
