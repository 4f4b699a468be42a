#include "wal/wal.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "io/env.h"
#include "io/fault_env.h"
#include "wal/format.h"
#include "wal/log_check.h"
#include "wal/wal_test_util.h"

namespace ca::wal {
namespace {

using testing::AppendAndWait;
using testing::ReadAll;
using testing::TempDir;
using testing::Waiter;

std::string Payload(int i) {
  return "record-" + std::to_string(i) + std::string(static_cast<size_t>(i % 23), 'x');
}

Options SmallOptions(const std::string& dir) {
  Options o;
  o.dir = dir;
  o.segment_bytes = 256;
  o.retry_interval_ms = 5;
  return o;
}

std::vector<std::string> Segments(const std::string& dir) {
  auto segs = internal::ListSegments(io::Env::Default(), dir);
  EXPECT_TRUE(segs.ok());
  std::vector<std::string> out;
  for (const auto& s : *segs) out.push_back(s.path);
  return out;
}

std::string ReadFile(const std::string& path) {
  auto r = io::ReadFileToString(io::Env::Default(), path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "";
}

void WriteFile(const std::string& path, std::string_view data) {
  auto f = io::Env::Default()->NewWritableFile(path, /*append=*/false);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(data).ok());
  ASSERT_TRUE((*f)->Close().ok());
}

/// Writes records 0..n-1 one Append each; returns their end LSNs.
std::vector<Lsn> Fill(const Options& o, int n) {
  auto wal = Wal::Open(o);
  EXPECT_TRUE(wal.ok()) << wal.status().ToString();
  std::vector<Lsn> ends;
  for (int i = 0; i < n; ++i) {
    std::string p = Payload(i);
    Lsn end = 0;
    EXPECT_TRUE(AppendAndWait(wal->get(), {p}, &end).ok());
    ends.push_back(end);
  }
  EXPECT_TRUE((*wal)->Close().ok());
  return ends;
}

void ExpectRecords(const Options& o, int n) {
  auto all = ReadAll(o);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), static_cast<size_t>(n));
  Lsn lsn = 0;
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ((*all)[i].first, lsn);
    EXPECT_EQ((*all)[i].second, Payload(i));
    lsn += format::kRecordHeaderSize + Payload(i).size();
  }
}

