#include "store/event_store.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "event/event_codec.h"
#include "io/fault_env.h"
#include "store/part_format.h"
#include "wal/wal_test_util.h"

namespace ca::store {
namespace {

using wal::testing::TempDir;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kStart = 20000 * kDay;  // 2024-10-04

event::Event MakeEvent(const std::string& tenant, int n) {
  event::Event e;
  e.tenant = tenant;
  e.event_id = "ev-" + std::to_string(n);
  e.type = n % 3 == 0 ? "job_view" : "page_view";
  e.user_id = "user-" + std::to_string(n % 17);
  e.session_id = "s-" + std::to_string(n / 10);
  e.timestamp_ms = kStart + (n % 3) * kDay + n * 1000;
  e.received_at_ms = kStart + 3 * kDay;
  e.properties_json =
      n % 3 == 0 ? R"({"job_id":"job-)" + std::to_string(n % 5) + R"(","value":2})" : "{}";
  e.context_json = R"({"page":{"path":"/p)" + std::to_string(n % 4) + R"("}})";
  return e;
}

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    wal_options_.dir = dir_.path() + "/wal";
    wal_options_.env = &env_;
    wal_options_.sync = wal::SyncMode::kAlways;  // a simulated crash keeps what was acknowledged
    wal_options_.segment_bytes = 16 << 10;       // many segments, so checkpoints can delete some
    store_options_.env = &env_;
    store_options_.dir = dir_.path() + "/store";
    store_options_.granule_rows = 64;
    store_options_.poll_interval_ms = 5;
    store_options_.merge_min_parts = 1000;  // merges only when a test asks
  }

  void OpenAll() {
    auto w = wal::Wal::Open(wal_options_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    wal_ = std::move(*w);
    auto s = EventStore::Open(store_options_, wal_options_, wal_.get());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Start().ok());
  }

  void CloseAll() {
    if (store_) {
      EXPECT_TRUE(store_->Close().ok());
    }
    store_.reset();
    if (wal_) {
      EXPECT_TRUE(wal_->Close().ok());
    }
    wal_.reset();
  }

  // The machine dies: unsynced data is lost and the store gets no chance to flush.
  void Crash() {
    env_.SimulateCrash();
    store_.reset();
    wal_.reset();
    env_.Disarm();
  }

  void TearDown() override { CloseAll(); }

  // Appends events [from, to) of `tenant` and waits until they are visible.
  void Ingest(const std::string& tenant, int from, int to) {
    std::vector<std::string> payloads;
    for (int n = from; n < to; ++n) {
      payloads.emplace_back();
      event::EncodeEvent(MakeEvent(tenant, n), &payloads.back());
    }
    std::vector<std::string_view> views(payloads.begin(), payloads.end());
    wal::Lsn end = 0;
    ASSERT_TRUE(wal::testing::AppendAndWait(wal_.get(), views, &end).ok());
    ASSERT_TRUE(store_->WaitApplied(end, 1000).ok()) << "not visible within 1 s";
  }

  // Every event id of `tenant` in the snapshot, with a count (to catch doubles).
  static std::map<std::string, int> Ids(const TenantSnapshot& snap) {
    std::map<std::string, int> ids;
    ScanRequest req;
    req.from_ms = 0;
    req.to_ms = INT64_MAX;
    req.columns = ColumnSet{Column::kEventId};
    EXPECT_TRUE(snap.Scan(req,
                          [&](const ColumnBatch& b) {
                            for (const auto& id : b.event_id) ++ids[id];
                            return Status::Ok();
                          })
                    .ok());
    return ids;
  }

  static void ExpectExactly(const std::map<std::string, int>& ids, int from, int to) {
    ASSERT_EQ(ids.size(), static_cast<size_t>(to - from));
    for (int n = from; n < to; ++n) {
      auto it = ids.find("ev-" + std::to_string(n));
      ASSERT_NE(it, ids.end()) << n;
      ASSERT_EQ(it->second, 1) << "ev-" << n << " doubled";
    }
  }

