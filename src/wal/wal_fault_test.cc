#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "io/fault_env.h"
#include "wal/wal.h"
#include "wal/wal_test_util.h"

namespace ca::wal {
namespace {

using io::FaultInjectionEnv;
using io::FaultKind;
using io::FaultOp;
using testing::AppendAndWait;
using testing::ReadAll;
using testing::TempDir;

struct FaultCase {
  FaultOp op;
  FaultKind kind;
  bool sticky;
  bool crash;  // SimulateCrash instead of a clean close
};

ErrorCode CodeOf(FaultKind k) {
  return k == FaultKind::kDiskFull ? ErrorCode::kDiskFull : ErrorCode::kIoError;
}

/// Outcome of every payload a scenario tried to append.
struct Outcomes {
  std::mutex mu;
  std::map<std::string, Status> by_payload;  // absent: Append itself refused
  int acknowledged = 0;                      // payloads whose callback said OK
  bool saw_expected_code = false;
};

/// Runs appenders against a log whose `nth` operation of `c.op` fails, then checks the promise:
/// every record acknowledged OK is read back exactly once after reopening, nothing is read back
/// twice, and once the fault is gone appends succeed again.
void RunScenario(const FaultCase& c, uint64_t nth) {
  SCOPED_TRACE("nth=" + std::to_string(nth));
  TempDir dir;
  FaultInjectionEnv env(io::Env::Default());
  Options o;
  o.dir = dir.path();
  o.env = &env;
  o.segment_bytes = 300;
  o.retry_interval_ms = 2;
  auto opened = Wal::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Wal> wal = std::move(*opened);
  ASSERT_TRUE(wal->RegisterConsumer("c").ok());
  env.Arm(c.op, nth, c.kind, c.sticky, /*partial_bytes=*/c.op == FaultOp::kAppend ? 13 : 0);

  Outcomes out;
  std::atomic<bool> crashed{false};
  const ErrorCode want = CodeOf(c.kind);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 12; ++i) {
        std::vector<std::string> ps;
        for (int k = 0; k <= (i + t) % 3; ++k) {
          ps.push_back("t" + std::to_string(t) + "-" + std::to_string(i) + "-" + std::to_string(k));
        }
        std::vector<std::string_view> views(ps.begin(), ps.end());
        // While the log is broken Append refuses at once; keep trying for a while, as a client
        // would, so that the appenders outlive the recovery.
        testing::Waiter w;
        auto r = wal->Append(views, w.callback());
        for (int attempt = 0; !r.ok() && !crashed && attempt < 200; ++attempt) {
          if (r.status().code() == want) {
            std::lock_guard lock(out.mu);
            out.saw_expected_code = true;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          r = wal->Append(views, w.callback());
        }
        Status s = r.ok() ? w.Wait() : r.status();
        std::lock_guard lock(out.mu);
        if (s.code() == want) out.saw_expected_code = true;
        if (r.ok()) {
          for (const auto& p : ps) out.by_payload[p] = s;
          if (s.ok()) out.acknowledged += static_cast<int>(ps.size());
        }
        if (t == 0 && i % 4 == 3) {
          Status ck = wal->CommitCheckpoint("c", wal->durable_lsn());
          if (ck.code() == want) out.saw_expected_code = true;
        }
      }
    });
  }
  if (c.crash) {
    // Crash while the appenders are mid-flight, once some records are acknowledged (each group
    // waits for a real fdatasync, which can take long on a busy disk).
    for (int i = 0; i < 20000; ++i) {
      {
        std::lock_guard lock(out.mu);
        if (out.acknowledged >= 10) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    crashed = true;
    env.SimulateCrash();
  }
  for (auto& th : threads) th.join();

  if (env.InjectedFaults() > 0) {
    EXPECT_TRUE(out.saw_expected_code) << "a fault fired but no caller saw its error";
  }
  if (c.crash) {
    wal->Close().IgnoreError();
    wal.reset();
    env.Disarm();
  } else {
    env.Disarm();
    // Recovery runs on the sync thread; once it has, appends succeed again.
    Status s;
    for (int i = 0; i < 500; ++i) {
      s = AppendAndWait(wal.get(), {"after-disarm"});
      if (s.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(s.ok()) << s.ToString();
    out.by_payload["after-disarm"] = s;
    EXPECT_FALSE(wal->stats().broken);
    ASSERT_TRUE(wal->Close().ok());
    wal.reset();
  }

  RecoveryReport rep;
  auto reopened = Wal::Open(o, &rep);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto all = ReadAll(o);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::map<std::string, int> seen;
  for (const auto& [lsn, p] : *all) seen[p]++;
  for (const auto& [p, n] : seen) EXPECT_EQ(n, 1) << p << " read back more than once";
  int acked = 0;
  for (const auto& [p, s] : out.by_payload) {
    if (!s.ok()) continue;
    ++acked;
    EXPECT_EQ(seen.count(p), 1u) << p << " was acknowledged but is not in the log";
  }
  EXPECT_GT(acked, 0);
  // The log keeps working after recovery.
  EXPECT_TRUE(AppendAndWait(reopened->get(), {"final"}).ok());
}

class WalFaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(WalFaultTest, AcknowledgedRecordsSurviveFailures) {
  const FaultCase c = GetParam();
  const uint64_t max_n = c.sticky ? 3 : 8;
  for (uint64_t n = 1; n <= max_n; ++n) {
    RunScenario(c, n);
    if (HasFatalFailure()) return;
  }
}

std::vector<FaultCase> AllCases() {
  std::vector<FaultCase> cases;
  for (FaultOp op : {FaultOp::kAppend, FaultOp::kSync, FaultOp::kRename}) {
    for (FaultKind kind : {FaultKind::kIoError, FaultKind::kDiskFull}) {
      cases.push_back({op, kind, false, false});
      cases.push_back({op, kind, true, false});
    }
    cases.push_back({op, FaultKind::kIoError, false, true});
  }
  cases.push_back({FaultOp::kSyncDir, FaultKind::kIoError, false, false});
  cases.push_back({FaultOp::kCreate, FaultKind::kDiskFull, false, false});
  return cases;
}

std::string CaseName(const ::testing::TestParamInfo<FaultCase>& info) {
  static const char* kOps[] = {"Append",   "Sync",   "SyncDir", "Rename",
                               "Truncate", "Create", "Remove"};
  const FaultCase& c = info.param;
  return std::string(kOps[static_cast<int>(c.op)]) +
         (c.kind == FaultKind::kDiskFull ? "DiskFull" : "IoError") + (c.sticky ? "Sticky" : "") +
         (c.crash ? "Crash" : "");
}

INSTANTIATE_TEST_SUITE_P(Ops, WalFaultTest, ::testing::ValuesIn(AllCases()), CaseName);

// The failure order: callbacks of the failed group and of everything buffered behind it get the
// error, in LSN order; while broken, Append refuses without calling back.
TEST(WalFaultOrderTest, FailedGroupFailsEverythingBehindItInOrder) {
  TempDir dir;
  FaultInjectionEnv env(io::Env::Default());
  Options o;
  o.dir = dir.path();
  o.env = &env;
  o.retry_interval_ms = 5;
  auto wal = Wal::Open(o);
  ASSERT_TRUE(wal.ok());
  env.Arm(FaultOp::kSync, 1, FaultKind::kDiskFull, /*sticky=*/true);
  env.Arm(FaultOp::kTruncate, 1, FaultKind::kDiskFull, /*sticky=*/true);  // recovery fails too

  std::mutex mu;
  std::vector<std::pair<Lsn, ErrorCode>> calls;
  std::vector<Lsn> ends;
  for (int i = 0; i < 20; ++i) {
    std::string p = "p" + std::to_string(i);
    std::string_view v = p;
    auto r = (*wal)->Append(std::span(&v, 1), [&, i](const Status& s) {
      std::lock_guard lock(mu);  // callers take their own locks inside callbacks
      calls.emplace_back(static_cast<Lsn>(i), s.code());
    });
    if (r.ok()) {
      ends.push_back(*r);
    } else {
      EXPECT_EQ(r.status().code(), ErrorCode::kDiskFull);
    }
  }
  // Wait until every accepted append has been called back.
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mu);
      if (calls.size() == ends.size()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(calls.size(), ends.size());
    for (size_t i = 0; i < calls.size(); ++i) {
      EXPECT_EQ(calls[i].first, i);  // LSN order
      EXPECT_EQ(calls[i].second, ErrorCode::kDiskFull);
    }
  }
  EXPECT_TRUE((*wal)->stats().broken);
  EXPECT_EQ((*wal)->durable_lsn(), 0u);
  bool called = false;
  auto r = (*wal)->Append({}, [&](const Status&) { called = true; });
  EXPECT_EQ(r.status().code(), ErrorCode::kDiskFull);
  EXPECT_FALSE(called);
  for (int i = 0; i < 1000 && env.Count(FaultOp::kTruncate) < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(env.Count(FaultOp::kTruncate), 3u);  // recovery is retried
  EXPECT_TRUE((*wal)->stats().broken);

  // Space comes back: the sync thread recovers and appends succeed.
  env.Disarm();
  Status s;
  for (int i = 0; i < 500; ++i) {
    s = AppendAndWait(wal->get(), {"again"});
    if (s.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE((*wal)->Close().ok());
  auto all = ReadAll(o);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front(), (std::pair<Lsn, std::string>(0, "again")));
}

}  // namespace
}  // namespace ca::wal