TEST(SyncModeTest, ParseAndName) {
  for (SyncMode m : {SyncMode::kAlways, SyncMode::kInterval, SyncMode::kNone}) {
    auto parsed = ParseSyncMode(SyncModeName(m));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_EQ(ParseSyncMode("sometimes").status().code(), ErrorCode::kInvalidArgument);
}

TEST(WalTest, RoundTripAcrossSegmentRolls) {
  TempDir dir;
  Options o = SmallOptions(dir.path());
  auto ends = Fill(o, 60);
  for (size_t i = 1; i < ends.size(); ++i) EXPECT_GT(ends[i], ends[i - 1]);
  EXPECT_GT(Segments(dir.path()).size(), 5u);
  for (const std::string& seg : Segments(dir.path())) {
    EXPECT_LE(ReadFile(seg).size(), o.segment_bytes);
  }
  ExpectRecords(o, 60);
  // Reading from the middle, at a record boundary in a later segment.
  auto tail = ReadAll(o, ends[40]);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  ASSERT_EQ(tail->size(), 19u);
  EXPECT_EQ(tail->front().second, Payload(41));
  EXPECT_EQ(ReadAll(o, ends[40] + 1).status().code(), ErrorCode::kInvalidArgument);
}

TEST(WalTest, ManyRecordsInOneAppendSpanSegments) {
  TempDir dir;
  Options o = SmallOptions(dir.path());
  auto wal = Wal::Open(o);
  ASSERT_TRUE(wal.ok());
  std::vector<std::string> storage;
  for (int i = 0; i < 40; ++i) storage.push_back(Payload(i));
  std::vector<std::string_view> views(storage.begin(), storage.end());
  Lsn end = 0;
  ASSERT_TRUE(AppendAndWait(wal->get(), views, &end).ok());
  EXPECT_EQ((*wal)->durable_lsn(), end);
  ASSERT_TRUE((*wal)->Close().ok());
  ExpectRecords(o, 40);
}

TEST(WalTest, TheAppendedEndIsKnownBeforeTheRecordsAreDone) {
  TempDir dir;
  auto wal = Wal::Open(SmallOptions(dir.path()));
  ASSERT_TRUE(wal.ok());
  const Lsn start = (*wal)->appended_lsn();
  EXPECT_EQ(start, (*wal)->durable_lsn());
  std::vector<std::string> storage;
  for (int i = 0; i < 20; ++i) storage.push_back(Payload(i));
  std::vector<std::string_view> views(storage.begin(), storage.end());
  std::promise<void> done;
  auto end = (*wal)->Append(views, [&](const Status&) { done.set_value(); });
  ASSERT_TRUE(end.ok());
  EXPECT_EQ((*wal)->appended_lsn(), *end);  // at once, done or not
  EXPECT_GT(*end, start);
  done.get_future().wait();
  EXPECT_EQ((*wal)->durable_lsn(), *end);
  EXPECT_EQ((*wal)->appended_lsn(), *end);
  ASSERT_TRUE((*wal)->Close().ok());
}

TEST(WalTest, ConcurrentAppendersShareSyncs) {
  TempDir dir;
  Options o;
  o.dir = dir.path();
  o.segment_bytes = 4096;
  auto wal = Wal::Open(o);
  ASSERT_TRUE(wal.ok());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 150;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::unique_ptr<Waiter>> waiters;
      for (int i = 0; i < kPerThread; ++i) {
        std::string p = "t" + std::to_string(t) + "-" + std::to_string(i);
        std::string_view v = p;
        waiters.push_back(std::make_unique<Waiter>());
        auto r = (*wal)->Append(std::span(&v, 1), waiters.back()->callback());
        ASSERT_TRUE(r.ok());
        if (i % 10 == 9) waiters.back()->Wait().IgnoreError();
      }
      for (auto& w : waiters) (w->Wait().ok() ? ok : failed)++;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  Wal::Stats stats = (*wal)->stats();
  EXPECT_EQ(stats.records, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.syncs, stats.records);
  EXPECT_FALSE(stats.broken);
  ASSERT_TRUE((*wal)->Close().ok());

  auto all = ReadAll(o);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::map<std::string, int> seen;
  for (const auto& [lsn, p] : *all) seen[p]++;
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& [p, n] : seen) EXPECT_EQ(n, 1) << p;
  // Each thread's records appear in its own order.
  std::map<int, int> last;
  for (const auto& [lsn, p] : *all) {
    int t = p[1] - '0';
    int i = std::stoi(p.substr(3));
    if (last.count(t)) {
      EXPECT_GT(i, last[t]);
    }
    last[t] = i;
  }
}

TEST(WalTest, EmptyAppendWaitsForEarlierRecords) {
  TempDir dir;
  auto wal = Wal::Open(SmallOptions(dir.path()));
  ASSERT_TRUE(wal.ok());
  std::vector<int> order;
  std::mutex mu;
  std::string p = Payload(1);
  std::string_view v = p;
  auto r1 = (*wal)->Append(std::span(&v, 1), [&](const Status& s) {
    EXPECT_TRUE(s.ok());
    std::lock_guard l(mu);
    order.push_back(1);
  });
  ASSERT_TRUE(r1.ok());
  Waiter w;
  auto r2 = (*wal)->Append({}, [&, cb = w.callback()](const Status& s) {
    {
      std::lock_guard l(mu);
      order.push_back(2);
    }
    cb(s);
  });
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(*r2, *r1);
  EXPECT_TRUE(w.Wait().ok());
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_GE((*wal)->durable_lsn(), *r1);
  // On an idle log too.
  EXPECT_TRUE(AppendAndWait(wal->get(), {}).ok());
}

TEST(WalTest, RejectsOversizedPayloadAndSecondOpen) {
  TempDir dir;
  Options o = SmallOptions(dir.path());
  auto wal = Wal::Open(o);
  ASSERT_TRUE(wal.ok());
  std::string big(format::kMaxPayload + 1, 'a');
  std::string_view v = big;
  bool called = false;
  auto r = (*wal)->Append(std::span(&v, 1), [&](const Status&) { called = true; });
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Wal::Open(o).status().code(), ErrorCode::kLocked);
  ASSERT_TRUE((*wal)->Close().ok());
  EXPECT_EQ((*wal)->Append({}, [&](const Status&) { called = true; }).status().code(),
            ErrorCode::kUnavailable);
  EXPECT_FALSE(called);
}

