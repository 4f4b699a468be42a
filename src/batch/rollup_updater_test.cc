#include "batch/rollup_updater.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "batch/daily_metrics.h"
#include "batch/state_job_run_store.h"
#include "event/event_codec.h"
#include "state/sqlite_state_store.h"
#include "wal/wal_test_util.h"

namespace ca::batch {
namespace {

using state::DailyUserMetricsRow;
using state::UserDayMetrics;
using wal::testing::TempDir;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr int64_t kDay0 = 20'000;  // 2024-10-04

struct Spec {
  const char* type;
  const char* user;
  int day;  // offset from kDay0
  const char* properties = "{}";
};

// A day of two users, with events that count and events that do not.
const std::vector<Spec> kEvents = {
    {"page_view", "u1", 0},
    {"page_view", "u1", 0},
    {"job_view", "u1", 0, R"({"job_id":"j1"})"},
    {"job_save", "u1", 0, R"({"job_id":"j1"})"},
    {"job_apply", "u1", 0, R"({"job_id":"j1","application_id":"a1"})"},
    {"application_status_changed", "u1", 1, R"({"application_id":"a1","status":"screening"})"},
    {"application_status_changed", "u1", 1, R"({"application_id":"a1","status":"withdrawn"})"},
    {"interview_scheduled", "u1", 1, R"({"application_id":"a1"})"},
    {"offer_received", "u1", 1, R"({"application_id":"a1"})"},
    {"time_spent", "u2", 0, R"({"seconds":30.5})"},
    {"time_spent", "u2", 0, R"({"seconds":12})"},
    {"search", "u2", 0, R"({"query":"data"})"},
    {"page_view", "", 0},  // anonymous: no user day
};

// What kEvents, sent `times` times with distinct ids, add up to.
std::vector<DailyUserMetricsRow> Expected(int times) {
  std::vector<DailyUserMetricsRow> rows;
  UserDayMetrics u1d0;
  u1d0.page_views = 2 * times;
  u1d0.job_views = times;
  u1d0.saves = times;
  u1d0.applications = times;
  UserDayMetrics u2d0;
  u2d0.seconds_spent = 42.5 * times;
  UserDayMetrics u1d1;
  u1d1.responses = times;
  u1d1.interviews = times;
  u1d1.offers = times;
  rows.push_back({"acme", "u1", kDay0, u1d0});
  rows.push_back({"acme", "u2", kDay0, u2d0});
  rows.push_back({"acme", "u1", kDay0 + 1, u1d1});
  return rows;
}

class RollupUpdaterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    wal_options_.dir = dir_.path() + "/wal";
    wal_options_.sync = wal::SyncMode::kAlways;
    wal_options_.segment_bytes = 16 << 10;
    store_options_.dir = dir_.path() + "/store";
    store_options_.poll_interval_ms = 5;
    auto state = state::OpenSqliteStateStore(dir_.path() + "/state.db");
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    state_ = std::move(*state);
    ASSERT_TRUE(state_->GetOrCreateTenant("acme").ok());
    auto w = wal::Wal::Open(wal_options_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    wal_ = std::move(*w);
    auto s = store::EventStore::Open(store_options_, wal_options_, wal_.get());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Start().ok());
  }

  void TearDown() override {
    if (updater_) {
      EXPECT_TRUE(updater_->Stop().ok());
    }
    updater_.reset();
    EXPECT_TRUE(store_->Close().ok());
    EXPECT_TRUE(wal_->Close().ok());
  }

  void OpenUpdater() {
    auto u = RollupUpdater::Open(wal_options_, wal_.get(), state_.get(), store_.get(), {},
                                 [this](const auto& users) {
                                   std::lock_guard lock(mu_);
                                   for (const auto& u : users) flushed_users_.insert(u.second);
                                 });
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    updater_ = std::move(*u);
  }

  // Appends kEvents (ids from `first_id`) and waits until the event store has them.
  wal::Lsn Send(int first_id) {
    std::vector<std::string> payloads;
    int id = first_id;
    for (const Spec& spec : kEvents) {
      event::Event e;
      e.tenant = "acme";
      e.event_id = "ev-" + std::to_string(id++);
      e.type = spec.type;
      e.user_id = spec.user;
      if (e.user_id.empty()) e.anonymous_id = "anon-1";
      e.timestamp_ms = (kDay0 + spec.day) * kDayMs + 3600 * 1000 + id;
      e.received_at_ms = e.timestamp_ms;
      e.properties_json = spec.properties;
      payloads.emplace_back();
      event::EncodeEvent(e, &payloads.back());
    }
    std::vector<std::string_view> views(payloads.begin(), payloads.end());
    wal::Lsn end = 0;
    EXPECT_TRUE(wal::testing::AppendAndWait(wal_.get(), views, &end).ok());
    EXPECT_TRUE(store_->WaitApplied(end, 5000).ok());
    return end;
  }

