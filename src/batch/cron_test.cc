#include "batch/cron.h"

#include <gtest/gtest.h>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <optional>
#include <string>
#include <vector>

namespace ca::batch {
namespace {

cctz::time_zone Zone(const std::string& name) {
  cctz::time_zone tz;
  EXPECT_TRUE(cctz::load_time_zone(name, &tz)) << name;
  return tz;
}

/// Epoch ms of an instant written "YYYY-MM-DD HH:MM:SS +hh:mm".
int64_t At(const std::string& text) {
  cctz::time_point<cctz::seconds> tp;
  EXPECT_TRUE(cctz::parse("%Y-%m-%d %H:%M:%S %Ez", text, cctz::utc_time_zone(), &tp)) << text;
  return static_cast<int64_t>(tp.time_since_epoch().count()) * 1000;
}

/// `ms` in the local time of `zone`, "YYYY-MM-DD HH:MM +hh:mm"; "none" for nullopt.
std::string Local(std::optional<int64_t> ms, const std::string& zone) {
  if (!ms) return "none";
  const cctz::time_point<cctz::seconds> tp(cctz::seconds(*ms / 1000));
  return cctz::format("%Y-%m-%d %H:%M %Ez", tp, Zone(zone));
}

CronSchedule MustParse(const std::string& expression, const std::string& zone = "UTC") {
  Result<CronSchedule> s = CronSchedule::Parse(expression, zone);
  EXPECT_TRUE(s.ok()) << expression << ": " << s.status().ToString();
  if (!s.ok()) return CronSchedule::Parse("* * * * *").value();
  return std::move(s).value();
}

/// The first `n` run times after `after` (local, in the schedule's zone).
std::vector<std::string> Runs(const std::string& expression, const std::string& zone,
                              const std::string& after, int n) {
  const CronSchedule s = MustParse(expression, zone);
  std::vector<std::string> out;
  std::optional<int64_t> t = At(after);
  for (int i = 0; i < n && t; ++i) {
    t = s.NextAfter(*t);
    out.push_back(Local(t, zone));
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(CronTest, EveryMinuteIsStrictlyAfter) {
  const CronSchedule s = MustParse("* * * * *");
  EXPECT_EQ(s.NextAfter(At("2024-05-01 10:15:00 +00:00")), At("2024-05-01 10:16:00 +00:00"));
  EXPECT_EQ(s.NextAfter(At("2024-05-01 10:15:00 +00:00") - 1), At("2024-05-01 10:15:00 +00:00"));
  EXPECT_EQ(s.NextAfter(At("2024-05-01 10:15:59 +00:00")), At("2024-05-01 10:16:00 +00:00"));
}

TEST(CronTest, Steps) {
  EXPECT_EQ(Runs("*/15 * * * *", "UTC", "2024-05-01 10:07:00 +00:00", 4),
            (Strings{"2024-05-01 10:15 +00:00", "2024-05-01 10:30 +00:00",
                     "2024-05-01 10:45 +00:00", "2024-05-01 11:00 +00:00"}));
  EXPECT_EQ(Runs("10-30/10 */6 * * *", "UTC", "2024-05-01 10:07:00 +00:00", 4),
            (Strings{"2024-05-01 12:10 +00:00", "2024-05-01 12:20 +00:00",
                     "2024-05-01 12:30 +00:00", "2024-05-01 18:10 +00:00"}));
}

TEST(CronTest, ListsAndRanges) {
  const CronSchedule s = MustParse("5,10-12,20-30/5 * * * *");
  EXPECT_EQ(s.expression(), "5,10-12,20,25,30 * * * *");
  EXPECT_EQ(
      Runs("5,10-12,20-30/5 8 * * *", "UTC", "2024-05-01 07:00:00 +00:00", 8),
      (Strings{"2024-05-01 08:05 +00:00", "2024-05-01 08:10 +00:00", "2024-05-01 08:11 +00:00",
               "2024-05-01 08:12 +00:00", "2024-05-01 08:20 +00:00", "2024-05-01 08:25 +00:00",
               "2024-05-01 08:30 +00:00", "2024-05-02 08:05 +00:00"}));
}

TEST(CronTest, DayOfMonthAndMonth) {
  EXPECT_EQ(
      Runs("0 9 1,15 */3 *", "UTC", "2024-05-01 10:00:00 +00:00", 3),
      (Strings{"2024-07-01 09:00 +00:00", "2024-07-15 09:00 +00:00", "2024-10-01 09:00 +00:00"}));
}

TEST(CronTest, MonthAndDayNamesAnyCase) {
  const CronSchedule s = MustParse("0 0 * jan,Mar-MAY mon-FRI");
  EXPECT_EQ(s.expression(), "0 0 * 1,3-5 1-5");
  EXPECT_EQ(MustParse("0 0 * DEC sat,sun").expression(), "0 0 * 12 0,6");
  // 2024-03-01 is a Friday.
  EXPECT_EQ(Runs("0 0 * jan,Mar-MAY mon-FRI", "UTC", "2024-02-28 00:00:00 +00:00", 2),
            (Strings{"2024-03-01 00:00 +00:00", "2024-03-04 00:00 +00:00"}));
}

TEST(CronTest, SundayIsZeroAndSeven) {
  EXPECT_EQ(MustParse("0 0 * * 7").expression(), "0 0 * * 0");
  EXPECT_EQ(MustParse("0 0 * * 5-7").expression(), "0 0 * * 0,5-6");
  EXPECT_EQ(MustParse("0 0 * * 0-7").expression(), "0 0 * * 0-6");
  // 2024-05-05 is a Sunday.
  EXPECT_EQ(Runs("0 0 * * 7", "UTC", "2024-05-01 00:00:00 +00:00", 1),
            Strings{"2024-05-05 00:00 +00:00"});
}

TEST(CronTest, Macros) {
  EXPECT_EQ(MustParse("@yearly").expression(), "0 0 1 1 *");
  EXPECT_EQ(MustParse("@annually").expression(), "0 0 1 1 *");
  EXPECT_EQ(MustParse("@monthly").expression(), "0 0 1 * *");
  EXPECT_EQ(MustParse("@weekly").expression(), "0 0 * * 0");
  EXPECT_EQ(MustParse("@daily").expression(), "0 0 * * *");
  EXPECT_EQ(MustParse("@midnight").expression(), "0 0 * * *");
  EXPECT_EQ(MustParse("@HOURLY").expression(), "0 * * * *");
  EXPECT_EQ(MustParse("  @daily  ").expression(), "0 0 * * *");
  EXPECT_EQ(Runs("@weekly", "UTC", "2024-05-01 00:00:00 +00:00", 1),
            Strings{"2024-05-05 00:00 +00:00"});
}

TEST(CronTest, WhitespaceBetweenFields) {
  EXPECT_EQ(MustParse(" 0\t 0  *  * *\t").expression(), "0 0 * * *");
}

// Vixie cron: with both day fields restricted, either may match.
TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // The 13th or any Friday; 2024-09-06 is a Friday, 2024-10-13 a Sunday.
  EXPECT_EQ(
      Runs("0 0 13 * 5", "UTC", "2024-09-01 00:00:00 +00:00", 7),
      (Strings{"2024-09-06 00:00 +00:00", "2024-09-13 00:00 +00:00", "2024-09-20 00:00 +00:00",
               "2024-09-27 00:00 +00:00", "2024-10-04 00:00 +00:00", "2024-10-11 00:00 +00:00",
               "2024-10-13 00:00 +00:00"}));
  // Day-of-month '*': only Fridays.
  EXPECT_EQ(Runs("0 0 * * 5", "UTC", "2024-09-01 00:00:00 +00:00", 2),
            (Strings{"2024-09-06 00:00 +00:00", "2024-09-13 00:00 +00:00"}));
  // Day-of-week '*': only the 13th.
  EXPECT_EQ(Runs("0 0 13 * *", "UTC", "2024-09-01 00:00:00 +00:00", 2),
            (Strings{"2024-09-13 00:00 +00:00", "2024-10-13 00:00 +00:00"}));
  // A field starting with '*' ("*/2") counts as unrestricted, as in Vixie cron and cronie: odd
  // days that are Fridays.
  EXPECT_EQ(Runs("0 0 */2 * 5", "UTC", "2024-09-01 00:00:00 +00:00", 2),
            (Strings{"2024-09-13 00:00 +00:00", "2024-09-27 00:00 +00:00"}));
  // "1-31" is restricted although it covers every day: every day matches.
  EXPECT_EQ(Runs("0 0 1-31 * 5", "UTC", "2024-09-01 00:00:00 +00:00", 2),
            (Strings{"2024-09-02 00:00 +00:00", "2024-09-03 00:00 +00:00"}));
}

void ExpectError(const std::string& expression, const std::string& message_part,
                 const std::string& zone = "UTC") {
  Result<CronSchedule> s = CronSchedule::Parse(expression, zone);
  ASSERT_FALSE(s.ok()) << "'" << expression << "' parsed as " << s->ToString();
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument) << expression;
  EXPECT_NE(s.status().message().find(message_part), std::string_view::npos)
      << "'" << expression << "': " << s.status().message();
}

TEST(CronTest, ErrorsNameTheFieldAndToken) {
  Result<CronSchedule> s = CronSchedule::Parse("0 24 * * *");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "cron field 'hour': 24 is out of range 0-23");