TEST(WalTest, BufferFullReturnsUnavailable) {
  TempDir dir;
  Options o = SmallOptions(dir.path());
  o.segment_bytes = 1 << 20;
  o.max_buffer_bytes = 1000;
  auto wal = Wal::Open(o);
  ASSERT_TRUE(wal.ok());
  // Hold the sync thread inside a callback so later appends pile up in the buffer.
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  std::string p(100, 'p');
  std::string_view v = p;
  ASSERT_TRUE((*wal)
                  ->Append(std::span(&v, 1),
                           [&](const Status&) {
                             std::unique_lock l(mu);
                             entered = true;
                             cv.notify_all();
                             cv.wait(l, [&] { return release; });
                           })
                  .ok());
  {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return entered; });
  }
  std::vector<std::unique_ptr<Waiter>> waiters;
  int accepted = 0;
  Status rejected;
  for (int i = 0; i < 20 && rejected.ok(); ++i) {
    waiters.push_back(std::make_unique<Waiter>());
    auto r = (*wal)->Append(std::span(&v, 1), waiters.back()->callback());
    if (r.ok()) {
      ++accepted;
    } else {
      rejected = r.status();
      waiters.pop_back();
    }
  }
  EXPECT_EQ(rejected.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(accepted, 9);  // 9 * 108 bytes fit in 1000, the 10th does not
  {
    std::lock_guard l(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& w : waiters) EXPECT_TRUE(w->Wait().ok());
  EXPECT_TRUE(AppendAndWait(wal->get(), {v}).ok());
}

TEST(WalTest, ReopenAfterClose) {
  TempDir dir;
  Options o = SmallOptions(dir.path());
  auto ends = Fill(o, 20);
  RecoveryReport rep;
  auto wal = Wal::Open(o, &rep);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  EXPECT_EQ(rep.records, 20u);
  EXPECT_EQ(rep.end_lsn, ends.back());
  EXPECT_EQ(rep.truncated_bytes, 0u);
  EXPECT_EQ(rep.segments, static_cast<int>(Segments(dir.path()).size()));
  EXPECT_EQ((*wal)->durable_lsn(), ends.back());
  for (int i = 20; i < 30; ++i) {
    std::string p = Payload(i);
    ASSERT_TRUE(AppendAndWait(wal->get(), {p}).ok());
  }
  wal->reset();
  ExpectRecords(o, 30);
}

// A process that dies after its callbacks ran loses nothing (every mode writes before calling
// back); the child never closes its log.
TEST(WalTest, ReopenAfterProcessExitWithoutClose) {
  for (SyncMode mode : {SyncMode::kAlways, SyncMode::kNone}) {
    TempDir dir;
    Options o = SmallOptions(dir.path());
    o.sync = mode;
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto wal = Wal::Open(o);
      if (!wal.ok()) ::_exit(2);
      for (int i = 0; i < 25; ++i) {
        std::string p = Payload(i);
        if (!AppendAndWait(wal->get(), {p}).ok()) ::_exit(3);
      }
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    auto wal = Wal::Open(o);
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    ASSERT_TRUE((*wal)->Close().ok());
    ExpectRecords(o, 25);
  }
}

TEST(WalTest, IntervalModeSyncsInTheBackground) {
  TempDir dir;
  Options o = SmallOptions(dir.path());
  o.sync = SyncMode::kInterval;
  o.sync_interval_ms = 10;
  auto wal = Wal::Open(o);
  ASSERT_TRUE(wal.ok());
  for (int i = 0; i < 5; ++i) {
    std::string p = Payload(i);
    ASSERT_TRUE(AppendAndWait(wal->get(), {p}).ok());
  }
  for (int i = 0; i < 200 && (*wal)->stats().syncs == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT((*wal)->stats().syncs, 0u);
  ASSERT_TRUE((*wal)->Close().ok());
  ExpectRecords(o, 5);
}

class DamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    o_ = SmallOptions(dir_.path());
    ends_ = Fill(o_, 30);
    segs_ = Segments(dir_.path());
    ASSERT_GE(segs_.size(), 3u);
    last_ = ReadFile(segs_.back());
    // Records wholly in the last segment: those whose end LSN lies past its start.
    auto start = format::ParseSegmentFileName(segs_.back().substr(segs_.back().rfind('/') + 1));
    ASSERT_TRUE(start.has_value());
    last_start_ = *start;
  }

  /// File offset in segment starting at `seg_start` of record `i`.
  uint64_t Offset(int i, Lsn seg_start) const {
    Lsn begin = i == 0 ? 0 : ends_[i - 1];
    return format::kSegmentHeaderSize + (begin - seg_start);
  }
  /// Records wholly below LSN-space offset `file_offset` of the last segment.
  int RecordsBefore(uint64_t file_offset) const {
    Lsn limit = last_start_ + (file_offset - format::kSegmentHeaderSize);
    int n = 0;
    while (n < static_cast<int>(ends_.size()) && ends_[n] <= limit) ++n;
    return n;
  }

  TempDir dir_;
  Options o_;
  std::vector<Lsn> ends_;
  std::vector<std::string> segs_;
  std::string last_;
  Lsn last_start_ = 0;
};

