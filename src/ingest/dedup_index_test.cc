#include "ingest/dedup_index.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace ca::ingest {
namespace {

constexpr int64_t kMinute = 60000;
constexpr int64_t kDay = 24 * 60 * kMinute;
constexpr int64_t kT0 = 1795838410123;  // 2026-11-28

TEST(DedupIndexTest, DetectsDuplicatesPerTenant) {
  DedupIndex idx;
  EXPECT_FALSE(idx.CheckAndInsert("acme", "e1", kT0));
  EXPECT_TRUE(idx.CheckAndInsert("acme", "e1", kT0 + 1000));
  EXPECT_FALSE(idx.CheckAndInsert("other", "e1", kT0));
  EXPECT_FALSE(idx.CheckAndInsert("acme", "e2", kT0));
  // The separator keeps ("ab", "c") and ("a", "bc") apart.
  EXPECT_FALSE(idx.CheckAndInsert("ab", "c", kT0));
  EXPECT_FALSE(idx.CheckAndInsert("a", "bc", kT0));
  EXPECT_EQ(idx.size(), 5u);
}

TEST(DedupIndexTest, EraseUndoesInsert) {
  DedupIndex idx;
  EXPECT_FALSE(idx.CheckAndInsert("t", "e1", kT0));
  idx.Erase("t", "e1");
  EXPECT_EQ(idx.size(), 0u);
  EXPECT_FALSE(idx.CheckAndInsert("t", "e1", kT0));
  EXPECT_TRUE(idx.CheckAndInsert("t", "e1", kT0));
  idx.Erase("t", "missing");  // no-op
  EXPECT_EQ(idx.size(), 1u);
}

TEST(DedupIndexTest, WindowAndExpiry) {
  DedupIndex idx(7 * kDay);
  EXPECT_FALSE(idx.CheckAndInsert("t", "old", kT0));
  EXPECT_FALSE(idx.CheckAndInsert("t", "new", kT0 + 3 * kDay));
  EXPECT_TRUE(idx.CheckAndInsert("t", "old", kT0 + 7 * kDay - 2 * kMinute));
  // Past the window (plus the minute granularity), the old id is a first sighting again.
  EXPECT_FALSE(idx.CheckAndInsert("t", "old", kT0 + 7 * kDay + 2 * kMinute));
  EXPECT_TRUE(idx.CheckAndInsert("t", "old", kT0 + 7 * kDay + 3 * kMinute));

  DedupIndex idx2(7 * kDay);
  EXPECT_FALSE(idx2.CheckAndInsert("t", "a", kT0));
  EXPECT_FALSE(idx2.CheckAndInsert("t", "b", kT0 + 3 * kDay));
  idx2.ExpireOlderThan(kT0 + 7 * kDay - kMinute);  // nothing is old enough yet
  EXPECT_EQ(idx2.size(), 2u);
  idx2.ExpireOlderThan(kT0 + 7 * kDay + 2 * kMinute);
  EXPECT_EQ(idx2.size(), 1u);
  EXPECT_FALSE(idx2.CheckAndInsert("t", "a", kT0 + 7 * kDay + 2 * kMinute));
  EXPECT_TRUE(idx2.CheckAndInsert("t", "b", kT0 + 7 * kDay + 2 * kMinute));
}

TEST(DedupIndexTest, InsertForRebuildKeepsLatestTime) {
  DedupIndex idx(kDay);
  idx.Insert("t", "e", kT0 + kDay);
  idx.Insert("t", "e", kT0);  // older record replayed later: the later sighting stays
  EXPECT_EQ(idx.size(), 1u);
  EXPECT_TRUE(idx.CheckAndInsert("t", "e", kT0 + kDay + 10 * kMinute));
}

TEST(DedupIndexTest, GrowthAndMemoryPerId) {
  DedupIndex idx;
  size_t initial = idx.capacity();
  constexpr int kN = 200000;
  for (int i = 0; i < kN; ++i) {
    ASSERT_FALSE(idx.CheckAndInsert("tenant", "id-" + std::to_string(i), kT0));
  }
  EXPECT_EQ(idx.size(), static_cast<size_t>(kN));
  EXPECT_GT(idx.capacity(), initial);
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(idx.CheckAndInsert("tenant", "id-" + std::to_string(i), kT0)) << i;
  }
  double per_id = static_cast<double>(idx.memory_bytes()) / kN;
  EXPECT_LE(per_id, 40.0);
  std::printf("dedup index: %d ids, %zu slots, %.1f bytes per id\n", kN, idx.capacity(), per_id);
}

