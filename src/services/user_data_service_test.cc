#include "services/user_data_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>

#include "batch/rollup_updater.h"
#include "event/event_codec.h"
#include "services/ingest_rules_service.h"
#include "services/wal_store_state_test.h"
#include "state/sqlite_state_store.h"
#include "store/event_store.h"
#include "wal/wal_test_util.h"

namespace ca::services {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr int64_t kT0 = 20'000 * kDayMs;  // 2024-10-04, a whole day

// The WAL, the event store reading it, the SQLite state store and the rollups following the WAL
// (started), in a temporary directory: what a deletion reaches in the server.
class UserDataServiceTest : public WalStoreStateTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenWalStoreState({"acme"}));
    rollups_ = std::move(batch::RollupUpdater::Open(wal_options_, wal_.get(), state_.get(),
                                                    store_.get(), {}, nullptr))
                   .value();
    rollups_->Start();
  }

  void TearDown() override {
    EXPECT_TRUE(rollups_->Stop().ok());
    CloseWalStoreState();
  }

  // Appends one job_apply of `user`, received at `received_at_ms`, and returns the end LSN.
  wal::Lsn Append(const std::string& user, int64_t received_at_ms) {
    event::Event e;
    e.tenant = "acme";
    e.event_id = "ev-" + std::to_string(next_id_++);
    e.type = "job_apply";
    e.user_id = user;
    e.timestamp_ms = received_at_ms;
    e.received_at_ms = received_at_ms;
    e.properties_json = R"({"job_id":"j1"})";
    std::string payload;
    event::EncodeEvent(e, &payload);
    wal::Lsn end = 0;
    EXPECT_TRUE(wal::testing::AppendAndWait(wal_.get(), {payload}, &end).ok());
    return end;
  }

  // The events of `user` that reads see.
  size_t VisibleEvents(const std::string& user) {
    EXPECT_TRUE(store_->WaitApplied(wal_->appended_lsn(), 5000).ok());
    auto snapshot = store_->Snapshot("acme");
    auto id = snapshot->Lookup(store::Column::kUser, user);
    if (!id || *id == 0) return 0;
    size_t n = 0;
    store::ScanRequest request{0, INT64_MAX, store::ColumnSet{store::Column::kUser}, *id};
    EXPECT_TRUE(snapshot
                    ->Scan(request,
                           [&](const store::ColumnBatch& b) {
                             for (uint32_t u : b.Ids(store::Column::kUser)) n += u == *id;
                             return Status::Ok();
                           })
                    .ok());
    return n;
  }

  size_t RollupRows(const std::string& user) {
    EXPECT_TRUE(rollups_->WaitPosition(wal_->appended_lsn(), 5000).ok());
    auto rows = state_->ListDailyUserMetrics("acme", user, 0, 1'000'000);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? rows->size() : 0;
  }

  std::unique_ptr<batch::RollupUpdater> rollups_;
  int next_id_ = 0;
};

// The race of an ingest request with a deletion of its user: the request checks its event
// against the suppression list from before the deletion, the deletion begins (the delete
// request's time is before the event's), and only then is the event appended. The deletion must
// wait for that request and mask its event, and no rollup row of the user may stay.
TEST_F(UserDataServiceTest, AnEventCheckedBeforeTheDeletionIsMaskedWithTheRest) {
  IngestRulesService rules(state_.get(), ingest::PrivacyOptions());
  int64_t clock = kT0 + 3000;
  UserDataService::Parts parts;
  parts.store = store_.get();
  parts.state = state_.get();
  parts.rollups = rollups_.get();
  parts.wal = wal_.get();
  parts.on_suppressed = [&](const std::string& tenant) {
    return rules.InvalidateAndDrain(tenant, 10'000);
  };
  parts.now_ms = [&] { return clock; };
  UserDataService users(parts);

  Append("u1", kT0);
  Append("u2", kT0);
  ASSERT_EQ(VisibleEvents("u1"), 1u);
  ASSERT_EQ(RollupRows("u1"), 1u);

  // An ingest request of u1 reads the rules: u1 is not suppressed yet.
  std::optional<ingest::IngestFence::Ticket> request(rules.Enter());
  auto old_rules = rules.ForTenant("acme");
  ASSERT_TRUE(old_rules.ok());
  ASSERT_EQ((*old_rules)->rules.suppressed_users, nullptr);

  auto deletion =
      std::async(std::launch::async, [&] { return users.Delete("acme", "u1", kT0 + 1000); });
  EXPECT_EQ(deletion.wait_for(200ms), std::future_status::timeout)
      << "the deletion did not wait for the request that read the old rules";
  Append("u1", kT0 + 2000);  // the request appends its event and leaves
  request.reset();
  ASSERT_EQ(deletion.wait_for(10s), std::future_status::ready);
  auto receipt = deletion.get();
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  EXPECT_EQ((*receipt)["suppressed"], true);

  EXPECT_EQ(VisibleEvents("u1"), 0u);
  EXPECT_EQ(RollupRows("u1"), 0u);
  EXPECT_EQ(VisibleEvents("u2"), 1u);  // nobody else's
  EXPECT_EQ(RollupRows("u2"), 1u);
  // New requests see the suppression.
  auto new_rules = rules.ForTenant("acme");
  ASSERT_TRUE(new_rules.ok());
  ASSERT_NE((*new_rules)->rules.suppressed_users, nullptr);
  EXPECT_EQ((*new_rules)->rules.suppressed_users->count("u1"), 1u);
}

TEST_F(UserDataServiceTest, ADeletionThatCannotWaitForTheRequestsBeforeItFails) {
  IngestRulesService rules(state_.get(), ingest::PrivacyOptions());
  UserDataService::Parts parts;
  parts.store = store_.get();
  parts.state = state_.get();
  parts.on_suppressed = [&](const std::string& tenant) {
    return rules.InvalidateAndDrain(tenant, 50);
  };
  UserDataService users(parts);
  Append("u1", kT0);
  {
    ingest::IngestFence::Ticket stuck = rules.Enter();
    auto receipt = users.Delete("acme", "u1", kT0 + 1000);
    ASSERT_FALSE(receipt.ok());
    EXPECT_EQ(receipt.status().code(), ErrorCode::kUnavailable);
  }
  // Retried once the request is gone, it completes.
  auto receipt = users.Delete("acme", "u1", kT0 + 1000);
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  EXPECT_EQ(VisibleEvents("u1"), 0u);
}

}  // namespace
}  // namespace ca::services