TEST_F(DamageTest, TruncatedTailAtEveryOffsetIsCut) {
  const uint64_t from = Offset(27, last_start_);
  ASSERT_GE(from, format::kSegmentHeaderSize);
  for (uint64_t cut = from; cut < last_.size(); ++cut) {
    WriteFile(segs_.back(), last_.substr(0, cut));
    RecoveryReport rep;
    auto wal = Wal::Open(o_, &rep);
    ASSERT_TRUE(wal.ok()) << cut << ": " << wal.status().ToString();
    const int expected = RecordsBefore(cut);
    EXPECT_EQ((*wal)->durable_lsn(), ends_[expected - 1]) << cut;
    const uint64_t valid = format::kSegmentHeaderSize + (ends_[expected - 1] - last_start_);
    EXPECT_EQ(rep.truncated_bytes, cut - valid) << cut;
    ASSERT_TRUE((*wal)->Close().ok());
    EXPECT_EQ(ReadFile(segs_.back()).size(), valid);
    ExpectRecords(o_, expected);
  }
}

TEST_F(DamageTest, TrailingZerosAreCut) {
  WriteFile(segs_.back(), last_ + std::string(100, '\0'));
  RecoveryReport rep;
  auto wal = Wal::Open(o_, &rep);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  EXPECT_EQ(rep.truncated_bytes, 100u);
  EXPECT_EQ(rep.truncated_file, segs_.back());
  wal->reset();
  ExpectRecords(o_, 30);
}

TEST_F(DamageTest, FlippedByteInLastRecordDropsIt) {
  const uint64_t begin = Offset(29, last_start_);
  for (uint64_t i = begin; i < last_.size(); ++i) {
    std::string bad = last_;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    WriteFile(segs_.back(), bad);
    auto wal = Wal::Open(o_);
    ASSERT_TRUE(wal.ok()) << i << ": " << wal.status().ToString();
    EXPECT_EQ((*wal)->durable_lsn(), ends_[28]) << i;
    wal->reset();
    ExpectRecords(o_, 29);
  }
}

TEST_F(DamageTest, FlippedByteInEarlierRecordIsCorruption) {
  const uint64_t begin = Offset(27, last_start_);
  const uint64_t end = Offset(28, last_start_);
  for (uint64_t i = begin; i < end; ++i) {
    std::string bad = last_;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    WriteFile(segs_.back(), bad);
    auto wal = Wal::Open(o_);
    ASSERT_EQ(wal.status().code(), ErrorCode::kCorruption) << i;
    EXPECT_NE(wal.status().message().find(segs_.back()), std::string_view::npos);
    EXPECT_NE(wal.status().message().find("offset " + std::to_string(begin)),
              std::string_view::npos)
        << wal.status().ToString();
  }
  auto summary = Repair(o_);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  auto wal = Wal::Open(o_);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  EXPECT_EQ((*wal)->durable_lsn(), ends_[26]);
  wal->reset();
  ExpectRecords(o_, 27);
}