  TempDir dir_;
  io::FaultInjectionEnv env_{io::Env::Default()};
  wal::Options wal_options_;
  StoreOptions store_options_;
  std::unique_ptr<wal::Wal> wal_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(EventStoreTest, EventsAreVisibleAndDerivedColumnsFilled) {
  OpenAll();
  Ingest("acme", 0, 300);
  Ingest("other", 0, 10);
  auto snap = store_->Snapshot("acme");
  ExpectExactly(Ids(*snap), 0, 300);
  EXPECT_EQ(Ids(*store_->Snapshot("other")).size(), 10u);
  EXPECT_TRUE(Ids(*store_->Snapshot("nobody")).empty());

  auto job = snap->Lookup(Column::kJob, "job-3");
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(snap->Name(Column::kJob, *job), "job-3");
  ScanRequest req{0, INT64_MAX,
                  ColumnSet{Column::kJob, Column::kPath, Column::kValue, Column::kType}};
  int jobs = 0, with_value = 0;
  ASSERT_TRUE(snap->Scan(req,
                         [&](const ColumnBatch& b) {
                           for (size_t i = 0; i < b.size(); ++i) {
                             jobs += b.Ids(Column::kJob)[i] != 0;
                             with_value += !std::isnan(b.value[i]);
                             EXPECT_NE(b.Ids(Column::kPath)[i], 0u);
                           }
                           return Status::Ok();
                         })
                  .ok());
  EXPECT_EQ(jobs, 100);
  EXPECT_EQ(with_value, 100);
}

// A record the consumer cannot read stops it there (nothing after it is skipped), and is met
// again at every poll: the failure is logged once, not at every poll.
TEST_F(EventStoreTest, AnUnreadableRecordIsLoggedOnceNotAtEveryPoll) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  OpenAll();
  wal::Lsn end = 0;
  ASSERT_TRUE(wal::testing::AppendAndWait(wal_.get(), {"not an event record"}, &end).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // about 60 polls of 5 ms
  const StoreStats stats = store_->stats();
  spdlog::set_default_logger(previous);
  EXPECT_NE(stats.last_error.find("wal record at lsn"), std::string::npos) << stats.last_error;
  EXPECT_LT(stats.applied_lsn, end);
  const std::string text = log.str();
  size_t lines = 0;
  for (size_t at = text.find("consuming the WAL"); at != std::string::npos;
       at = text.find("consuming the WAL", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << text;
  EXPECT_FALSE(store_->Close().ok());  // it cannot read past the record either
  store_.reset();
}

TEST_F(EventStoreTest, FlushWritesPartsPerDayAndKeepsEveryEventOnce) {
  OpenAll();
  Ingest("acme", 0, 500);
  auto before = store_->Snapshot("acme");
  ASSERT_TRUE(store_->Flush().ok());
  auto stats = store_->stats();
  EXPECT_EQ(stats.parts, 3u);  // three days
  EXPECT_EQ(stats.part_rows, 500u);
  EXPECT_EQ(stats.memtable_rows, 0u);
  EXPECT_EQ(stats.checkpoint_lsn, stats.applied_lsn);
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 500);
  ExpectExactly(Ids(*before), 0, 500);  // an older snapshot still reads the memtable it saw

  Ingest("acme", 500, 700);
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 700);
}

TEST_F(EventStoreTest, RestartReplaysOnlyAfterTheCheckpoint) {
  OpenAll();
  Ingest("acme", 0, 400);
  ASSERT_TRUE(store_->Flush().ok());
  Ingest("acme", 400, 600);  // only in the WAL
  Crash();
  OpenAll();
  EXPECT_EQ(store_->stats().memtable_rows, 200u);
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 600);
  CloseAll();
  OpenAll();
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 600);
}

TEST_F(EventStoreTest, CheckpointDeletesConsumedWalSegments) {
  OpenAll();
  for (int i = 0; i < 10; ++i) Ingest("acme", i * 100, (i + 1) * 100);
  wal::Lsn start_before = wal_->start_lsn();
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_GT(wal_->start_lsn(), start_before);
  CloseAll();
  OpenAll();
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 1000);
}

TEST_F(EventStoreTest, FailedManifestWriteLosesAndDoublesNothing) {
  OpenAll();
  Ingest("acme", 0, 300);
  // Three parts (one per day) are renamed into place, then the manifest's rename fails.
  env_.Arm(io::FaultOp::kRename, 4, io::FaultKind::kIoError);
  Status s = store_->Flush();
  EXPECT_FALSE(s.ok());
  env_.Disarm();
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 300);
  // A crash now: the written parts are not in the manifest and must be ignored and removed.
  Crash();
  OpenAll();
  EXPECT_TRUE(env_.GetChildren(store_options_.dir + "/acme/parts")->empty());
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 300);
  EXPECT_EQ(store_->stats().parts, 0u);
  ASSERT_TRUE(store_->Flush().ok());
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 300);
}

TEST_F(EventStoreTest, CrashDuringFlushLosesAndDoublesNothing) {
  OpenAll();
  Ingest("acme", 0, 300);
  ASSERT_TRUE(store_->Flush().ok());
  Ingest("acme", 300, 600);
  // Let the second flush write one part file and then the machine dies.
  env_.Arm(io::FaultOp::kRename, 2, io::FaultKind::kIoError, /*sticky=*/true);
  EXPECT_FALSE(store_->Flush().ok());
  Crash();
  OpenAll();
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 600);
}

