#include "ingest/ingest_pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <thread>

#include "event/event_codec.h"
#include "io/fault_env.h"
#include "wal/wal_test_util.h"

namespace ca::ingest {
namespace {

using wal::testing::ReadAll;
using wal::testing::TempDir;

constexpr int64_t kWindowMs = 7LL * 24 * 3600 * 1000;
constexpr int64_t kNow = 1'795'000'000'000;
constexpr size_t kMaxIds = 1'000'000;

DecodedBatch Batch(std::vector<std::string> ids, std::string tenant = "acme") {
  DecodedBatch batch;
  for (uint32_t i = 0; i < ids.size(); ++i) {
    event::Event e;
    e.tenant = tenant;
    e.event_id = ids[i];
    e.type = "page_view";
    e.user_id = "u1";
    e.timestamp_ms = kNow;
    e.received_at_ms = kNow;
    batch.events.push_back(std::move(e));
    batch.event_indexes.push_back(i);
  }
  batch.received = static_cast<uint32_t>(ids.size());
  return batch;
}

Result<Receipt> CommitAndWait(IngestPipeline& pipeline, DecodedBatch batch) {
  std::promise<Result<Receipt>> promise;
  pipeline.Commit(std::move(batch), [&](Result<Receipt> r) { promise.set_value(std::move(r)); });
  return promise.get_future().get();
}

// event_id -> copies in the log.
std::map<std::string, int> IdsInLog(const wal::Options& options) {
  std::map<std::string, int> ids;
  auto records = ReadAll(options);
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (!records.ok()) return ids;
  for (const auto& [lsn, payload] : *records) {
    auto e = event::DecodeEvent(payload);
    EXPECT_TRUE(e.ok());
    if (e.ok()) ++ids[e->tenant + "/" + e->event_id];
  }
  return ids;
}

class IngestPipelineTest : public ::testing::Test {
 protected:
  void Open(io::Env* env = io::Env::Default()) {
    options_.dir = dir_.path() + "/wal";
    options_.env = env;
    options_.retry_interval_ms = 20;
    auto wal = wal::Wal::Open(options_);
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    wal_ = std::move(wal).value();
    pipeline_ = std::make_unique<IngestPipeline>(wal_.get(), kWindowMs, kMaxIds);
    ASSERT_TRUE(pipeline_->RecoverDedup(options_, kNow).ok());
  }
  void Close() {
    pipeline_.reset();
    if (wal_) {
      EXPECT_TRUE(wal_->Close().ok());
    }
    wal_.reset();
  }

  TempDir dir_;
  wal::Options options_;
  std::unique_ptr<wal::Wal> wal_;
  std::unique_ptr<IngestPipeline> pipeline_;
};

TEST_F(IngestPipelineTest, AcceptsNewEventsAndCountsDuplicates) {
  Open();
  auto first = CommitAndWait(*pipeline_, Batch({"a", "b", "a"}));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->accepted, 2u);
  EXPECT_EQ(first->duplicates, 1u);
  auto second = CommitAndWait(*pipeline_, Batch({"b", "c"}));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->accepted, 1u);
  EXPECT_EQ(second->duplicates, 1u);
  // The same id in another tenant is another event.
  auto other = CommitAndWait(*pipeline_, Batch({"a"}, "globex"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->accepted, 1u);
  Close();
  auto ids = IdsInLog(options_);
  EXPECT_EQ(ids, (std::map<std::string, int>{
                     {"acme/a", 1}, {"acme/b", 1}, {"acme/c", 1}, {"globex/a", 1}}));
}

TEST_F(IngestPipelineTest, DeduplicationSurvivesRestart) {
  Open();
  ASSERT_TRUE(CommitAndWait(*pipeline_, Batch({"x", "y"})).ok());
  Close();
  Open();
  EXPECT_EQ(pipeline_->tracked_ids(), 2u);
  auto again = CommitAndWait(*pipeline_, Batch({"x", "y", "z"}));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->accepted, 1u);
  EXPECT_EQ(again->duplicates, 2u);
  Close();
  EXPECT_EQ(IdsInLog(options_).size(), 3u);
}

TEST_F(IngestPipelineTest, RecoveryForgetsIdsOutsideTheWindow) {
  Open();
  DecodedBatch old = Batch({"old"});
  old.events[0].received_at_ms = kNow - kWindowMs - 60'000;
  ASSERT_TRUE(CommitAndWait(*pipeline_, std::move(old)).ok());
  ASSERT_TRUE(CommitAndWait(*pipeline_, Batch({"recent"})).ok());
  Close();
  Open();
  EXPECT_EQ(pipeline_->tracked_ids(), 1u);
}

