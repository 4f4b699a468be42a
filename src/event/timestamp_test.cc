#include "event/timestamp.h"

#include <gtest/gtest.h>

#include <ctime>

namespace ca::event {
namespace {

int64_t Parse(std::string_view s) {
  auto r = ParseIso8601Millis(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : -1;
}

void ExpectInvalid(std::string_view s) {
  auto r = ParseIso8601Millis(s);
  ASSERT_FALSE(r.ok()) << s << " parsed as " << *r;
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidTimestamp) << s;
}

TEST(TimestampTest, ParsesUtcAndFractions) {
  EXPECT_EQ(Parse("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Parse("2026-11-28T04:00:10.123Z"), 1795838410123);
  EXPECT_EQ(Parse("2026-11-28T04:00:10.1Z"), 1795838410100);
  EXPECT_EQ(Parse("2026-11-28T04:00:10.12Z"), 1795838410120);
  EXPECT_EQ(Parse("2026-11-28T04:00:10.123999999Z"), 1795838410123);  // truncated, not rounded
  EXPECT_EQ(Parse("2026-11-28t04:00:10z"), 1795838410000);
  EXPECT_EQ(Parse("2026-11-28 04:00:10Z"), 1795838410000);
  EXPECT_EQ(Parse("9999-12-31T23:59:59.999Z"), kMaxTimestampMs);
}

TEST(TimestampTest, ParsesOffsets) {
  EXPECT_EQ(Parse("2026-11-28T06:00:10+02:00"), 1795838410000);
  EXPECT_EQ(Parse("2026-11-28T06:00:10+0200"), 1795838410000);
  EXPECT_EQ(Parse("2026-11-27T23:30:10-04:30"), 1795838410000);
  EXPECT_EQ(Parse("2026-11-27T23:30:10.5-0430"), 1795838410500);
  EXPECT_EQ(Parse("2026-11-28T04:00:10+00:00"), 1795838410000);
}

TEST(TimestampTest, LeapYearsAndLeapSecond) {
  EXPECT_EQ(Parse("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(Parse("2000-02-29T00:00:00Z"), 951782400000);
  ExpectInvalid("2023-02-29T00:00:00Z");
  ExpectInvalid("1900-02-29T00:00:00Z");
  ExpectInvalid("2100-02-29T00:00:00Z");
  EXPECT_EQ(Parse("2016-12-31T23:59:60Z"), Parse("2017-01-01T00:00:00Z"));
}

TEST(TimestampTest, RejectsMalformed) {
  for (std::string_view s : {"",
                             "2026",
                             "2026-11-28",
                             "2026-11-28T04:00:10",
                             "2026-11-28T04:00:10.123",
                             "2026-11-28T04:00Z",
                             "2026-1-28T04:00:10Z",
                             "2026-11-28X04:00:10Z",
                             "2026-11-28T04:00:10.Z",
                             "2026-11-28T04:00:10.1234567890Z",
                             "2026-11-28T04:00:10ZZ",
                             "2026-11-28T04:00:10+2",
                             "2026-11-28T04:00:10+02:0",
                             "2026-11-28T04:00:10+02:00x",
                             "2026-11-28T04:00:10+24:00",
                             "2026-11-28T04:00:10+02:60",
                             "2026-11-28T04:00:10 Z",
                             "2026-13-01T00:00:00Z",
                             "2026-00-01T00:00:00Z",
                             "2026-04-31T00:00:00Z",
                             "2026-01-00T00:00:00Z",
                             "2026-01-01T24:00:00Z",
                             "2026-01-01T00:60:00Z",
                             "2026-01-01T00:00:61Z",
                             "1969-12-31T23:59:59Z",
                             "+2026-01-01T00:00:00Z",
                             "2026-01-01T00:00:00UTC",
                             "２０２６-01-01T00:00:00Z",
                             "2026-01-01T0a:00:00Z"}) {
    ExpectInvalid(s);
  }
}

TEST(TimestampTest, EveryPrefixOfAValidStringIsRejected) {
  std::string s = "2026-11-28T04:00:10.123+02:00";
  for (size_t n = 0; n < s.size(); ++n) {
    EXPECT_FALSE(ParseIso8601Millis(std::string_view(s.data(), n)).ok()) << s.substr(0, n);
  }
}

TEST(TimestampTest, Formats) {
  EXPECT_EQ(FormatIso8601Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601Millis(1795838410123), "2026-11-28T04:00:10.123Z");
  EXPECT_EQ(FormatIso8601Millis(kMaxTimestampMs), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIso8601Millis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIso8601Millis(951782400000), "2000-02-29T00:00:00.000Z");
}

TEST(TimestampTest, FormatParseRoundTripMatchesTimegm) {
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int64_t ms = static_cast<int64_t>(x % static_cast<uint64_t>(kMaxTimestampMs + 1));
    std::string text = FormatIso8601Millis(ms);
    ASSERT_EQ(Parse(text), ms) << text;

    std::tm tm{};
    time_t secs = static_cast<time_t>(ms / 1000);
    gmtime_r(&secs, &tm);
    char buf[32];
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    ASSERT_EQ(text.substr(0, 19), buf);
  }
}

}  // namespace
}  // namespace ca::event