TEST_F(DamageTest, DamageInNonLastSegmentIsCorruption) {
  const std::string first = ReadFile(segs_[0]);
  // Truncated, flipped in its last byte, or header damaged: all refuse to open.
  for (int variant = 0; variant < 3; ++variant) {
    std::string bad = first;
    if (variant == 0) bad.resize(bad.size() - 3);
    if (variant == 1) bad.back() = static_cast<char>(bad.back() ^ 1);
    if (variant == 2) bad[20] = static_cast<char>(bad[20] ^ 1);
    WriteFile(segs_[0], bad);
    auto wal = Wal::Open(o_);
    ASSERT_EQ(wal.status().code(), ErrorCode::kCorruption) << variant;
    EXPECT_NE(wal.status().message().find(segs_[0]), std::string_view::npos);
    auto offline = ReadAll(o_);
    EXPECT_EQ(offline.status().code(), ErrorCode::kCorruption) << variant;
  }
  auto summary = Repair(o_);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(Segments(dir_.path()).size(), 1u);  // later segments deleted
  auto wal = Wal::Open(o_);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  EXPECT_EQ((*wal)->durable_lsn(), 0u);  // the bad header left an empty first segment
  std::string p = Payload(0);
  EXPECT_TRUE(AppendAndWait(wal->get(), {p}).ok());
}

