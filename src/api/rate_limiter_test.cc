#include "api/rate_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace ca::api {
namespace {

TEST(RateLimiterTest, BurstThenTheRate) {
  int64_t now = 1'000'000;
  RateLimiter limiter(
      {.per_second = 2, .burst = 4, .max_keys = 1000, .now_ms = [&] { return now; }});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limiter.Acquire("k1"), 0) << i;
  EXPECT_EQ(limiter.Acquire("k1"), 1);  // empty: a token in 0.5 s, said as 1 s
  EXPECT_EQ(limiter.Acquire("k2"), 0);  // other keys have their own bucket
  now += 500;
  EXPECT_EQ(limiter.Acquire("k1"), 0);
  EXPECT_EQ(limiter.Acquire("k1"), 1);
  now += 10'000;  // refills up to the burst, not beyond
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limiter.Acquire("k1"), 0) << i;
  EXPECT_NE(limiter.Acquire("k1"), 0);
}

TEST(RateLimiterTest, SlowRatesGiveLongerWaits) {
  int64_t now = 0;
  RateLimiter limiter(
      {.per_second = 0.1, .burst = 1, .max_keys = 1000, .now_ms = [&] { return now; }});
  EXPECT_EQ(limiter.Acquire("k"), 0);
  EXPECT_EQ(limiter.Acquire("k"), 10);
}

TEST(RateLimiterTest, OffByDefault) {
  RateLimiter limiter({});
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(limiter.Acquire("k"), 0);
}

TEST(RateLimiterTest, ManyKeysStayBounded) {
  int64_t now = 0;
  RateLimiter limiter(
      {.per_second = 1, .burst = 1, .max_keys = 160, .now_ms = [&] { return now; }});
  for (int i = 0; i < 10'000; ++i) EXPECT_EQ(limiter.Acquire("key-" + std::to_string(i)), 0);
  // A key forgotten under pressure starts again with a full bucket: never a false 429.
  EXPECT_EQ(limiter.Acquire("key-9999"), 1);
}

}  // namespace
}  // namespace ca::api