  std::vector<DailyUserMetricsRow> Rows() {
    auto rows = state_->ListDailyUserMetrics("acme", "", kDay0 - 10, kDay0 + 10);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<DailyUserMetricsRow>{};
  }

  // Rows ordered as ListDailyUserMetrics orders them (day, then user).
  static std::vector<DailyUserMetricsRow> Sorted(std::vector<DailyUserMetricsRow> rows) {
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return std::tie(a.day, a.user_id) < std::tie(b.day, b.user_id);
    });
    return rows;
  }

  TempDir dir_;
  wal::Options wal_options_;
  store::StoreOptions store_options_;
  std::unique_ptr<state::StateStore> state_;
  std::unique_ptr<wal::Wal> wal_;
  std::unique_ptr<store::EventStore> store_;
  std::unique_ptr<RollupUpdater> updater_;
  std::mutex mu_;
  std::set<std::string> flushed_users_;
};

TEST(DailyMetricsTest, CountsWhatTheMetricsEndpointCounts) {
  UserDayMetrics m;
  EXPECT_TRUE(CountEvent("page_view", "", NAN, &m));
  EXPECT_TRUE(CountEvent("application_status_changed", "offer", NAN, &m));
  EXPECT_FALSE(CountEvent("application_status_changed", "ghosted", NAN, &m));
  EXPECT_FALSE(CountEvent("application_status_changed", "applied", NAN, &m));
  EXPECT_FALSE(CountEvent("time_spent", "", NAN, &m));
  EXPECT_TRUE(CountEvent("time_spent", "", 4, &m));
  EXPECT_FALSE(CountEvent("button_click", "", NAN, &m));
  UserDayMetrics expected;
  expected.page_views = 1;
  expected.responses = 1;
  expected.seconds_spent = 4;
  EXPECT_EQ(m, expected);
  EXPECT_EQ(UtcDay(0), 0);
  EXPECT_EQ(UtcDay(kDayMs - 1), 0);
  EXPECT_EQ(UtcDay(-1), -1);
}

TEST_F(RollupUpdaterTest, EveryEventCountsOnceAcrossARestart) {
  OpenUpdater();
  updater_->Start();
  const wal::Lsn end = Send(0);
  for (int i = 0; i < 500 && updater_->stats().position < end; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(updater_->stats().position, end) << "the updater did not catch up within 5 s";
  EXPECT_EQ(Rows(), Sorted(Expected(1)));
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(flushed_users_, (std::set<std::string>{"u1", "u2"}));
  }

  // A new updater resumes where the state store says: nothing is counted twice.
  ASSERT_TRUE(updater_->Stop().ok());
  updater_.reset();
  Send(100);
  OpenUpdater();
  ASSERT_TRUE(updater_->CatchUp().ok());
  EXPECT_EQ(Rows(), Sorted(Expected(2)));
}

TEST_F(RollupUpdaterTest, RecomputeReplacesMarkedDaysWithWhatTheStoreHolds) {
  OpenUpdater();
  Send(0);
  ASSERT_TRUE(updater_->CatchUp().ok());
  // A row gone wrong (as if a late event had been lost), and the day marked.
  UserDayMetrics wrong;
  wrong.page_views = 40;
  ASSERT_TRUE(state_->AddDailyUserMetrics("test", 0, {{"acme", "u1", kDay0, wrong}}).ok());
  ASSERT_TRUE(state_->AddDailyUserMetrics("test", 0, {{"acme", "u9", kDay0, wrong}}).ok());
  ASSERT_NE(Rows(), Sorted(Expected(1)));
  ASSERT_TRUE(state_->MarkRecomputeDays("acme", {kDay0}, 0).ok());
  auto done = updater_->RecomputeMarkedDays();
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(*done, 1u);
  EXPECT_EQ(Rows(), Sorted(Expected(1)));
  EXPECT_TRUE(state_->ListRecomputeDays("acme")->empty());
}

