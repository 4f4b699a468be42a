#include "cache/lru_cache.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cache/cache.h"

namespace ca::cache {
namespace {

using std::chrono::milliseconds;
using Tags = std::vector<std::string>;

constexpr milliseconds kMinute{60'000};

class LruCacheTest : public ::testing::Test {
 protected:
  /// Options with the fake clock and `shards` shards of `shard_bytes` each.
  LruCacheOptions Options(size_t shards, size_t shard_bytes) {
    LruCacheOptions options;
    options.shards = shards;
    options.capacity_bytes = shards * shard_bytes;
    options.now_ms = [this] { return now_ms_.load(); };
    return options;
  }

  std::atomic<int64_t> now_ms_{1'000'000};
};

TEST_F(LruCacheTest, GetReturnsWhatWasPutAndCountsHitsAndMisses) {
  LruCache cache(Options(16, 1 << 20));
  EXPECT_EQ(cache.Get("a"), std::nullopt);
  cache.Put("a", "one", kMinute);
  cache.Put("b", std::string("t\0wo", 4), kMinute);
  EXPECT_EQ(cache.Get("a"), "one");
  EXPECT_EQ(cache.Get("b"), std::string("t\0wo", 4));
  EXPECT_EQ(cache.Get("c"), std::nullopt);

  Stats s = cache.stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.puts, 2u);
  EXPECT_EQ(s.entries, 2u);
  EXPECT_EQ(s.bytes, LruCache::Charge("a", 3, {}) + LruCache::Charge("b", 4, {}));
}

TEST_F(LruCacheTest, HitRatioIsHitsOverGets) {
  EXPECT_EQ(Stats{}.HitRatio(), 0.0);
  LruCache cache(Options(4, 1 << 20));
  cache.Put("k", "v", kMinute);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(cache.Get("k"));
  EXPECT_FALSE(cache.Get("other"));
  EXPECT_DOUBLE_EQ(cache.stats().HitRatio(), 0.75);
}

TEST_F(LruCacheTest, EntriesExpireAfterTheirTtl) {
  LruCache cache(Options(16, 1 << 20));
  Tags tags = {"t:x/u:1"};
  cache.Put("metrics", "m", kUserMetricsTtl, tags);
  cache.Put("dash", "d", kDashboardTtl);
  now_ms_ += 59'999;
  EXPECT_EQ(cache.Get("dash"), "d");
  now_ms_ += 1;
  EXPECT_EQ(cache.Get("dash"), std::nullopt);
  now_ms_ += 4 * 60'000 - 1;
  EXPECT_EQ(cache.Get("metrics"), "m");
  now_ms_ += 1;
  EXPECT_EQ(cache.Get("metrics"), std::nullopt);

  Stats s = cache.stats();
  EXPECT_EQ(s.expirations, 2u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_EQ(cache.tag_index_size().tags, 0u);
}

TEST_F(LruCacheTest, NonPositiveTtlStoresNothingAndDropsTheOldValue) {
  LruCache cache(Options(1, 1 << 20));
  cache.Put("k", "old", kMinute);
  cache.Put("k", "new", milliseconds(0));
  EXPECT_EQ(cache.Get("k"), std::nullopt);
  cache.Put("k", "new", milliseconds(-5));
  EXPECT_EQ(cache.Get("k"), std::nullopt);
  Stats s = cache.stats();
  EXPECT_EQ(s.puts, 1u);
  EXPECT_EQ(s.rejected, 2u);
  EXPECT_EQ(s.entries, 0u);
}

TEST_F(LruCacheTest, HugeTtlDoesNotOverflow) {
  LruCache cache(Options(1, 1 << 20));
  cache.Put("k", "v", milliseconds::max());
  now_ms_ += int64_t{1} << 40;
  EXPECT_EQ(cache.Get("k"), "v");
}

TEST_F(LruCacheTest, EvictsTheLeastRecentlyUsedNotTheOldest) {
  // One shard holding exactly three entries of this size.
  const size_t charge = LruCache::Charge("a", 100, {});
  LruCache cache(Options(1, 3 * charge));
  const std::string value(100, 'x');
  cache.Put("a", value, kMinute);
  cache.Put("b", value, kMinute);
  cache.Put("c", value, kMinute);
  EXPECT_EQ(cache.stats().evictions, 0u);
  ASSERT_TRUE(cache.Get("a"));  // "b" is now the least recently used
  cache.Put("d", value, kMinute);

  EXPECT_EQ(cache.Get("b"), std::nullopt);
  EXPECT_TRUE(cache.Get("a"));
  EXPECT_TRUE(cache.Get("c"));
  EXPECT_TRUE(cache.Get("d"));
  Stats s = cache.stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.entries, 3u);
  EXPECT_EQ(s.bytes, 3 * charge);
}

TEST_F(LruCacheTest, ALargeValueEvictsAsManyAsNeeded) {
  const size_t small = LruCache::Charge("a", 10, {});
  LruCache cache(Options(1, 10 * small));
  for (char c = 'a'; c < 'a' + 10; ++c) cache.Put(std::string(1, c), std::string(10, c), kMinute);
  EXPECT_EQ(cache.stats().entries, 10u);
  // Needs the room of three small entries: "a", "b" and "c" go.
  cache.Put("z", std::string(10 + 2 * small, 'z'), kMinute);
  EXPECT_EQ(cache.stats().evictions, 3u);
  EXPECT_FALSE(cache.Get("c"));
  EXPECT_TRUE(cache.Get("d"));
  EXPECT_TRUE(cache.Get("z"));
  EXPECT_LE(cache.stats().bytes, cache.shard_capacity_bytes());
}

TEST_F(LruCacheTest, ValuesLargerThanAShardAreNotStored) {
  LruCache cache(Options(4, 1000));
  EXPECT_EQ(cache.shard_capacity_bytes(), 1000u);
  cache.Put("k", "small", kMinute);
  cache.Put("k", std::string(1000, 'x'), kMinute);
  EXPECT_EQ(cache.Get("k"), std::nullopt);  // the old value is gone too
  Stats s = cache.stats();
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(s.puts, 1u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_EQ(s.evictions, 0u);
}

TEST_F(LruCacheTest, OverwriteReplacesSizeAndTags) {
  LruCache cache(Options(1, 1 << 20));
  Tags old_tags = {"old", "shared"};
  Tags new_tags = {"new", "shared", "new"};  // duplicates are ignored
  cache.Put("k", std::string(500, 'x'), kMinute, old_tags);
  EXPECT_EQ(cache.stats().bytes, LruCache::Charge("k", 500, old_tags));
  cache.Put("k", "short", kMinute, new_tags);

  Tags distinct = {"new", "shared"};
  Stats s = cache.stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, LruCache::Charge("k", 5, distinct));
  EXPECT_EQ(cache.tag_index_size().tags, 2u);
  EXPECT_EQ(cache.tag_index_size().links, 2u);

  cache.InvalidateTag("old");
  EXPECT_EQ(cache.Get("k"), "short");
  cache.InvalidateTag("new");
  EXPECT_EQ(cache.Get("k"), std::nullopt);
  EXPECT_EQ(cache.stats().invalidations, 1u);
  EXPECT_EQ(cache.tag_index_size().tags, 0u);
  EXPECT_EQ(cache.tag_index_size().links, 0u);
}

TEST_F(LruCacheTest, OverwriteRefreshesTheTtl) {
  LruCache cache(Options(1, 1 << 20));
  cache.Put("k", "1", kMinute);
  now_ms_ += 50'000;
  cache.Put("k", "2", kMinute);
  now_ms_ += 50'000;
  EXPECT_EQ(cache.Get("k"), "2");
}

TEST_F(LruCacheTest, InvalidateDropsOneKey) {
  LruCache cache(Options(16, 1 << 20));
  Tags tags = {"t"};
  cache.Put("a", "1", kMinute, tags);
  cache.Put("b", "2", kMinute, tags);
  cache.Invalidate("a");
  cache.Invalidate("missing");
  EXPECT_EQ(cache.Get("a"), std::nullopt);
  EXPECT_EQ(cache.Get("b"), "2");
  EXPECT_EQ(cache.stats().invalidations, 1u);
  EXPECT_EQ(cache.tag_index_size().links, 1u);
}

TEST_F(LruCacheTest, InvalidateTagDropsExactlyTheTaggedEntriesOfEveryShard) {
  LruCache cache(Options(16, 1 << 20));
  const std::string alice = UserTag("acme", "alice");
  const std::string bob = UserTag("acme", "bob");
  const std::string other_alice = UserTag("other", "alice");
  std::set<std::string> tagged_alice;
  for (int i = 0; i < 300; ++i) {
    std::string key = "key" + std::to_string(i);
    Tags tags;
    if (i % 3 == 0) tags.push_back(alice);
    if (i % 2 == 0) tags.push_back(bob);
    if (i % 5 == 0) tags.push_back(other_alice);
    if (i % 3 == 0) tagged_alice.insert(key);
    cache.Put(key, "v", kMinute, tags);
  }
  cache.InvalidateTag(alice);
  for (int i = 0; i < 300; ++i) {
    std::string key = "key" + std::to_string(i);
    EXPECT_EQ(cache.Get(key).has_value(), !tagged_alice.contains(key)) << key;
  }
  Stats s = cache.stats();
  EXPECT_EQ(s.invalidations, tagged_alice.size());
  EXPECT_EQ(s.entries, 300 - tagged_alice.size());
  // Keys 0..299 over 16 shards: alice's 100 keys cannot all be in one shard.
  EXPECT_GT(cache.tag_index_size().tags, 2u);

  cache.InvalidateTag(bob);
  cache.InvalidateTag(other_alice);
  cache.InvalidateTag("never used");
  // Left: i not divisible by 2, 3 or 5.
  EXPECT_EQ(cache.stats().entries, 80u);
  EXPECT_EQ(cache.tag_index_size().tags, 0u);
  EXPECT_EQ(cache.tag_index_size().links, 0u);
}

TEST_F(LruCacheTest, TagIndexOnlyHoldsTagsOfPresentEntries) {
  const size_t charge = LruCache::Charge("key0000", 10, Tags{"tag0000"});
  LruCache cache(Options(1, 10 * charge));
  char buf[16];
  for (int i = 0; i < 1000; ++i) {
    snprintf(buf, sizeof buf, "%04d", i);
    Tags tags = {std::string("tag") + buf};
    cache.Put(std::string("key") + buf, std::string(10, 'v'), kMinute, tags);
  }
  Stats s = cache.stats();
  EXPECT_EQ(s.entries, 10u);
  EXPECT_EQ(s.evictions, 990u);
  EXPECT_EQ(cache.tag_index_size().tags, 10u);
  EXPECT_EQ(cache.tag_index_size().links, 10u);

  // Expired entries leave the index when found expired.
  now_ms_ += kMinute.count();
  for (int i = 990; i < 995; ++i) {
    snprintf(buf, sizeof buf, "%04d", i);
    EXPECT_FALSE(cache.Get(std::string("key") + buf));
  }
  EXPECT_EQ(cache.tag_index_size().tags, 5u);
  EXPECT_EQ(cache.tag_index_size().links, 5u);
}

TEST_F(LruCacheTest, ShardCountIsRoundedUpToAPowerOfTwo) {
  LruCacheOptions options;
  options.shards = 5;
  options.capacity_bytes = 8000;
  LruCache cache(options);
  EXPECT_EQ(cache.shard_count(), 8u);
  EXPECT_EQ(cache.shard_capacity_bytes(), 1000u);
  options.shards = 0;
  EXPECT_EQ(LruCache(options).shard_count(), 1u);
  EXPECT_EQ(LruCache().shard_count(), 16u);
}

TEST_F(LruCacheTest, DefaultClockIsUsedWhenNoneIsGiven) {
  LruCache cache;
  cache.Put("k", "v", std::chrono::hours(1));
  EXPECT_EQ(cache.Get("k"), "v");
  cache.Put("gone", "v", milliseconds(1));
  std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(cache.Get("gone"), std::nullopt);
}

TEST_F(LruCacheTest, ConcurrentUseKeepsCountersAndIndexConsistent) {
  // Small enough that evictions happen too.
  LruCache cache(Options(4, 5'000));
  constexpr int kThreads = 4;
  constexpr int kOps = 20'000;
  std::atomic<uint64_t> gets{0};
  std::atomic<uint64_t> put_calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      uint64_t my_gets = 0;
      uint64_t my_puts = 0;
      uint32_t x = 12345u + static_cast<uint32_t>(t);
      for (int i = 0; i < kOps; ++i) {
        x = x * 1664525u + 1013904223u;
        uint32_t r = x >> 8;
        // Independent draws for the key, the user, the operation and the value.
        std::string key = "k" + std::to_string((r / 10) % 500);
        std::string user = UserTag("acme", std::to_string((r / 5000) % 20));
        switch (r % 10) {
          case 0:
            cache.InvalidateTag(user);
            break;
          case 1:
          case 2:
          case 3: {
            Tags tags = {user, TenantTag("acme")};
            cache.Put(key, std::string((r / 7) % 300, 'v'), milliseconds(1 + (r / 11) % 50), tags);
            ++my_puts;
            break;
          }
          default:
            cache.Get(key);
            ++my_gets;
        }
        if (t == 0 && i % 100 == 0) now_ms_ += 7;
      }
      gets += my_gets;
      put_calls += my_puts;
    });
  }
  for (std::thread& thread : threads) thread.join();

