#include "event/timestamp.h"

#include <cstdio>

namespace ca::event {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

/// Reads exactly `n` digits at `pos`; false if any is not a digit or the text is too short.
bool ReadDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

Status Invalid(std::string_view what) {
  return Status(ErrorCode::kInvalidTimestamp, std::string("timestamp: ") + std::string(what));
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

Result<int64_t> ParseIso8601Millis(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!ReadDigits(s, 0, 4, &year) || s.size() < 5 || s[4] != '-' || !ReadDigits(s, 5, 2, &month) ||
      s.size() < 8 || s[7] != '-' || !ReadDigits(s, 8, 2, &day)) {
    return Invalid("expected YYYY-MM-DD");
  }
  if (s.size() < 11 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')) {
    return Invalid("expected 'T' between date and time");
  }
  if (!ReadDigits(s, 11, 2, &hour) || s.size() < 14 || s[13] != ':' ||
      !ReadDigits(s, 14, 2, &minute) || s.size() < 17 || s[16] != ':' ||
      !ReadDigits(s, 17, 2, &second)) {
    return Invalid("expected HH:MM:SS");
  }
  if (year < 1970 || year > 9999) return Invalid("year out of range 1970..9999");
  if (month < 1 || month > 12) return Invalid("month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return Invalid("day out of range");
  if (hour > 23) return Invalid("hour out of range");
  if (minute > 59) return Invalid("minute out of range");
  if (second > 60) return Invalid("second out of range");

  size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < s.size() && IsDigit(s[pos])) {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return Invalid("fraction must have 1..9 digits");
    for (size_t i = digits; i < 3; ++i) millis *= 10;
  }

  if (pos >= s.size()) return Invalid("time zone required (Z or +HH:MM)");
  int offset_minutes = 0;
  char z = s[pos];
  if (z == 'Z' || z == 'z') {
    ++pos;
  } else if (z == '+' || z == '-') {
    int oh, om;
    if (!ReadDigits(s, pos + 1, 2, &oh)) return Invalid("bad zone offset");
    size_t mpos = pos + 3;
    if (mpos < s.size() && s[mpos] == ':') ++mpos;
    if (!ReadDigits(s, mpos, 2, &om)) return Invalid("bad zone offset");
    if (oh > 23 || om > 59) return Invalid("zone offset out of range");
    offset_minutes = (oh * 60 + om) * (z == '-' ? -1 : 1);
    pos = mpos + 2;
  } else {
    return Invalid("time zone required (Z or +HH:MM)");
  }
  if (pos != s.size()) return Invalid("trailing characters");

  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return secs * 1000 + millis;
}

void AppendIso8601Millis(int64_t ms, std::string* out) {
  int64_t days = ms / 86400000;
  int64_t rem = ms % 86400000;
  if (rem < 0) {
    rem += 86400000;
    --days;
  }
  // Howard Hinnant's civil_from_days.
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;

  int h = static_cast<int>(rem / 3600000);
  int mi = static_cast<int>(rem / 60000 % 60);
  int s = static_cast<int>(rem / 1000 % 60);
  int f = static_cast<int>(rem % 1000);
  char buf[48];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                        static_cast<long long>(y), m, d, h, mi, s, f);
  out->append(buf, static_cast<size_t>(n));
}

std::string FormatIso8601Millis(int64_t ms) {
  std::string out;
  AppendIso8601Millis(ms, &out);
  return out;
}

}  // namespace ca::event