// A write that fails must not leave its ids behind: the client's retry is accepted, not called a
// duplicate of an event that was never stored.
TEST_F(IngestPipelineTest, FailedWriteIsRetriedAsNew) {
  for (auto kind : {io::FaultKind::kIoError, io::FaultKind::kDiskFull}) {
    SCOPED_TRACE(kind == io::FaultKind::kIoError ? "EIO" : "ENOSPC");
    TempDir dir;
    io::FaultInjectionEnv env(io::Env::Default());
    options_.dir = dir.path() + "/wal";
    options_.env = &env;
    options_.retry_interval_ms = 20;
    auto wal = wal::Wal::Open(options_);
    ASSERT_TRUE(wal.ok());
    IngestPipeline pipeline(wal->get(), kWindowMs, kMaxIds);

    env.Arm(io::FaultOp::kSync, 1, kind, /*sticky=*/true);
    auto failed = CommitAndWait(pipeline, Batch({"p", "q"}));
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(),
              kind == io::FaultKind::kIoError ? ErrorCode::kIoError : ErrorCode::kDiskFull);
    // While broken, a resend fails too (never reported as a duplicate).
    auto during = CommitAndWait(pipeline, Batch({"p"}));
    EXPECT_FALSE(during.ok());

    env.Disarm();
    Result<Receipt> retried = Status(ErrorCode::kUnavailable, "not yet");
    for (int i = 0; i < 200 && !retried.ok(); ++i) {
      retried = CommitAndWait(pipeline, Batch({"p", "q"}));
      if (!retried.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(retried.ok()) << retried.status().ToString();
    EXPECT_EQ(retried->accepted, 2u);
    EXPECT_EQ(retried->duplicates, 0u);
    EXPECT_TRUE((*wal)->Close().ok());
    auto ids = IdsInLog(options_);
    EXPECT_EQ(ids, (std::map<std::string, int>{{"acme/p", 1}, {"acme/q", 1}}));
  }
}

// A duplicate whose first copy is still in flight waits for that copy's fate: when the first write
// fails, the duplicate's request fails as well.
TEST_F(IngestPipelineTest, DuplicateOfAFailingWriteFailsToo) {
  io::FaultInjectionEnv env(io::Env::Default());
  Open(&env);
  env.Arm(io::FaultOp::kSync, 1, io::FaultKind::kIoError, /*sticky=*/true);
  std::promise<Result<Receipt>> first, second;
  pipeline_->Commit(Batch({"dup"}), [&](Result<Receipt> r) { first.set_value(std::move(r)); });
  pipeline_->Commit(Batch({"dup"}), [&](Result<Receipt> r) { second.set_value(std::move(r)); });
  EXPECT_FALSE(first.get_future().get().ok());
  EXPECT_FALSE(second.get_future().get().ok());
  env.Disarm();
  Close();
  EXPECT_TRUE(IdsInLog(options_).empty());
}

TEST_F(IngestPipelineTest, ConcurrentCommitsStoreEachIdOnce) {
  Open();
  constexpr int kThreads = 4, kBatches = 50, kPerBatch = 20;
  std::atomic<uint64_t> accepted{0}, duplicates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      // Every thread sends the same ids: each must be accepted exactly once overall.
      for (int b = 0; b < kBatches; ++b) {
        std::vector<std::string> ids;
        for (int i = 0; i < kPerBatch; ++i) ids.push_back(std::to_string(b * kPerBatch + i));
        auto r = CommitAndWait(*pipeline_, Batch(ids));
        ASSERT_TRUE(r.ok());
        accepted += r->accepted;
        duplicates += r->duplicates;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), uint64_t{kBatches * kPerBatch});
  EXPECT_EQ(duplicates.load(), uint64_t{(kThreads - 1) * kBatches * kPerBatch});
  auto counters = pipeline_->counters();
  EXPECT_EQ(counters.accepted + counters.duplicates + counters.rejected, counters.received);
  Close();
  auto ids = IdsInLog(options_);
  EXPECT_EQ(ids.size(), size_t{kBatches * kPerBatch});
  for (const auto& [id, copies] : ids) EXPECT_EQ(copies, 1) << id;
}

}  // namespace
}  // namespace ca::ingest

