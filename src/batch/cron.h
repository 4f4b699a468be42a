#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include "base/result.h"

namespace ca::batch {

/// A cron schedule: a standard five-field expression (minute hour day-of-month month day-of-week)
/// evaluated in the local time of an IANA time zone (docs/scheduler.md).
///
/// Syntax: `*`, numbers, lists `a,b`, ranges `a-b`, steps `*/n` and `a-b/n`, month names JAN..DEC
/// and day names SUN..SAT (case-insensitive, also as range ends), day-of-week 0-7 (0 and 7 are
/// Sunday), and the macros @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly.
/// `*` and `*/n` stand alone in their field (not inside a list). Vixie rule: when both
/// day-of-month and day-of-week are restricted (neither starts with `*`), a day matches if either
/// matches; otherwise both must.
///
/// DST: a local time skipped by a spring-forward gap fires once, at the first instant after the
/// gap; a local time repeated by a fall-back fires once, at its first occurrence.
///
/// Immutable; copyable; safe to use from several threads.
class CronSchedule {
 public:
  /// Parses `expression` in the zone `time_zone` (an IANA name such as "Europe/Berlin"; empty means
  /// "UTC"). Errors (kInvalidArgument) name the field and the bad token, e.g. "cron field 'hour':
  /// 24 is out of range 0-23", or the unknown zone.
  static Result<CronSchedule> Parse(std::string_view expression,
                                    std::string_view time_zone = "UTC");

  /// The first matching local minute strictly after `after_ms` (epoch milliseconds), as epoch
  /// milliseconds. Searches `kSearchYears` ahead and not past the year 9999: nullopt when nothing
  /// matches there (e.g. "0 0 30 2 *" never does) and for `after_ms` outside years 1..9999.
  std::optional<int64_t> NextAfter(int64_t after_ms) const;

  /// The normalised five fields, e.g. "0 9 * * 1-5" ("@daily" gives "0 0 * * *", "mon-fri" gives
  /// "1-5", "1-10/3" gives "1,4,7,10"). Parsing it again gives the same schedule.
  const std::string& expression() const { return expression_; }
  /// The zone name, e.g. "Europe/Berlin".
  const std::string& time_zone() const { return zone_name_; }
  /// "<expression> (<zone>)", e.g. "30 2 * * * (Europe/Berlin)".
  std::string ToString() const;

  /// How far ahead NextAfter searches: more than the eight years between two February 29ths
  /// around a century (2096 to 2104).
  static constexpr int kSearchYears = 10;

 private:
  CronSchedule() = default;

  bool DayMatches(const cctz::civil_day& day) const;

  uint64_t minutes_ = 0;   // bit m: minute m (0-59)
  uint32_t hours_ = 0;     // bit h: hour h (0-23)
  uint32_t days_ = 0;      // bit d: day of month d (1-31)
  uint16_t months_ = 0;    // bit m: month m (1-12)
  uint8_t weekdays_ = 0;   // bit w: day of week w (0 = Sunday .. 6)
  bool days_star_ = true;  // day-of-month starts with '*' (Vixie rule)
  bool weekdays_star_ = true;
  std::string expression_;
  std::string zone_name_;
  cctz::time_zone zone_;
};

}  // namespace ca::batch
