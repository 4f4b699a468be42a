#include "batch/cron.h"

#include <algorithm>
#include <array>
#include <bit>
#include <vector>

#include "base/time_zone.h"

namespace ca::batch {
namespace {

using Seconds = cctz::time_point<cctz::seconds>;

// Years 1..9999 (in and out): far from cctz's limits and from int64 overflow in milliseconds.
constexpr int64_t kMinMillis = -62'135'596'800'000;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxMillis = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
constexpr size_t kMaxTokenInMessage = 32;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

/// One of the five fields: its name in messages, its range and its names (if any), indexed from
/// `lo`.
struct FieldSpec {
  const char* name;
  int lo;
  int hi;
  const char* const* names;
  int name_count;
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, kMonthNames, 12},
    {"day-of-week", 0, 7, kDayNames, 7},
}};

struct Macro {
  const char* name;
  const char* expansion;
};
constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

/// `token` for an error message: quoted, at most kMaxTokenInMessage bytes, non-printable bytes
/// as '?'.
std::string Quote(std::string_view token) {
  std::string out = "'";
  for (size_t i = 0; i < token.size() && i < kMaxTokenInMessage; ++i) {
    const auto b = static_cast<unsigned char>(token[i]);
    out.push_back(b >= 0x20 && b < 0x7f ? token[i] : '?');
  }
  if (token.size() > kMaxTokenInMessage) out += "...";
  return out + "'";
}

Status FieldError(const FieldSpec& spec, std::string_view what) {
  return InvalidArgument("cron field '" + std::string(spec.name) + "': " + std::string(what));
}

std::string RangeText(int lo, int hi) { return std::to_string(lo) + "-" + std::to_string(hi); }

/// A decimal number; values above 10^9 saturate there (out of every range anyway).
std::optional<int64_t> ParseDigits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = std::min<int64_t>(v * 10 + (c - '0'), 1'000'000'000);
  }
  return v;
}