  Stats s = cache.stats();
  EXPECT_EQ(s.hits + s.misses, gets.load());
  EXPECT_EQ(s.puts + s.rejected, put_calls.load());
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.invalidations, 0u);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_GT(s.expirations, 0u);
  EXPECT_LE(s.bytes, 4u * 5'000u);
  EXPECT_LE(s.entries, 500u);

  // Every entry carries the tenant tag: invalidating it must empty the cache and its index.
  cache.InvalidateTag(TenantTag("acme"));
  Stats after = cache.stats();
  EXPECT_EQ(after.entries, 0u);
  EXPECT_EQ(after.bytes, 0u);
  EXPECT_EQ(after.invalidations, s.invalidations + s.entries);
  EXPECT_EQ(cache.tag_index_size().tags, 0u);
  EXPECT_EQ(cache.tag_index_size().links, 0u);
}

TEST(GetOrComputeTest, ComputesOnceCachesAndForgetsOnInvalidation) {
  LruCache cache;
  const std::string key = UserMetricsKey("acme", "alice", "week");
  std::array<std::string, 1> tags = {UserTag("acme", "alice")};
  int calls = 0;
  auto compute = [&]() -> Result<std::string> { return "answer" + std::to_string(++calls); };

  Result<std::string> first = GetOrCompute(cache, key, kUserMetricsTtl, tags, compute);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "answer1");
  EXPECT_EQ(*GetOrCompute(cache, key, kUserMetricsTtl, tags, compute), "answer1");
  EXPECT_EQ(calls, 1);