namespace ca::ingest {
namespace {

TEST_F(IngestPipelineTest, ARealtimeEventOvertakesABacklogOfBatchEvents) {
  Open();
  LaneDispatcher lanes(LaneDispatcher::Options{});
  std::mutex mu;
  std::vector<std::string> order;
  std::atomic<bool> release{false};
  std::atomic<bool> holding{false};
  lanes.Subscribe([&](LaneEvent& e, Lane) {
    // A consumer that is stuck on its first event until the offer is durable: everything else
    // piles up behind it.
    holding = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard lock(mu);
    order.push_back(e.head().event_id);
  });
  pipeline_->SetLanes(&lanes);

  std::vector<std::string> ids;
  for (int i = 0; i < 5000; ++i) ids.push_back("batch-" + std::to_string(i));
  ASSERT_TRUE(CommitAndWait(*pipeline_, Batch(ids)).ok());
  // The consumer's thread may not have taken batch-0 yet on a busy machine: the offer comes
  // once it has (else the offer would rightly be first).
  for (int i = 0; i < 10000 && !holding; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(holding);
  DecodedBatch offer = Batch({"offer-1"});
  offer.events[0].type = "offer_received";
  ASSERT_TRUE(CommitAndWait(*pipeline_, std::move(offer)).ok());
  release = true;
  lanes.Drain();

  std::lock_guard lock(mu);
  ASSERT_EQ(order.size(), 5001u);
  EXPECT_EQ(order[0], "batch-0");  // in the consumer's hands when the offer came
  EXPECT_EQ(order[1], "offer-1");  // ahead of the 4999 batch events queued before it
  EXPECT_EQ(order[2], "batch-1");
  EXPECT_EQ(order.back(), "batch-4999");  // a lane keeps its order
  EXPECT_EQ(lanes.dropped(), 0u);
  Close();
}

TEST_F(IngestPipelineTest, TheLanesGetEachNewEventOnceAndNoDuplicate) {
  Open();
  LaneDispatcher lanes(LaneDispatcher::Options{});
  std::mutex mu;
  std::vector<std::string> seen;
  lanes.Subscribe([&](LaneEvent& e, Lane) {
    // The head comes without properties and context; full() adds them.
    const bool bare = e.head().properties_json.empty() && e.head().context_json.empty();
    const event::Event& full = e.full();
    std::lock_guard lock(mu);
    seen.push_back(full.event_id + "/" + full.type + (bare ? " " : " not bare ") +
                   full.properties_json + full.context_json);
  });
  pipeline_->SetLanes(&lanes);
  auto with_bodies = [](DecodedBatch batch) {
    for (event::Event& e : batch.events) {
      e.properties_json = R"({"n":")" + e.event_id + R"("})";
      e.context_json = R"({"page":{"path":"/)" + e.event_id + R"("}})";
    }
    return batch;
  };
  ASSERT_TRUE(CommitAndWait(*pipeline_, with_bodies(Batch({"a", "b"}))).ok());
  ASSERT_TRUE(CommitAndWait(*pipeline_, with_bodies(Batch({"b", "c", "c"}))).ok());
  lanes.Drain();
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{
                      R"(a/page_view {"n":"a"}{"page":{"path":"/a"}})",
                      R"(b/page_view {"n":"b"}{"page":{"path":"/b"}})",
                      R"(c/page_view {"n":"c"}{"page":{"path":"/c"}})",
                  }));
  Close();
}

TEST(LaneDispatcherTest, MemoryStaysBoundedByDroppingBatchEventsFirst) {
  LaneDispatcher::Options options;
  options.max_bytes = 10'000;
  options.extra_realtime_types = {"custom_alerted"};
  LaneDispatcher lanes(options);
  std::atomic<bool> release{false};
  std::atomic<int> realtime{0}, batch{0};
  lanes.Subscribe([&](LaneEvent&, Lane lane) {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++(lane == Lane::kRealtime ? realtime : batch);
  });
  event::Event e;
  e.tenant = "acme";
  e.type = "custom_alerted";
  e.user_id = "u";
  EXPECT_EQ(lanes.LaneOf(e), Lane::kRealtime);
  std::string alert;
  event::EncodeEvent(e, &alert);
  e.type = "page_view";
  EXPECT_EQ(lanes.LaneOf(e), Lane::kBatch);
  std::string view;
  event::EncodeEvent(e, &view);
  for (int i = 0; i < 2000; ++i) lanes.Publish({view}, {Lane::kBatch});
  EXPECT_TRUE(lanes.backlogged());
  lanes.Publish({alert}, {Lane::kRealtime});
  EXPECT_GT(lanes.dropped(), 1000u);
  release = true;
  lanes.Drain();
  EXPECT_FALSE(lanes.backlogged());
  EXPECT_EQ(realtime.load(), 1);  // never dropped for batch events
  EXPECT_EQ(static_cast<uint64_t>(batch.load()) + lanes.dropped(), 2000u);
}

TEST(IngestPipelineLimits, DedupIndexStaysWithinItsLimit) {
  TempDir dir;
  wal::Options options;
  options.dir = dir.path() + "/wal";
  auto wal = wal::Wal::Open(options);
  ASSERT_TRUE(wal.ok());
  IngestPipeline pipeline(wal->get(), kWindowMs, /*dedup_max_ids=*/1000);
  for (int minute = 0; minute < 10; ++minute) {
    std::vector<std::string> ids;
    for (int i = 0; i < 200; ++i) ids.push_back(std::to_string(minute) + "-" + std::to_string(i));
    DecodedBatch batch = Batch(ids);
    for (auto& e : batch.events) e.received_at_ms = kNow + minute * 60'000;
    auto r = CommitAndWait(pipeline, std::move(batch));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->accepted, 200u);
    EXPECT_LE(pipeline.tracked_ids(), 1000u);
  }
  // The newest ids are still recognised.
  DecodedBatch again = Batch({"9-0", "9-199"});
  for (auto& e : again.events) e.received_at_ms = kNow + 10 * 60'000;
  auto r = CommitAndWait(pipeline, std::move(again));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->duplicates, 2u);
  EXPECT_TRUE((*wal)->Close().ok());
}

}  // namespace
}  // namespace ca::ingest