TEST_F(EventStoreTest, MergeCombinesPartsOfADayAndRemovesOldFilesWhenUnused) {
  OpenAll();
  for (int i = 0; i < 4; ++i) {
    Ingest("acme", i * 150, (i + 1) * 150);
    ASSERT_TRUE(store_->Flush().ok());
  }
  EXPECT_EQ(store_->stats().parts, 12u);
  auto held = store_->Snapshot("acme");
  ASSERT_TRUE(store_->MergeAll().ok());
  EXPECT_EQ(store_->stats().parts, 3u);
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 600);
  ExpectExactly(Ids(*held), 0, 600);  // the merged-away files are still readable through it
  held.reset();
  auto files = *env_.GetChildren(store_options_.dir + "/acme/parts");
  EXPECT_EQ(files.size(), 3u);
  CloseAll();
  OpenAll();
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 600);
}

TEST_F(EventStoreTest, PartsAreSortedByUserThenTime) {
  OpenAll();
  Ingest("acme", 0, 400);
  ASSERT_TRUE(store_->Flush().ok());
  auto snap = store_->Snapshot("acme");
  ScanRequest req{0, INT64_MAX, ColumnSet{Column::kUser}};
  ASSERT_TRUE(snap->Scan(req,
                         [&](const ColumnBatch& b) {
                           for (size_t i = 1; i < b.size(); ++i) {
                             auto prev = std::pair(b.Ids(Column::kUser)[i - 1], b.timestamp[i - 1]);
                             auto cur = std::pair(b.Ids(Column::kUser)[i], b.timestamp[i]);
                             if (b.timestamp[i] / kDay == b.timestamp[i - 1] / kDay) {
                               EXPECT_LE(prev, cur);
                             }
                           }
                           return Status::Ok();
                         })
                  .ok());
  // A user filter lets granules be skipped, and still returns all of the user's rows.
  auto user = snap->Lookup(Column::kUser, "user-3");
  ASSERT_TRUE(user.has_value());
  ScanRequest one{0, INT64_MAX, ColumnSet{Column::kUser}, *user};
  // Twice: the second scan reads the user's granules from the granule cache.
  for (int pass = 0; pass < 2; ++pass) {
    int rows = 0;
    ASSERT_TRUE(snap->Scan(one,
                           [&](const ColumnBatch& b) {
                             for (size_t i = 0; i < b.size(); ++i)
                               rows += b.Ids(Column::kUser)[i] == *user;
                             return Status::Ok();
                           })
                    .ok());
    EXPECT_EQ(rows, 400 / 17 + (3 < 400 % 17));
  }
  const StoreStats stats = store_->stats();
  EXPECT_GT(stats.granule_cache_hits, 0u);
  EXPECT_GT(stats.granule_cache_bytes, 0u);
}

TEST_F(EventStoreTest, EventKeysOfPartsFeedDeduplication) {
  OpenAll();
  Ingest("acme", 0, 100);
  ASSERT_TRUE(store_->Flush().ok());
  std::set<std::string> ids;
  ASSERT_TRUE(store_
                  ->ForEachEventKey(0, [&](const std::string& tenant, const std::string& id,
                                           int64_t) { ids.insert(tenant + "/" + id); })
                  .ok());
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_TRUE(ids.count("acme/ev-42"));
  size_t later = 0;
  ASSERT_TRUE(
      store_
          ->ForEachEventKey(kStart + 4 * kDay, [&](const auto&, const auto&, int64_t) { ++later; })
          .ok());
  EXPECT_EQ(later, 0u);
}

}  // namespace
}  // namespace ca::store