  cache.InvalidateTag(UserTag("acme", "alice"));
  EXPECT_EQ(*GetOrCompute(cache, key, kUserMetricsTtl, tags, compute), "answer2");
  EXPECT_EQ(calls, 2);
}

TEST(GetOrComputeTest, ErrorsAreReturnedAndNotCached) {
  LruCache cache;
  int calls = 0;
  auto failing = [&]() -> Result<std::string> {
    ++calls;
    return Unavailable("query threads busy");
  };
  Result<std::string> r = GetOrCompute(cache, "k", kMinute, {}, failing);
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  r = GetOrCompute(cache, "k", kMinute, {}, failing);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache.stats().puts, 0u);
  // A plain string is accepted as the result of a computation that cannot fail.
  EXPECT_EQ(*GetOrCompute(cache, "k", kMinute, {}, [] { return std::string("ok"); }), "ok");
  EXPECT_EQ(cache.Get("k"), "ok");
}

TEST(CacheKeysTest, KeysAndTagsNameTheTenant) {
  EXPECT_EQ(UserTag("acme", "alice"), "t:acme/u:alice");
  EXPECT_EQ(TenantTag("acme"), "t:acme");
  EXPECT_EQ(UserMetricsKey("acme", "alice", "week"), "user_metrics/t:acme/u:alice/p:week");
  EXPECT_EQ(DashboardKey("acme", "", "admin"), "dashboard/t:acme/u:/p:admin");
  EXPECT_EQ(TrendsKey("acme", "{\"x\":1}"), "trends/t:acme/p:{\"x\":1}");
  EXPECT_NE(UserMetricsKey("acme", "alice", "week"), UserMetricsKey("other", "alice", "week"));
  EXPECT_NE(UserTag("acme", "alice"), UserTag("other", "alice"));
}

TEST(CacheKeysTest, SeparatorsInsideValuesCannotForgeAnotherTenantsKey) {
  // Without escaping both would read "t:a/u:b/u:c".
  EXPECT_NE(UserTag("a", "b/u:c"), UserTag("a/u:b", "c"));
  EXPECT_EQ(UserTag("a", "b/u:c"), "t:a/u:b%2Fu:c");
  EXPECT_EQ(UserTag("a%2F", "x"), "t:a%252F/u:x");
  EXPECT_NE(TrendsKey("a", "x/p:y"), TrendsKey("a/p:x", "y"));
  EXPECT_NE(UserMetricsKey("a", "b", "c/d"), UserMetricsKey("a", "b/c", "d"));
  EXPECT_EQ(kUserMetricsTtl, std::chrono::minutes(5));
  EXPECT_EQ(kDashboardTtl, std::chrono::minutes(1));
  EXPECT_EQ(kTrendsTtl, std::chrono::hours(1));
}

}  // namespace
}  // namespace ca::cache
