#include "state/key_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "state/api_key.h"
#include "state/sqlite_state_store.h"

namespace ca::state {
namespace {

/// A StateStore that only answers LookupKey, from a map, counting calls.
class FakeStore : public StateStore {
 public:
  Result<Tenant> GetOrCreateTenant(std::string_view) override { return Internal("unused"); }
  Result<std::optional<Tenant>> FindTenant(std::string_view) override { return Internal("unused"); }
  Result<std::vector<Tenant>> ListTenants() override { return Internal("unused"); }
  Status SetTenantRetention(std::string_view, int) override { return Internal("unused"); }
  Result<CreatedKeys> CreateKeys(std::string_view) override { return Internal("unused"); }
  Status SetAllowedOrigins(std::string_view, const std::vector<std::string>&) override {
    return Internal("unused");
  }
  Status AddDeadLetters(std::string_view, const std::vector<DeadLetter>&, uint64_t) override {
    return Internal("unused");
  }
  Result<std::vector<DeadLetter>> ListDeadLetters(std::string_view, int64_t, size_t) override {
    return Internal("unused");
  }
  Result<uint64_t> CountDeadLetters(std::string_view) override { return Internal("unused"); }
  Status DeleteDeadLetters(std::string_view, const std::vector<int64_t>&) override {
    return Internal("unused");
  }
  Status AddCustomEventType(std::string_view, const CustomEventTypeRow&) override {
    return Internal("unused");
  }
  Result<std::vector<CustomEventTypeRow>> ListCustomEventTypes(std::string_view) override {
    return Internal("unused");
  }
  Status SetIngestPolicy(std::string_view, const IngestPolicy&) override {
    return Internal("unused");
  }
  Status SuppressUsers(std::string_view, const std::vector<std::string>&, int64_t) override {
    return Internal("unused");
  }
  Result<std::vector<std::string>> ListSuppressedUsers(std::string_view) override {
    return Internal("unused");
  }
  Status MarkRecomputeDays(std::string_view, const std::vector<int64_t>&, int64_t) override {
    return Internal("unused");
  }
  Result<std::vector<int64_t>> ListRecomputeDays(std::string_view) override {
    return Internal("unused");
  }
  Status MergeUserTraits(std::string_view, std::string_view, std::string_view, int64_t) override {
    return Internal("unused");
  }
  Result<std::optional<std::string>> GetUserTraits(std::string_view, std::string_view) override {
    return Internal("unused");
  }
  Status ForgetUser(std::string_view, std::string_view) override { return Internal("unused"); }
  Status AddRollups(std::string_view, int64_t, const std::vector<DailyUserMetricsRow>&,
                    const std::vector<UserActivityRow>&) override {
    return Internal("unused");
  }
  Status AddUserActivity(const std::vector<UserActivityRow>&) override {
    return Internal("unused");
  }
  Result<std::vector<UserActivityRow>> ListUserActivity(std::string_view, std::string_view, int64_t,
                                                        int64_t, size_t) override {
    return Internal("unused");
  }
  Result<int64_t> PruneUserActivity(int64_t) override { return Internal("unused"); }
  Result<std::optional<int64_t>> ConsumerPosition(std::string_view) override {
    return Internal("unused");
  }
  Result<std::vector<DailyUserMetricsRow>> ListDailyUserMetrics(std::string_view, std::string_view,
                                                                int64_t, int64_t) override {
    return Internal("unused");
  }
  Result<std::vector<DailyUserMetricsRow>> ListWeeklyUserMetrics(std::string_view, std::string_view,
                                                                 int64_t, int64_t) override {
    return Internal("unused");
  }
  Status ReplaceDailyUserMetrics(std::string_view, int64_t,
                                 const std::vector<DailyUserMetricsRow>&) override {
    return Internal("unused");
  }
  Status UpsertMarketTrends(std::string_view, const std::vector<MarketTrendRow>&) override {
    return Internal("unused");
  }
  Result<std::vector<MarketTrendRow>> ListMarketTrends(std::string_view, std::string_view,
                                                       std::string_view, int64_t,
                                                       int64_t) override {
    return Internal("unused");
  }
  Status RecordJobRun(std::string_view, const JobRunRow&) override { return Internal("unused"); }
  Result<std::vector<JobRunRow>> ListJobRuns(std::string_view, size_t) override {
    return Internal("unused");
  }
  Status UpsertExternalValues(std::string_view, ExternalSeries,
                              const std::vector<ExternalValueRow>&) override {
    return Internal("unused");
  }
  Result<std::vector<ExternalValueRow>> ListExternalValues(std::string_view, ExternalSeries,
                                                           std::string_view, std::string_view,
                                                           int64_t, int64_t) override {
    return Internal("unused");
  }
  Status CreateExportJob(const ExportJobRow&) override { return Internal("unused"); }
  Status UpdateExportJob(const ExportJobRow&) override { return Internal("unused"); }
  Result<std::optional<ExportJobRow>> GetExportJob(std::string_view, std::string_view) override {
    return Internal("unused");
  }
  Result<std::vector<ExportJobRow>> ListExportJobs(std::string_view) override {
    return Internal("unused");
  }
  Status DeleteExportJob(std::string_view, std::string_view) override { return Internal("unused"); }