TEST(DedupIndexTest, ExpiryShrinksTable) {
  DedupIndex idx(kDay);
  for (int i = 0; i < 10000; ++i) idx.Insert("t", std::to_string(i), kT0);
  for (int i = 0; i < 10; ++i) idx.Insert("t", "fresh" + std::to_string(i), kT0 + kDay);
  size_t big = idx.capacity();
  idx.ExpireOlderThan(kT0 + kDay + 5 * kMinute);
  EXPECT_EQ(idx.size(), 10u);
  EXPECT_LT(idx.capacity(), big);
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(idx.CheckAndInsert("t", "fresh" + std::to_string(i), kT0 + kDay));
  EXPECT_FALSE(idx.CheckAndInsert("t", "5", kT0 + kDay));
}

// Random operations against a reference model (id -> first-seen minute).
TEST(DedupIndexTest, RandomizedAgainstReference) {
  std::mt19937_64 rng(12345);
  DedupIndex idx(60 * kMinute);
  std::unordered_map<std::string, int64_t> ref;  // key -> first-seen minute
  std::unordered_set<std::string> keys_seen;
  int64_t now = kT0 - kT0 % kMinute;
  for (int step = 0; step < 300000; ++step) {
    std::string id = std::to_string(rng() % 5000);
    std::string tenant = (rng() % 2) ? "a" : "b";
    std::string key = tenant + '/' + id;
    int op = static_cast<int>(rng() % 100);
    if (op < 70) {
      auto it = ref.find(key);
      bool expect_dup = it != ref.end() && (now / kMinute - it->second) * kMinute < 60 * kMinute;
      ASSERT_EQ(idx.CheckAndInsert(tenant, id, now), expect_dup) << step;
      if (!expect_dup) ref[key] = now / kMinute;
    } else if (op < 90) {
      idx.Erase(tenant, id);
      ref.erase(key);
    } else if (op < 99) {
      now += kMinute * static_cast<int64_t>(rng() % 3);
    } else {
      idx.ExpireOlderThan(now);
      for (auto it = ref.begin(); it != ref.end();) {
        // Expired when first seen strictly before the minute of (now - window).
        if (it->second < (now - 60 * kMinute) / kMinute) {
          it = ref.erase(it);
        } else {
          ++it;
        }
      }
    }
    ASSERT_EQ(idx.size(), ref.size()) << step;
  }
}

}  // namespace
}  // namespace ca::ingest

namespace ca::ingest {
namespace {

TEST(DedupIndexTest, TrimToDropsTheOldestMinutesFirst) {
  DedupIndex index;
  const int64_t t0 = 1'795'000'020'000 / 60000 * 60000;  // on a minute boundary
  for (int minute = 0; minute < 3; ++minute) {
    for (int i = 0; i < 1000; ++i) {
      index.Insert("acme", std::to_string(minute) + "-" + std::to_string(i), t0 + minute * 60000);
    }
  }
  EXPECT_EQ(index.TrimTo(5000), -1);
  EXPECT_EQ(index.size(), 3000u);
  // 1500 allowed: the first two minutes must go (dropping only the first leaves 2000).
  EXPECT_EQ(index.TrimTo(1500), t0 + 2 * 60000);
  EXPECT_EQ(index.size(), 1000u);
  EXPECT_FALSE(index.CheckAndInsert("acme", "0-1", t0 + 3 * 60000));  // forgotten: new again
  EXPECT_TRUE(index.CheckAndInsert("acme", "2-1", t0 + 3 * 60000));   // still known
}

}  // namespace
}  // namespace ca::ingest
