#include "query/buckets.h"

#include <gtest/gtest.h>

#include "event/timestamp.h"

namespace ca::query {
namespace {

int64_t T(const char* iso) {
  auto t = event::ParseIso8601Millis(iso);
  EXPECT_TRUE(t.ok()) << iso;
  return t.ok() ? *t : 0;
}

std::vector<std::string> Labels(const Buckets& b) {
  std::vector<std::string> out;
  for (size_t i = 0; i < b.size(); ++i) out.push_back(b.Label(i));
  return out;
}

using V = std::vector<std::string>;

TEST(BucketsTest, UtcDaysFromNotOnABoundary) {
  auto b =
      Buckets::Make(T("2025-01-06T10:00:00Z"), T("2025-01-08T00:00:00Z"), Interval::kDay, "UTC");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Labels(*b), V({"2025-01-06T00:00:00+00:00", "2025-01-07T00:00:00+00:00"}));
  EXPECT_EQ(b->starts()[0], T("2025-01-06T00:00:00Z"));
  EXPECT_EQ(b->end(1), T("2025-01-08T00:00:00Z"));
  EXPECT_EQ(b->IndexOf(T("2025-01-06T00:00:00Z")), 0);
  EXPECT_EQ(b->IndexOf(T("2025-01-07T23:59:59.999Z")), 1);
  EXPECT_EQ(b->IndexOf(T("2025-01-08T00:00:00Z")), -1);
  EXPECT_EQ(b->IndexOf(T("2025-01-05T23:59:59.999Z")), -1);
}

TEST(BucketsTest, OneMillisecondPastABoundaryOpensABucket) {
  auto b = Buckets::Make(T("2025-01-06T00:00:00Z"), T("2025-01-07T00:00:00.001Z"), Interval::kDay,
                         "UTC");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 2u);
}

TEST(BucketsTest, BerlinDaysAcrossSpringForward) {
  auto b = Buckets::Make(T("2025-03-29T00:00:00+01:00"), T("2025-04-01T00:00:00+02:00"),
                         Interval::kDay, "Europe/Berlin");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Labels(*b), V({"2025-03-29T00:00:00+01:00", "2025-03-30T00:00:00+01:00",
                           "2025-03-31T00:00:00+02:00"}));
  EXPECT_EQ(b->end(1) - b->starts()[1], 23 * 3600000);  // the short day
}

TEST(BucketsTest, BerlinHoursAcrossSpringForwardAndFallBack) {
  auto spring = Buckets::Make(T("2025-03-30T00:00:00Z"), T("2025-03-30T02:00:00Z"), Interval::kHour,
                              "Europe/Berlin");
  ASSERT_TRUE(spring.ok());
  EXPECT_EQ(Labels(*spring), V({"2025-03-30T01:00:00+01:00", "2025-03-30T03:00:00+02:00"}));
  auto fall = Buckets::Make(T("2025-10-25T23:00:00Z"), T("2025-10-26T03:00:00Z"), Interval::kHour,
                            "Europe/Berlin");
  ASSERT_TRUE(fall.ok());
  // 02:00 happens twice: each occurrence starts an hour.
  EXPECT_EQ(Labels(*fall), V({"2025-10-26T01:00:00+02:00", "2025-10-26T02:00:00+02:00",
                              "2025-10-26T02:00:00+01:00", "2025-10-26T03:00:00+01:00"}));
}

TEST(BucketsTest, BerlinFallBackDayHas25Hours) {
  int64_t from = T("2025-10-26T00:00:00+02:00");
  auto b = Buckets::Make(from, from + 25 * 3600000, Interval::kDay, "Europe/Berlin");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 1u);
  EXPECT_EQ(b->end(0), T("2025-10-27T00:00:00+01:00"));
  EXPECT_EQ(b->IndexOf(from + 25 * 3600000 - 1), 0);
}

TEST(BucketsTest, WeeksStartOnMondayMidnight) {
  auto b =
      Buckets::Make(T("2025-01-08T12:00:00Z"), T("2025-01-20T00:00:00Z"), Interval::kWeek, "UTC");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Labels(*b), V({"2025-01-06T00:00:00+00:00", "2025-01-13T00:00:00+00:00"}));
  // Across a year end: 2024-12-30 is a Monday.
  auto y = Buckets::Make(T("2025-01-01T00:00:00Z"), T("2025-01-02T00:00:00Z"), Interval::kWeek,
                         "Europe/Berlin");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(Labels(*y), V({"2024-12-30T00:00:00+01:00"}));
}