TEST_F(DamageTest, MissingMiddleSegmentIsAGap) {
  ASSERT_TRUE(io::Env::Default()->RemoveFile(segs_[1]).ok());
  auto wal = Wal::Open(o_);
  ASSERT_EQ(wal.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(wal.status().message().find(segs_[2]), std::string_view::npos);
  ASSERT_TRUE(Repair(o_).ok());
  EXPECT_EQ(Segments(dir_.path()).size(), 1u);
  auto reopened = Wal::Open(o_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
}

TEST_F(DamageTest, RepairOfCleanLogChangesNothing) {
  auto summary = Repair(o_);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(Segments(dir_.path()), segs_);
  ExpectRecords(o_, 30);
}

TEST_F(DamageTest, OfflineReaderStopsAtTornTailWithoutModifying) {
  std::string torn = last_ + std::string("\x10\x00\x00\x00garbage", 11);
  WriteFile(segs_.back(), torn);
  ExpectRecords(o_, 30);
  EXPECT_EQ(ReadFile(segs_.back()), torn);
  // A torn segment header in the last segment reads as empty.
  WriteFile(segs_.back(), last_);
  const std::string next = io::JoinPath(dir_.path(), format::SegmentFileName(ends_.back()));
  WriteFile(next, std::string(10, 'h'));
  ExpectRecords(o_, 30);
  EXPECT_EQ(ReadFile(next).size(), 10u);
  // Open rewrites it.
  auto wal = Wal::Open(o_);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  EXPECT_EQ((*wal)->durable_lsn(), ends_.back());
}

TEST(WalTest, LiveReaderStopsAtDurableEnd) {
  TempDir dir;
  Options o = SmallOptions(dir.path());
  auto wal = Wal::Open(o);
  ASSERT_TRUE(wal.ok());
  auto reader = Reader::Open(o, 0, wal->get());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  Lsn lsn;
  std::string payload;
  auto next = (*reader)->Next(&lsn, &payload);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(*next);
  int read = 0;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 10; ++i) {
      std::string p = Payload(round * 10 + i);
      ASSERT_TRUE(AppendAndWait(wal->get(), {p}).ok());
    }
    while (true) {
      auto more = (*reader)->Next(&lsn, &payload);
      ASSERT_TRUE(more.ok()) << more.status().ToString();
      if (!*more) break;
      EXPECT_EQ(payload, Payload(read));
      ++read;
    }
    EXPECT_EQ(read, (round + 1) * 10);
  }
  EXPECT_EQ(Reader::Open(o, (*wal)->durable_lsn() + 8, wal->get()).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(WalConsumerTest, CheckpointsSurviveReopenAndBoundDeletion) {
  TempDir dir;
  Options o = SmallOptions(dir.path());
  auto ends = Fill(o, 40);
  auto wal = Wal::Open(o);
  ASSERT_TRUE(wal.ok());
  const size_t segments = Segments(dir.path()).size();
  ASSERT_TRUE((*wal)->DeleteObsoleteSegments().ok());
  EXPECT_EQ(Segments(dir.path()).size(), segments);  // no consumer: nothing deleted

  EXPECT_EQ((*wal)->RegisterConsumer("bad/name").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ((*wal)->CommitCheckpoint("nobody", 0).code(), ErrorCode::kNotFound);
  ASSERT_TRUE((*wal)->RegisterConsumer("store").ok());
  ASSERT_TRUE((*wal)->RegisterConsumer("realtime").ok());
  auto ck = (*wal)->ConsumerCheckpoint("store");
  ASSERT_TRUE(ck.ok());
  EXPECT_EQ(*ck, 0u);
  EXPECT_EQ((*wal)->CommitCheckpoint("store", ends.back() + 1).code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE((*wal)->CommitCheckpoint("store", ends[30]).ok());
  ASSERT_TRUE((*wal)->DeleteObsoleteSegments().ok());
  EXPECT_EQ(Segments(dir.path()).size(), segments);  // "realtime" still at 0
  ASSERT_TRUE((*wal)->CommitCheckpoint("realtime", ends[20]).ok());
  wal->reset();

  wal = Wal::Open(o);
  ASSERT_TRUE(wal.ok());
  EXPECT_EQ(*(*wal)->ConsumerCheckpoint("store"), ends[30]);
  EXPECT_EQ(*(*wal)->ConsumerCheckpoint("realtime"), ends[20]);
  ASSERT_TRUE((*wal)->DeleteObsoleteSegments().ok());
  auto remaining = internal::ListSegments(io::Env::Default(), dir.path());
  ASSERT_TRUE(remaining.ok());
  ASSERT_LT(remaining->size(), segments);
  // The first remaining segment holds the minimum checkpoint; the one before it was wholly below.
  EXPECT_LE(remaining->front().start, ends[20]);
  EXPECT_GT((*remaining)[1].start, ends[20]);
  EXPECT_EQ((*wal)->start_lsn(), remaining->front().start);
  EXPECT_EQ(Reader::Open(o, 0).status().code(), ErrorCode::kNotFound);
  auto rest = ReadAll(o, ends[20]);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->size(), 19u);
  EXPECT_EQ(rest->front().second, Payload(21));
  wal->reset();

  RecoveryReport rep;
  wal = Wal::Open(o, &rep);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  EXPECT_EQ(rep.end_lsn, ends.back());
  EXPECT_EQ((*wal)->start_lsn(), remaining->front().start);
}

}  // namespace
}  // namespace ca::wal

namespace ca::wal {
namespace {

// Without a sync per group, appends gather before the sync thread writes: far fewer writes than
// appends, and every append is still acknowledged and stored.
TEST(WalGatherTest, SyncNoneWritesManyAppendsAtOnce) {
  for (SyncMode mode : {SyncMode::kNone, SyncMode::kInterval}) {
    SCOPED_TRACE(std::string(SyncModeName(mode)));
    testing::TempDir dir;
    io::FaultInjectionEnv env(io::Env::Default());
    Options o;
    o.dir = dir.path();
    o.env = &env;
    o.sync = mode;
    o.gather_delay_us = 20'000;  // long, so that the count below does not depend on timing
    auto wal = Wal::Open(o);
    ASSERT_TRUE(wal.ok());
    const uint64_t writes_before = env.Count(io::FaultOp::kAppend);
    constexpr int kAppends = 400;
    std::atomic<int> ok{0};
    std::string payload(100, 'x');
    for (int i = 0; i < kAppends; ++i) {
      std::string_view view = payload;
      auto r = (*wal)->Append({&view, 1}, [&](const Status& s) { ok += s.ok(); });
      ASSERT_TRUE(r.ok());
      // A producer with work between appends (decoding the next request), slower than a write.
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    ASSERT_TRUE((*wal)->Close().ok());
    EXPECT_EQ(ok.load(), kAppends);
    // About 400 x 50 us = 20 ms of appends: a handful of writes, against one per append without
    // gathering.
    EXPECT_LT(env.Count(io::FaultOp::kAppend) - writes_before, uint64_t{kAppends / 8});
    auto all = testing::ReadAll(o);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), size_t{kAppends});
  }
}

}  // namespace
}  // namespace ca::wal