  Result<std::optional<KeyMatch>> LookupKey(std::string_view key) override {
    calls.fetch_add(1);
    if (fail) return Unavailable("database locked");
    std::lock_guard lock(mu);
    auto it = keys.find(std::string(key));
    if (it == keys.end()) return std::optional<KeyMatch>();
    return std::optional<KeyMatch>(it->second);
  }

  void Add(const std::string& key, KeyMatch match) {
    std::lock_guard lock(mu);
    keys[key] = std::move(match);
  }
  void Remove(const std::string& key) {
    std::lock_guard lock(mu);
    keys.erase(key);
  }

  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  std::mutex mu;
  std::map<std::string, KeyMatch> keys;
};

class KeyCacheTest : public ::testing::Test {
 protected:
  KeyCacheOptions Options() {
    KeyCacheOptions options;
    options.now_ms = [this] { return now_ms_.load(); };
    return options;
  }

  FakeStore store_;
  std::atomic<int64_t> now_ms_{1'000'000};
};

TEST_F(KeyCacheTest, PositiveLookupsAreCachedUntilTtl) {
  std::string key = GenerateApiKey(KeyKind::kWrite);
  store_.Add(key, {7, "acme", KeyKind::kWrite});
  KeyCache cache(&store_, Options());
  for (int i = 0; i < 10; ++i) {
    auto match = cache.Lookup(key);
    ASSERT_TRUE(match.ok());
    ASSERT_TRUE(match->has_value());
    EXPECT_EQ(**match, (KeyMatch{7, "acme", KeyKind::kWrite}));
  }
  EXPECT_EQ(store_.calls.load(), 1);
  EXPECT_EQ(cache.hits(), 9u);
  EXPECT_EQ(cache.store_lookups(), 1u);

  // Revoked in the store: still served until the positive TTL passes, then gone.
  store_.Remove(key);
  now_ms_ += 59'999;
  EXPECT_TRUE(cache.Lookup(key)->has_value());
  EXPECT_EQ(store_.calls.load(), 1);
  now_ms_ += 1;
  EXPECT_FALSE(cache.Lookup(key)->has_value());
  EXPECT_EQ(store_.calls.load(), 2);
}

TEST_F(KeyCacheTest, NegativeLookupsAreCachedBriefly) {
  std::string key = GenerateApiKey(KeyKind::kSecret);
  KeyCache cache(&store_, Options());
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(cache.Lookup(key)->has_value());
  EXPECT_EQ(store_.calls.load(), 1);

  // The CLI creates the key: found once the negative entry expires (1 s).
  store_.Add(key, {3, "globex", KeyKind::kSecret});
  now_ms_ += 999;
  EXPECT_FALSE(cache.Lookup(key)->has_value());
  now_ms_ += 1;
  auto match = cache.Lookup(key);
  ASSERT_TRUE(match.ok());
  ASSERT_TRUE(match->has_value());
  EXPECT_EQ((*match)->tenant, "globex");
  EXPECT_EQ(store_.calls.load(), 2);
}

TEST_F(KeyCacheTest, MalformedKeysNeverReachTheStore) {
  KeyCache cache(&store_, Options());
  for (const char* key : {"", "nope", "caw_short", "Bearer caw_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}) {
    auto match = cache.Lookup(key);
    ASSERT_TRUE(match.ok());
    EXPECT_FALSE(match->has_value());
  }
  EXPECT_EQ(store_.calls.load(), 0);
}

TEST_F(KeyCacheTest, NegativeEntriesAreBounded) {
  KeyCacheOptions options = Options();
  options.max_negative_entries = 8;
  KeyCache cache(&store_, options);
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) keys.push_back(GenerateApiKey(KeyKind::kWrite));
  for (const auto& key : keys) EXPECT_FALSE(cache.Lookup(key)->has_value());
  EXPECT_EQ(store_.calls.load(), 20);
  // 20 inserts with a bound of 8: the map was emptied twice and holds the last 4 keys.
  for (size_t i = 16; i < 20; ++i) EXPECT_FALSE(cache.Lookup(keys[i])->has_value());
  EXPECT_EQ(store_.calls.load(), 20);
  EXPECT_FALSE(cache.Lookup(keys[0])->has_value());
  EXPECT_EQ(store_.calls.load(), 21);
}

TEST_F(KeyCacheTest, StoreErrorsAreReturnedAndNotCached) {
  std::string key = GenerateApiKey(KeyKind::kWrite);
  store_.Add(key, {1, "acme", KeyKind::kWrite});
  KeyCache cache(&store_, Options());
  store_.fail = true;
  EXPECT_EQ(cache.Lookup(key).status().code(), ErrorCode::kUnavailable);
  store_.fail = false;
  EXPECT_TRUE(cache.Lookup(key)->has_value());
  EXPECT_EQ(store_.calls.load(), 2);
}

TEST_F(KeyCacheTest, ClearForgetsEverything) {
  std::string key = GenerateApiKey(KeyKind::kWrite);
  store_.Add(key, {1, "acme", KeyKind::kWrite});
  KeyCache cache(&store_, Options());
  EXPECT_TRUE(cache.Lookup(key)->has_value());
  store_.Remove(key);
  cache.Clear();
  EXPECT_FALSE(cache.Lookup(key)->has_value());
  EXPECT_EQ(store_.calls.load(), 2);
}

TEST_F(KeyCacheTest, ConcurrentLookupsAgree) {
  std::vector<std::string> good, bad;
  for (int i = 0; i < 16; ++i) {
    good.push_back(GenerateApiKey(KeyKind::kWrite));
    store_.Add(good.back(), {i, "t" + std::to_string(i), KeyKind::kWrite});
    bad.push_back(GenerateApiKey(KeyKind::kSecret));
  }
  KeyCache cache(&store_, Options());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        size_t i = (round + t) % good.size();
        auto ok = cache.Lookup(good[i]);
        if (!ok.ok() || !ok->has_value() || (*ok)->tenant_id != static_cast<int64_t>(i)) ++wrong;
        auto no = cache.Lookup(bad[i]);
        if (!no.ok() || no->has_value()) ++wrong;
        if (round % 50 == 0) now_ms_ += 500;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LT(store_.calls.load(), 4 * 200 * 2);
}

TEST(KeyCacheSqliteTest, FindsKeyCreatedByAnotherConnection) {
  std::string dir = ::testing::TempDir() + "key_cache_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::string path = dir + "/state.db";
  {
    auto server = OpenSqliteStateStore(path);
    ASSERT_TRUE(server.ok());
    std::atomic<int64_t> now{0};
    KeyCacheOptions options;
    options.now_ms = [&now] { return now.load(); };
    KeyCache cache(server->get(), options);

    auto cli = OpenSqliteStateStore(path);
    ASSERT_TRUE(cli.ok());
    auto keys = (*cli)->CreateKeys("acme");
    ASSERT_TRUE(keys.ok());
    auto match = cache.Lookup(keys->write_key);
    ASSERT_TRUE(match.ok());
    ASSERT_TRUE(match->has_value());
    EXPECT_EQ((*match)->kind, KeyKind::kWrite);
    std::string altered = keys->write_key;
    altered.back() = altered.back() == 'A' ? 'B' : 'A';
    EXPECT_FALSE(cache.Lookup(altered)->has_value());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ca::state