TEST(BucketsTest, NewYorkMonthsAcrossDst) {
  auto b = Buckets::Make(T("2025-01-31T12:00:00-05:00"), T("2025-03-10T00:00:00-04:00"),
                         Interval::kMonth, "America/New_York");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Labels(*b), V({"2025-01-01T00:00:00-05:00", "2025-02-01T00:00:00-05:00",
                           "2025-03-01T00:00:00-05:00"}));
  EXPECT_EQ(b->end(2), T("2025-04-01T00:00:00-04:00"));
  // Leap February.
  auto leap =
      Buckets::Make(T("2024-02-29T23:00:00Z"), T("2024-03-01T00:00:01Z"), Interval::kMonth, "UTC");
  ASSERT_TRUE(leap.ok());
  EXPECT_EQ(Labels(*leap), V({"2024-02-01T00:00:00+00:00", "2024-03-01T00:00:00+00:00"}));
}

TEST(BucketsTest, KolkataHalfHourOffset) {
  auto b = Buckets::Make(T("2025-01-06T00:00:00Z"), T("2025-01-06T01:00:00Z"), Interval::kHour,
                         "Asia/Kolkata");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Labels(*b), V({"2025-01-06T05:00:00+05:30", "2025-01-06T06:00:00+05:30"}));
  EXPECT_EQ(b->starts()[0], T("2025-01-05T23:30:00Z"));
  auto d = Buckets::Make(T("2025-01-06T00:00:00Z"), T("2025-01-07T00:00:00Z"), Interval::kDay,
                         "Asia/Kolkata");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Labels(*d), V({"2025-01-06T00:00:00+05:30", "2025-01-07T00:00:00+05:30"}));
}

TEST(BucketsTest, MaxBuckets) {
  int64_t from = T("2025-01-01T00:00:00Z");
  EXPECT_TRUE(Buckets::Make(from, from + 10000 * int64_t{3600000}, Interval::kHour, "UTC").ok());
  auto over = Buckets::Make(from, from + 10000 * int64_t{3600000} + 1, Interval::kHour, "UTC");
  EXPECT_EQ(over.status().code(), ErrorCode::kRangeTooLarge);
  EXPECT_EQ(Buckets::Make(from, from + 3 * 86400000, Interval::kDay, "UTC", 2).status().code(),
            ErrorCode::kRangeTooLarge);
}

TEST(BucketsTest, UnknownZones) {
  int64_t from = T("2025-01-01T00:00:00Z");
  for (const char* tz :
       {"Mars/Olympus", "", "../../etc/passwd", "/etc/localtime", "localtime", "Europe//Berlin"}) {
    EXPECT_EQ(Buckets::Make(from, from + 1, Interval::kDay, tz).status().code(),
              ErrorCode::kInvalidQuery)
        << tz;
  }
  EXPECT_EQ(Buckets::Make(from, from, Interval::kDay, "UTC").status().code(),
            ErrorCode::kInvalidQuery);
}

TEST(BucketsTest, ExtendAddsLaterBuckets) {
  auto b = Buckets::Make(T("2025-03-28T12:00:00+01:00"), T("2025-03-29T00:00:00+01:00"),
                         Interval::kDay, "Europe/Berlin");
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  ASSERT_TRUE(b->Extend(3).ok());
  EXPECT_EQ(Labels(*b), V({"2025-03-28T00:00:00+01:00", "2025-03-29T00:00:00+01:00",
                           "2025-03-30T00:00:00+01:00", "2025-03-31T00:00:00+02:00"}));
  EXPECT_EQ(b->end(3), T("2025-04-01T00:00:00+02:00"));
  EXPECT_EQ(b->IndexOf(T("2025-03-30T23:59:59Z")), 3);
  EXPECT_EQ(b->Extend(10, 5).code(), ErrorCode::kRangeTooLarge);
}

}  // namespace
}  // namespace ca::query