  ExpectError("60 * * * *", "cron field 'minute': 60 is out of range 0-59");
  ExpectError("0 0 0 * *", "cron field 'day-of-month': 0 is out of range 1-31");
  ExpectError("0 0 32 * *", "cron field 'day-of-month': 32 is out of range 1-31");
  ExpectError("0 0 * 13 *", "cron field 'month': 13 is out of range 1-12");
  ExpectError("0 0 * 0 *", "cron field 'month': 0 is out of range 1-12");
  ExpectError("0 0 * * 8", "cron field 'day-of-week': 8 is out of range 0-7");
  ExpectError("99999999999999999999 * * * *", "cron field 'minute': '9999");
  ExpectError("x * * * *", "cron field 'minute': 'x' is not a number");
  ExpectError("0 jan * * *", "cron field 'hour': 'jan' is not a number");
  ExpectError("0 0 * foo *", "cron field 'month': 'foo' is not a number or a name");
  ExpectError("0 0 * * monday", "cron field 'day-of-week': 'monday'");
  ExpectError("0 0 * * mon-", "cron field 'day-of-week': '' is not a number or a name");
  ExpectError("-5 * * * *", "cron field 'minute': '' is not a number");
  ExpectError("5-1 * * * *", "cron field 'minute': range '5-1' is reversed");
  ExpectError("1,,2 * * * *", "cron field 'minute': empty list element");
  ExpectError("1, * * * *", "cron field 'minute': empty list element");
  ExpectError("*/0 * * * *", "cron field 'minute': step '0' is out of range 1-60");
  ExpectError("* */25 * * *", "cron field 'hour': step '25' is out of range 1-24");
  ExpectError("*/x * * * *", "cron field 'minute': step 'x' is not a number");
  ExpectError("1-5/ * * * *", "cron field 'minute': step '' is not a number");
  ExpectError("5/15 * * * *", "cron field 'minute': '5/15': a step needs a range");
  ExpectError("*,5 * * * *", "cron field 'minute': '*,5'");
  ExpectError("5,* * * * *", "cron field 'minute': '*': '*' cannot be part of a list");
  ExpectError("** * * * *", "cron field 'minute': '**'");
  ExpectError("* * * *", "5 fields");
  ExpectError("* * * * * *", "5 fields");
  ExpectError("", "got 0");
  ExpectError("@reboot", "unknown cron macro '@reboot'");
  ExpectError("@daily *", "unknown cron macro");
}

TEST(CronTest, TimeZones) {
  EXPECT_EQ(MustParse("0 0 * * *", "").time_zone(), "UTC");
  EXPECT_EQ(MustParse("0 0 * * *").time_zone(), "UTC");
  EXPECT_EQ(Runs("0 0 * * *", "Asia/Kolkata", "2024-05-01 00:00:00 +00:00", 1),
            Strings{"2024-05-02 00:00 +05:30"});
  EXPECT_EQ(
      CronSchedule::Parse("0 0 * * *", "Asia/Kolkata")->NextAfter(At("2024-05-01 00:00:00 +00:00")),
      At("2024-05-01 18:30:00 +00:00"));
  ExpectError("0 0 * * *", "unknown time zone 'Mars/Base'", "Mars/Base");
  ExpectError("0 0 * * *", "unknown time zone", "localtime");
  ExpectError("0 0 * * *", "unknown time zone", "../../etc/passwd");
  ExpectError("0 0 * * *", "unknown time zone", "/usr/share/zoneinfo/UTC");
  ExpectError("0 0 * * *", "unknown time zone", "Europe/../UTC");
}

// Europe/Berlin, 2024-03-31: 02:00 CET becomes 03:00 CEST.
TEST(CronTest, BerlinSpringForwardRunsSkippedTimeOnceAfterTheGap) {
  EXPECT_EQ(
      Runs("30 2 * * *", "Europe/Berlin", "2024-03-30 03:00:00 +01:00", 3),
      (Strings{"2024-03-31 03:00 +02:00", "2024-04-01 02:30 +02:00", "2024-04-02 02:30 +02:00"}));
  // Several skipped times and 03:00 itself: one run.
  EXPECT_EQ(
      Runs("*/15 2,3 * * *", "Europe/Berlin", "2024-03-31 01:50:00 +01:00", 3),
      (Strings{"2024-03-31 03:00 +02:00", "2024-03-31 03:15 +02:00", "2024-03-31 03:30 +02:00"}));
  EXPECT_EQ(
      Runs("0 * * * *", "Europe/Berlin", "2024-03-31 00:30:00 +01:00", 3),
      (Strings{"2024-03-31 01:00 +01:00", "2024-03-31 03:00 +02:00", "2024-03-31 04:00 +02:00"}));
}

// Europe/Berlin, 2024-10-27: 03:00 CEST becomes 02:00 CET, so 02:00-02:59 happen twice.
TEST(CronTest, BerlinFallBackRunsRepeatedTimeOnce) {
  EXPECT_EQ(Runs("30 2 * * *", "Europe/Berlin", "2024-10-26 03:00:00 +02:00", 2),
            (Strings{"2024-10-27 02:30 +02:00", "2024-10-28 02:30 +01:00"}));
  // From inside the second 02:00-02:59: the repeated 02:30 has passed.
  EXPECT_EQ(Runs("30 2 * * *", "Europe/Berlin", "2024-10-27 02:10:00 +01:00", 1),
            Strings{"2024-10-28 02:30 +01:00"});
  EXPECT_EQ(
      Runs("0 * * * *", "Europe/Berlin", "2024-10-27 00:30:00 +02:00", 3),
      (Strings{"2024-10-27 01:00 +02:00", "2024-10-27 02:00 +02:00", "2024-10-27 03:00 +01:00"}));
}

// America/New_York: 2024-03-10 02:00 EST becomes 03:00 EDT; 2024-11-03 02:00 EDT becomes
// 01:00 EST.
TEST(CronTest, NewYorkGapAndOverlap) {
  EXPECT_EQ(Runs("30 2 * * *", "America/New_York", "2024-03-09 12:00:00 -05:00", 2),
            (Strings{"2024-03-10 03:00 -04:00", "2024-03-11 02:30 -04:00"}));
  EXPECT_EQ(Runs("30 1 * * *", "America/New_York", "2024-11-02 12:00:00 -04:00", 2),
            (Strings{"2024-11-03 01:30 -04:00", "2024-11-04 01:30 -05:00"}));
  EXPECT_EQ(
      Runs("*/30 1 * * *", "America/New_York", "2024-11-03 00:50:00 -04:00", 3),
      (Strings{"2024-11-03 01:00 -04:00", "2024-11-03 01:30 -04:00", "2024-11-04 01:00 -05:00"}));
}

TEST(CronTest, LeapDay) {
  EXPECT_EQ(Runs("0 0 29 2 *", "UTC", "2024-03-01 00:00:00 +00:00", 2),
            (Strings{"2028-02-29 00:00 +00:00", "2032-02-29 00:00 +00:00"}));
  // 2100 is not a leap year: eight years between leap days.
  EXPECT_EQ(Runs("0 0 29 2 *", "UTC", "2096-03-01 00:00:00 +00:00", 1),
            Strings{"2104-02-29 00:00 +00:00"});
}

TEST(CronTest, YearBoundary) {
  EXPECT_EQ(Runs("59 23 31 12 *", "UTC", "2024-12-31 23:59:00 +00:00", 1),
            Strings{"2025-12-31 23:59 +00:00"});
  EXPECT_EQ(Runs("@yearly", "UTC", "2024-12-31 23:59:30 +00:00", 2),
            (Strings{"2025-01-01 00:00 +00:00", "2026-01-01 00:00 +00:00"}));
  // New Year in Auckland (+13:00 in summer) is still 2024 in UTC.
  EXPECT_EQ(CronSchedule::Parse("@yearly", "Pacific/Auckland")
                ->NextAfter(At("2024-12-31 10:00:00 +00:00")),
            At("2024-12-31 11:00:00 +00:00"));
}

TEST(CronTest, ImpossibleSchedulesNeverRun) {
  EXPECT_EQ(MustParse("0 0 30 2 *").NextAfter(At("2024-01-01 00:00:00 +00:00")), std::nullopt);
  EXPECT_EQ(MustParse("0 0 31 4,6,9,11 *").NextAfter(At("2024-01-01 00:00:00 +00:00")),
            std::nullopt);
  // With a restricted day-of-week the Vixie rule makes it possible: any Monday in February.
  EXPECT_EQ(Runs("0 0 30 2 mon", "UTC", "2024-01-01 00:00:00 +00:00", 1),
            Strings{"2024-02-05 00:00 +00:00"});
}

TEST(CronTest, TimesOutsideYears1To9999) {
  const CronSchedule s = MustParse("* * * * *");
  EXPECT_EQ(s.NextAfter(INT64_MAX), std::nullopt);
  EXPECT_EQ(s.NextAfter(INT64_MIN), std::nullopt);
  EXPECT_EQ(s.NextAfter(At("1960-01-01 00:00:00 +00:00")), At("1960-01-01 00:01:00 +00:00"));
  EXPECT_EQ(Runs("0 0 1 1 *", "UTC", "9998-06-01 00:00:00 +00:00", 2),
            (Strings{"9999-01-01 00:00 +00:00", "none"}));
}

TEST(CronTest, ToStringAndRoundTrip) {
  EXPECT_EQ(MustParse("30 2 * * *", "Europe/Berlin").ToString(), "30 2 * * * (Europe/Berlin)");
  for (const char* expression :
       {"*/15 * * * *", "5,10-12,20-30/5 1-5 */2 jan-mar mon-fri", "0 0 13 * 5", "0 0 */2 * 5",
        "@weekly", "0 0 * * 7", "1-59/58 0-23/23 1-31/30 1-12/11 0-7/7"}) {
    const CronSchedule a = MustParse(expression, "America/New_York");
    const CronSchedule b = MustParse(a.expression(), a.time_zone());
    EXPECT_EQ(a.expression(), b.expression()) << expression;
    std::optional<int64_t> ta = At("2024-01-01 00:00:00 +00:00");
    std::optional<int64_t> tb = ta;
    for (int i = 0; i < 50 && ta; ++i) {
      ta = a.NextAfter(*ta);
      tb = b.NextAfter(*tb);
      ASSERT_EQ(ta, tb) << expression << " run " << i;
    }
  }
}

}  // namespace
}  // namespace ca::batch
