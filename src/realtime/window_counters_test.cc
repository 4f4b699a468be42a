#include "realtime/window_counters.h"

#include <gtest/gtest.h>

#include <string>

namespace ca::realtime {
namespace {

constexpr int64_t kT0 = 1'750'000'000'000;  // a whole second

TEST(WindowCountersTest, UnknownTenantIsAllZeros) {
  WindowCounters w;
  WindowSnapshot s = w.Snapshot("nobody", kT0);
  EXPECT_EQ(s.events_last_minute, 0u);
  EXPECT_EQ(s.events_per_second, 0);
  EXPECT_EQ(s.active_users, 0u);
  EXPECT_EQ(s.per_second.size(), 60u);
}

TEST(WindowCountersTest, CountsPerSecondOverTheLastMinute) {
  WindowCounters w;
  // 20 events in each of the 10 seconds before kT0 + 10 s, 5 in the running second.
  for (int sec = 0; sec < 10; ++sec) {
    for (int i = 0; i < 20; ++i) w.Record("acme", "page_view", "", kT0 + sec * 1000 + i * 10);
  }
  for (int i = 0; i < 5; ++i) w.Record("acme", "job_view", "", kT0 + 10'000 + i);
  WindowSnapshot s = w.Snapshot("acme", kT0 + 10'500);
  EXPECT_EQ(s.events_last_minute, 205u);
  EXPECT_DOUBLE_EQ(s.events_per_second, 20.0);  // whole seconds only
  EXPECT_EQ(s.per_second.back(), 5u);
  EXPECT_EQ(s.per_second[58], 20u);
  ASSERT_EQ(s.types_last_minute.size(), 2u);
  EXPECT_EQ(s.types_last_minute[0], (std::pair<std::string, uint64_t>("page_view", 200)));
  EXPECT_EQ(s.types_last_minute[1], (std::pair<std::string, uint64_t>("job_view", 5)));
  // A minute later everything slid out; a bucket reused for a new second starts from zero.
  w.Record("acme", "page_view", "", kT0 + 70'000);
  s = w.Snapshot("acme", kT0 + 70'000);
  EXPECT_EQ(s.events_last_minute, 1u);
  EXPECT_EQ(s.per_second.back(), 1u);
  EXPECT_EQ(s.events_per_second, 0);
}

TEST(WindowCountersTest, TenantsAreSeparate) {
  WindowCounters w;
  w.Record("acme", "login", "u1", kT0);
  w.Record("globex", "login", "u1", kT0);
  w.Record("globex", "login", "u2", kT0);
  EXPECT_EQ(w.Snapshot("acme", kT0).active_users, 1u);
  EXPECT_EQ(w.Snapshot("globex", kT0).active_users, 2u);
  EXPECT_EQ(w.Snapshot("globex", kT0).events_last_minute, 2u);
}

TEST(WindowCountersTest, ActiveUsersAreDistinctOverFiveMinutes) {
  WindowCounters w;
  w.Record("acme", "login", "u1", kT0);
  w.Record("acme", "page_view", "u1", kT0 + 1000);
  w.Record("acme", "page_view", "u2", kT0 + 2 * 60'000);
  w.Record("acme", "page_view", "", kT0 + 2 * 60'000);  // anonymous: not a user
  EXPECT_EQ(w.Snapshot("acme", kT0 + 3 * 60'000).active_users, 2u);
  // u1 was last seen at kT0 + 1 s: gone 5 minutes later.
  EXPECT_EQ(w.Snapshot("acme", kT0 + 1000 + 5 * 60'000).active_users, 1u);
  EXPECT_EQ(w.Snapshot("acme", kT0 + 8 * 60'000).active_users, 0u);
}

TEST(WindowCountersTest, TrackedUsersAreCappedAndTheCountFlagged) {
  WindowCounters::Options options;
  options.max_users = 100;
  WindowCounters w(options);
  for (int i = 0; i < 250; ++i) w.Record("acme", "login", "u" + std::to_string(i), kT0 + i);
  WindowSnapshot s = w.Snapshot("acme", kT0 + 1000);
  EXPECT_EQ(s.active_users, 100u);
  EXPECT_TRUE(s.active_users_capped);
  // Once the window passed, the set empties and the flag clears.
  s = w.Snapshot("acme", kT0 + 6 * 60'000);
  EXPECT_EQ(s.active_users, 0u);
  EXPECT_FALSE(s.active_users_capped);
}

TEST(WindowCountersTest, TypesAreCappedWithTheRestAsOther) {
  WindowCounters::Options options;
  options.max_types = 4;
  WindowCounters w(options);
  for (int i = 0; i < 10; ++i) w.Record("acme", "t" + std::to_string(i), "", kT0);
  WindowSnapshot s = w.Snapshot("acme", kT0);
  ASSERT_EQ(s.types_last_minute.size(), 4u);
  EXPECT_EQ(s.types_last_minute[0], (std::pair<std::string, uint64_t>("other", 7)));
}

TEST(WindowCountersTest, TenantsAreCapped) {
  WindowCounters::Options options;
  options.max_tenants = 2;
  WindowCounters w(options);
  w.Record("a", "x", "", kT0);
  w.Record("b", "x", "", kT0);
  w.Record("c", "x", "", kT0);
  EXPECT_EQ(w.Snapshot("b", kT0).events_last_minute, 1u);
  EXPECT_EQ(w.Snapshot("c", kT0).events_last_minute, 0u);
}

}  // namespace
}  // namespace ca::realtime