/// A number or (where the field has them) a name, checked against the field's range.
Result<int> ParseValue(const FieldSpec& spec, std::string_view token) {
  if (std::optional<int64_t> v = ParseDigits(token)) {
    if (*v < spec.lo || *v > spec.hi) {
      return FieldError(spec, (*v < 1'000'000'000 ? std::to_string(*v) : Quote(token)) +
                                  " is out of range " + RangeText(spec.lo, spec.hi));
    }
    return static_cast<int>(*v);
  }
  for (int i = 0; i < spec.name_count; ++i) {
    if (EqualsIgnoreCase(token, spec.names[i])) return spec.lo == 0 ? i : i + 1;
  }
  if (spec.name_count > 0) return FieldError(spec, Quote(token) + " is not a number or a name");
  return FieldError(spec, Quote(token) + " is not a number");
}

Result<int> ParseStep(const FieldSpec& spec, std::string_view token) {
  const int max_step = spec.hi - spec.lo + 1;
  const std::optional<int64_t> step = ParseDigits(token);
  if (!step) return FieldError(spec, "step " + Quote(token) + " is not a number");
  if (*step < 1 || *step > max_step) {
    return FieldError(spec,
                      "step " + Quote(token) + " is out of range 1-" + std::to_string(max_step));
  }
  return static_cast<int>(*step);
}

/// A parsed field: the set of values, whether it starts with '*', and its normalised text.
struct Field {
  uint64_t bits = 0;
  bool star = false;
  std::string text;
};

uint64_t RangeBits(int lo, int hi, int step) {
  uint64_t bits = 0;
  for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
  return bits;
}

/// Comma-separated runs of consecutive values: "1-5", "0,6", "1,4,7,10".
std::string RenderBits(uint64_t bits, int lo, int hi) {
  std::string out;
  for (int v = lo; v <= hi; ++v) {
    if (!((bits >> v) & 1)) continue;
    int end = v;
    while (end + 1 <= hi && ((bits >> (end + 1)) & 1)) ++end;
    if (!out.empty()) out += ',';
    out += std::to_string(v);
    if (end > v) out += "-" + std::to_string(end);
    v = end;
  }
  return out;
}

Result<Field> ParseField(const FieldSpec& spec, std::string_view text) {
  Field field;
  const bool weekdays = spec.hi == 7;
  if (text.starts_with('*')) {
    field.star = true;
    int step = 1;
    if (text.size() > 1) {
      if (text[1] != '/') {
        return FieldError(spec, Quote(text) + ": '*' stands alone or as '*/step'");
      }
      CA_ASSIGN_OR_RETURN(step, ParseStep(spec, text.substr(2)));
    }
    field.bits = RangeBits(spec.lo, spec.hi, step);
    field.text = step == 1 ? "*" : "*/" + std::to_string(step);
  } else {
    size_t pos = 0;
    while (true) {
      const size_t comma = text.find(',', pos);
      const std::string_view element =
          text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
      if (element.empty()) return FieldError(spec, "empty list element in " + Quote(text));
      if (element.find('*') != std::string_view::npos) {
        return FieldError(spec, Quote(element) + ": '*' cannot be part of a list");
      }
      const size_t slash = element.find('/');
      const std::string_view range = element.substr(0, slash);
      const size_t dash = range.find('-');
      CA_ASSIGN_OR_RETURN(const int lo, ParseValue(spec, range.substr(0, dash)));
      int hi = lo;
      if (dash != std::string_view::npos) {
        CA_ASSIGN_OR_RETURN(hi, ParseValue(spec, range.substr(dash + 1)));
        if (hi < lo) {
          return FieldError(spec, "range " + Quote(range) + " is reversed (" + std::to_string(lo) +
                                      " > " + std::to_string(hi) + ")");
        }
      }
      int step = 1;
      if (slash != std::string_view::npos) {
        if (dash == std::string_view::npos) {
          return FieldError(spec, Quote(element) + ": a step needs a range ('a-b/n' or '*/n')");
        }
        CA_ASSIGN_OR_RETURN(step, ParseStep(spec, element.substr(slash + 1)));
      }
      field.bits |= RangeBits(lo, hi, step);
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  if (weekdays && ((field.bits >> 7) & 1)) field.bits = (field.bits & ~(uint64_t{1} << 7)) | 1;
  if (!field.star) field.text = RenderBits(field.bits, spec.lo, weekdays ? 6 : spec.hi);
  return field;
}

/// The next value >= `from` whose bit is set in `bits`, or -1.
int NextBit(uint64_t bits, int from) {
  if (from >= 64) return -1;
  const uint64_t rest = bits >> from;
  return rest == 0 ? -1 : from + std::countr_zero(rest);
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expression, std::string_view time_zone) {
  CronSchedule schedule;
  schedule.zone_name_ = time_zone.empty() ? "UTC" : std::string(time_zone);
  if (!LoadTimeZone(schedule.zone_name_, &schedule.zone_)) {
    return InvalidArgument("unknown time zone " + Quote(schedule.zone_name_));
  }

  while (!expression.empty() && IsSpace(expression.front())) expression.remove_prefix(1);
  while (!expression.empty() && IsSpace(expression.back())) expression.remove_suffix(1);
  if (expression.starts_with('@')) {
    const Macro* found = nullptr;
    for (const Macro& macro : kMacros) {
      if (EqualsIgnoreCase(expression, macro.name)) found = &macro;
    }
    if (found == nullptr) {
      return InvalidArgument("unknown cron macro " + Quote(expression) +
                             " (@yearly, @annually, @monthly, @weekly, @daily, @midnight, "
                             "@hourly)");
    }
    expression = found->expansion;
  }

  std::vector<std::string_view> tokens;
  for (size_t pos = 0; pos < expression.size();) {
    if (IsSpace(expression[pos])) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < expression.size() && !IsSpace(expression[end])) ++end;
    if (tokens.size() == kFields.size()) {
      return InvalidArgument(
          "a cron expression has 5 fields (minute hour day-of-month month day-of-week); "
          "unexpected " +
          Quote(expression.substr(pos)));
    }
    tokens.push_back(expression.substr(pos, end - pos));
    pos = end;
  }
  if (tokens.size() != kFields.size()) {
    return InvalidArgument(
        "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got " +
        std::to_string(tokens.size()));
  }

  std::array<Field, 5> fields;
  for (size_t i = 0; i < kFields.size(); ++i) {
    CA_ASSIGN_OR_RETURN(fields[i], ParseField(kFields[i], tokens[i]));
    if (i > 0) schedule.expression_ += ' ';
    schedule.expression_ += fields[i].text;
  }
  schedule.minutes_ = fields[0].bits;
  schedule.hours_ = static_cast<uint32_t>(fields[1].bits);
  schedule.days_ = static_cast<uint32_t>(fields[2].bits);
  schedule.months_ = static_cast<uint16_t>(fields[3].bits);
  schedule.weekdays_ = static_cast<uint8_t>(fields[4].bits);
  schedule.days_star_ = fields[2].star;
  schedule.weekdays_star_ = fields[4].star;
  return schedule;
}

bool CronSchedule::DayMatches(const cctz::civil_day& day) const {
  const bool dom = (days_ >> day.day()) & 1;
  // cctz counts weekdays from Monday = 0; cron from Sunday = 0.
  const int weekday = (static_cast<int>(cctz::get_weekday(day)) + 1) % 7;
  const bool dow = (weekdays_ >> weekday) & 1;
  return (days_star_ || weekdays_star_) ? (dom && dow) : (dom || dow);
}

std::optional<int64_t> CronSchedule::NextAfter(int64_t after_ms) const {
  if (after_ms < kMinMillis || after_ms > kMaxMillis) return std::nullopt;
  const Seconds after(cctz::seconds(FloorDiv(after_ms, 1000)));
  const cctz::civil_minute start = cctz::civil_minute(cctz::convert(after, zone_)) + 1;
  const cctz::civil_minute limit =
      start.year() + kSearchYears >= 10'000
          ? cctz::civil_minute(10'000)
          : cctz::civil_minute(start.year() + kSearchYears, start.month(), start.day(),
                               start.hour(), start.minute());
  // Walks local minutes in order, skipping whole months, days and hours that cannot match. The
  // local-to-absolute mapping used (first occurrence of a repeated time, end of the gap for a
  // skipped one) never decreases, so the first candidate after `after_ms` is the answer.
  cctz::civil_minute m = start;
  while (m < limit) {
    if (!((months_ >> m.month()) & 1)) {
      m = cctz::civil_minute(cctz::civil_month(m) + 1);
      continue;
    }
    if (!DayMatches(cctz::civil_day(m))) {
      m = cctz::civil_minute(cctz::civil_day(m) + 1);
      continue;
    }
    const int hour = NextBit(hours_, m.hour());
    if (hour < 0) {
      m = cctz::civil_minute(cctz::civil_day(m) + 1);
      continue;
    }
    if (hour != m.hour()) {
      m = cctz::civil_minute(m.year(), m.month(), m.day(), hour, 0);
      continue;
    }
    const int minute = NextBit(minutes_, m.minute());
    if (minute < 0) {
      m = cctz::civil_minute(cctz::civil_hour(m) + 1);
      continue;
    }
    m = cctz::civil_minute(m.year(), m.month(), m.day(), m.hour(), minute);
    const cctz::time_zone::civil_lookup cl = zone_.lookup(cctz::civil_second(m));
    const Seconds at = cl.kind == cctz::time_zone::civil_lookup::SKIPPED ? cl.trans : cl.pre;
    const int64_t at_ms = static_cast<int64_t>(at.time_since_epoch().count()) * 1000;
    if (at_ms > after_ms) return at_ms;
    m += 1;  // The first occurrence of a repeated local time that has already passed.
  }
  return std::nullopt;
}

std::string CronSchedule::ToString() const { return expression_ + " (" + zone_name_ + ")"; }

}  // namespace ca::batch
