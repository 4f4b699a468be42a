#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ca::event {

/// Largest accepted epoch-millisecond value: 9999-12-31T23:59:59.999Z.
inline constexpr int64_t kMaxTimestampMs = 253402300799999;

/// Parses an ISO-8601 / RFC 3339 date-time with a REQUIRED zone into epoch milliseconds UTC.
/// Accepted: `YYYY-MM-DDTHH:MM:SS[.f{1,9}]` followed by `Z` or `+HH:MM`, `-HH:MM`, `+HHMM`,
/// `-HHMM`. `t`/`z` may be lower case and a single space may replace `T`. Fractions beyond
/// milliseconds are truncated. Years 1970..9999, day checked against the month (leap years
/// included), hours 0..23, minutes 0..59, seconds 0..60 (a leap second counts as the next minute's
/// first second). Errors: kInvalidTimestamp (the message says what is wrong). Never reads past
/// `text`.
Result<int64_t> ParseIso8601Millis(std::string_view text);

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, always 3 fraction digits).
/// Defined for every int64 value whose year fits in 0..9999; other years print with more digits
/// or a sign, which ParseIso8601Millis will not accept back.
std::string FormatIso8601Millis(int64_t epoch_ms);

/// Appends the FormatIso8601Millis text to `out`.
void AppendIso8601Millis(int64_t epoch_ms, std::string* out);

/// Days since 1970-01-01 of the proleptic Gregorian date (no range check).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

}  // namespace ca::event