namespace ca::store {
namespace {

TEST_F(EventStoreTest, DeletedUserIsMaskedAtOnceAndRemovedByCompaction) {
  OpenAll();
  Ingest("acme", 0, 340);  // user-3 has 20 events
  ASSERT_TRUE(store_->Flush().ok());
  Ingest("acme", 340, 408);  // 4 more of user-3, only in the memtable
  auto before = store_->Snapshot("acme");
  auto receipt = store_->DeleteUser("acme", "user-3", kStart + 4 * kDay);
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  EXPECT_EQ(receipt->masked_events, 24u);
  EXPECT_EQ(receipt->removed_at_ms, 0);

  auto count_user3 = [&](const TenantSnapshot& snap) {
    int n = 0;
    for (const auto& [id, c] : Ids(snap)) {
      int k = std::stoi(id.substr(3));
      n += (k % 17 == 3);
    }
    return n;
  };
  EXPECT_EQ(count_user3(*store_->Snapshot("acme")), 0);
  EXPECT_EQ(Ids(*store_->Snapshot("acme")).size(), 408u - 24u);
  EXPECT_EQ(count_user3(*before), 24);  // a snapshot from before the deletion is unchanged

  // The deletion survives a crash, and the masked rows never reach a part.
  Crash();
  OpenAll();
  EXPECT_EQ(count_user3(*store_->Snapshot("acme")), 0);
  ASSERT_TRUE(store_->Compact(kStart + 5 * kDay).ok());
  auto deletions = store_->Deletions();
  ASSERT_EQ(deletions.size(), 1u);
  EXPECT_EQ(deletions[0].removed_at_ms, kStart + 5 * kDay);
  // Physically gone: read every part's user column directly.
  auto user = store_->Snapshot("acme")->Lookup(Column::kUser, "user-3");
  ASSERT_TRUE(user.has_value());
  auto files = env_.GetChildren(store_options_.dir + "/acme/parts");
  ASSERT_TRUE(files.ok());
  for (const auto& file : *files) {
    auto reader = PartReader::Open(&env_, store_options_.dir + "/acme/parts/" + file);
    ASSERT_TRUE(reader.ok());
    ColumnBatch b;
    for (size_t g = 0; g < (*reader)->granules().size(); ++g) {
      ASSERT_TRUE((*reader)->ReadGranule(g, ColumnSet{Column::kUser}, &b).ok());
      for (uint32_t u : b.Ids(Column::kUser)) ASSERT_NE(u, *user) << file;
    }
  }
  // Later events of the same user are kept.
  event::Event later = MakeEvent("acme", 3);
  later.event_id = "later";
  later.received_at_ms = kStart + 6 * kDay;
  std::string payload;
  event::EncodeEvent(later, &payload);
  wal::Lsn end = 0;
  ASSERT_TRUE(wal::testing::AppendAndWait(wal_.get(), {payload}, &end).ok());
  ASSERT_TRUE(store_->WaitApplied(end, 1000).ok());
  EXPECT_TRUE(Ids(*store_->Snapshot("acme")).count("later"));
}

TEST_F(EventStoreTest, RetentionDropsWholeOldPartitions) {
  int retention = 0;
  store_options_.retention_days = [&](const std::string& tenant) {
    return tenant == "acme" ? retention : 0;
  };
  OpenAll();
  Ingest("acme", 0, 300);  // days kStart, +1, +2
  Ingest("other", 0, 30);
  ASSERT_TRUE(store_->Flush().ok());
  retention = 2;  // "now" is day kStart+3: keep days +1 and +2
  ASSERT_TRUE(store_->Compact(kStart + 3 * kDay + 1000).ok());
  auto ids = Ids(*store_->Snapshot("acme"));
  EXPECT_EQ(ids.size(), 200u);
  for (const auto& [id, n] : ids) EXPECT_NE(std::stoi(id.substr(3)) % 3, 0) << id;
  EXPECT_EQ(Ids(*store_->Snapshot("other")).size(), 30u);
  EXPECT_EQ(store_->stats().parts, 2u + 3u);
}

}  // namespace
}  // namespace ca::store

namespace ca::store {
namespace {

TEST_F(EventStoreTest, WalCutBelowTheCheckpointKeepsNewEvents) {
  OpenAll();
  Ingest("acme", 0, 300);
  ASSERT_TRUE(store_->Flush().ok());
  CloseAll();
  // The log is lost or cut below the store's checkpoint (e.g. `wal repair`): it starts over.
  ASSERT_EQ(std::system(("rm -rf '" + wal_options_.dir + "'").c_str()), 0);
  OpenAll();
  Ingest("acme", 300, 400);  // appended at LSNs the old checkpoint covered
  Crash();
  OpenAll();
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 400);
}

}  // namespace
}  // namespace ca::store

namespace ca::store {
namespace {

TEST_F(EventStoreTest, ReplayOfALongWalFlushesAsItGoes) {
  OpenAll();
  Ingest("acme", 0, 1000);
  Crash();  // 1000 events only in the WAL
  store_options_.memtable_max_rows = 100;
  OpenAll();
  auto stats = store_->stats();
  EXPECT_GT(stats.parts, 0u);
  EXPECT_LT(stats.memtable_rows, 2 * 100u + 1000u);  // not everything stayed in memory
  EXPECT_LT(stats.memtable_rows, 1000u);
  ExpectExactly(Ids(*store_->Snapshot("acme")), 0, 1000);
}

}  // namespace
}  // namespace ca::store