TEST_F(RollupUpdaterTest, ARecomputeAheadOfTheUpdaterDoesNotCountTwice) {
  OpenUpdater();
  Send(0);  // in the event store, not yet read by the updater
  ASSERT_TRUE(updater_->Recompute("acme", {kDay0, kDay0 + 1}).ok());
  EXPECT_EQ(Rows(), Sorted(Expected(1)));
  // Reading the same records now must skip the recomputed days' events.
  ASSERT_TRUE(updater_->CatchUp().ok());
  EXPECT_EQ(Rows(), Sorted(Expected(1)));
  Send(100);
  ASSERT_TRUE(updater_->CatchUp().ok());
  EXPECT_EQ(Rows(), Sorted(Expected(2)));
}

TEST_F(RollupUpdaterTest, EventsTheLogNoLongerHoldsAreRebuiltFromTheStore) {
  // Events whose WAL segments are gone (flushed into parts) before the updater first runs.
  for (int round = 0; round < 20; ++round) Send(round * 100);
  ASSERT_TRUE(store_->Flush().ok());
  ASSERT_TRUE(wal_->DeleteObsoleteSegments().ok());
  ASSERT_GT(wal_->start_lsn(), 0u) << "the test needs deleted segments";
  OpenUpdater();
  updater_->Start();
  Send(5000);
  std::vector<DailyUserMetricsRow> rows;
  for (int i = 0; i < 500; ++i) {
    rows = Rows();
    if (rows == Sorted(Expected(21))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(rows, Sorted(Expected(21)));
}

TEST_F(RollupUpdaterTest, ActivityRowsAreKeptOncePerEventAndRebuiltFromTheStore) {
  OpenUpdater();
  Send(0);
  ASSERT_TRUE(updater_->CatchUp().ok());
  auto activity = [&](const char* user) {
    auto rows = state_->ListUserActivity("acme", user, 0, INT64_MAX, 0);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<std::string> out;
    for (const auto& r : *rows) out.push_back(r.type + "/" + r.application_id + "/" + r.status);
    return out;
  };
  // u1: the save, the application and what followed, newest first; no views. u2: the search.
  const std::vector<std::string> u1 = {"offer_received/a1/",
                                       "interview_scheduled/a1/",
                                       "application_status_changed/a1/withdrawn",
                                       "application_status_changed/a1/screening",
                                       "job_apply/a1/",
                                       "job_save//"};
  EXPECT_EQ(activity("u1"), u1);
  EXPECT_EQ(activity("u2"), std::vector<std::string>{"search//"});
  const auto search = state_->ListUserActivity("acme", "u2", 0, INT64_MAX, 0);
  EXPECT_EQ((*search)[0].properties_json, R"({"query":"data"})");

  // A state store that lost them (e.g. restored from an older backup) gets them back from the
  // event store when the days are recomputed; recomputing again adds nothing.
  ASSERT_TRUE(state_->PruneUserActivity(INT64_MAX).ok());
  EXPECT_TRUE(activity("u1").empty());
  ASSERT_TRUE(updater_->Recompute("acme", {kDay0, kDay0 + 1}).ok());
  ASSERT_TRUE(updater_->Recompute("acme", {kDay0, kDay0 + 1}).ok());
  EXPECT_EQ(activity("u1"), u1);
  EXPECT_EQ(activity("u2"), std::vector<std::string>{"search//"});
  // Pruning keeps what is younger than the retention.
  auto pruned = updater_->PruneActivity((kDay0 + 2) * kDayMs);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 0);
  pruned = updater_->PruneActivity((kDay0 + 1 + 120) * kDayMs);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 3);  // day 0's: u1's save and application, u2's search
  EXPECT_EQ(activity("u1").size(), 4u);
}

TEST_F(RollupUpdaterTest, ForgettingAUserRemovesTheirDays) {
  OpenUpdater();
  Send(0);
  ASSERT_TRUE(updater_->CatchUp().ok());
  ASSERT_TRUE(state_->ForgetUser("acme", "u1").ok());
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].user_id, "u2");
}

TEST_F(RollupUpdaterTest, JobRunsPersistInTheStateStore) {
  StateJobRunStore runs(state_.get());
  EXPECT_EQ(*runs.LastRun("rollups.recompute"), std::nullopt);
  ASSERT_TRUE(runs.RecordRun("rollups.recompute", {10, 20, false, "internal: boom"}).ok());
  ASSERT_TRUE(runs.RecordRun("rollups.recompute", {30, 45, true, ""}).ok());
  auto last = runs.LastRun("rollups.recompute");
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->started_ms, 30);
  EXPECT_EQ((*last)->finished_ms, 45);
  EXPECT_TRUE((*last)->ok);
}

}  // namespace
}  // namespace ca::batch
