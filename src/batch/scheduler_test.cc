#include "batch/scheduler.h"

#include <gtest/gtest.h>

#include <cctz/time_zone.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>

#include "base/clock.h"

namespace ca::batch {
namespace {

/// Epoch ms of a UTC time "YYYY-MM-DD HH:MM:SS".
int64_t Utc(const std::string& text) {
  cctz::time_point<cctz::seconds> tp;
  EXPECT_TRUE(cctz::parse("%Y-%m-%d %H:%M:%S", text, cctz::utc_time_zone(), &tp)) << text;
  return static_cast<int64_t>(tp.time_since_epoch().count()) * 1000;
}

class FakeClock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  void Set(int64_t now) { now_.store(now); }
  int64_t Now() const { return now_.load(); }
  std::function<int64_t()> Fn() {
    return [this] { return Now(); };
  }

 private:
  std::atomic<int64_t> now_;
};

/// Holds the jobs that wait on it until opened; counts how many entered.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
};

CronSchedule Cron(const std::string& expression, const std::string& zone = "UTC") {
  Result<CronSchedule> s = CronSchedule::Parse(expression, zone);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

JobStatus Find(const Scheduler& scheduler, const std::string& name) {
  for (JobStatus& status : scheduler.List()) {
    if (status.name == name) return status;
  }
  ADD_FAILURE() << "no job " << name;
  return {};
}

/// A job that counts its calls.
std::function<Status()> Counter(std::atomic<int>* calls) {
  return [calls] {
    ++*calls;
    return Status::Ok();
  };
}

class SchedulerTest : public ::testing::Test {
 protected:
  FakeClock clock_{Utc("2024-05-01 09:59:30")};
  InMemoryJobRunStore store_;
  Scheduler::Options Options() { return {.now_ms = clock_.Fn()}; }
};

TEST_F(SchedulerTest, RunsAtTheScheduledMinute) {
  Scheduler scheduler(&store_, Options());
  std::atomic<int> calls{0};
  ASSERT_TRUE(scheduler.Add("daily", Cron("0 10 * * *"), Counter(&calls)).ok());
  EXPECT_EQ(Find(scheduler, "daily").next_run_ms, std::nullopt);  // not started
  ASSERT_TRUE(scheduler.Start().ok());
  EXPECT_EQ(Find(scheduler, "daily").next_run_ms, Utc("2024-05-01 10:00:00"));

  scheduler.Tick();
  clock_.Set(Utc("2024-05-01 10:00:00") - 1);
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 0);

  clock_.Set(Utc("2024-05-01 10:00:00"));
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 1);
  const JobStatus status = Find(scheduler, "daily");
  ASSERT_TRUE(status.last_run.has_value());
  EXPECT_EQ(status.last_run->started_ms, Utc("2024-05-01 10:00:00"));
  EXPECT_TRUE(status.last_run->ok);
  EXPECT_EQ(status.last_run->message, "");
  EXPECT_EQ(status.next_run_ms, Utc("2024-05-02 10:00:00"));
  EXPECT_FALSE(status.running);
  EXPECT_EQ(status.schedule, "0 10 * * *");
  EXPECT_EQ(status.time_zone, "UTC");

  clock_.Set(Utc("2024-05-01 10:00:30"));
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 1);
}

TEST_F(SchedulerTest, HonoursTheTimeZone) {
  clock_.Set(Utc("2024-01-15 13:00:00"));  // 08:00 in New York (EST, -05:00)
  Scheduler scheduler(&store_, Options());
  std::atomic<int> calls{0};
  ASSERT_TRUE(scheduler.Add("ny", Cron("0 9 * * *", "America/New_York"), Counter(&calls)).ok());
  ASSERT_TRUE(scheduler.Start().ok());
  EXPECT_EQ(Find(scheduler, "ny").next_run_ms, Utc("2024-01-15 14:00:00"));
  EXPECT_EQ(Find(scheduler, "ny").time_zone, "America/New_York");

  clock_.Set(Utc("2024-01-15 13:59:59"));
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 0);
  clock_.Set(Utc("2024-01-15 14:00:00"));
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 1);
}

TEST_F(SchedulerTest, CatchUpRunsOnceAfterDowntime) {
  // Last runs before a restart: "missed" ran on May 1 and missed May 2, 3 and 4; "current" ran
  // at its latest scheduled time.
  ASSERT_TRUE(
      store_.RecordRun("missed", {Utc("2024-05-01 10:00:00"), Utc("2024-05-01 10:01:00"), true, ""})
          .ok());
  ASSERT_TRUE(
      store_
          .RecordRun("current", {Utc("2024-05-04 10:00:00"), Utc("2024-05-04 10:01:00"), true, ""})
          .ok());
  clock_.Set(Utc("2024-05-04 12:00:00"));
  Scheduler scheduler(&store_, Options());
  std::atomic<int> missed{0};
  std::atomic<int> current{0};
  ASSERT_TRUE(scheduler.Add("missed", Cron("0 10 * * *"), Counter(&missed)).ok());
  ASSERT_TRUE(scheduler.Add("current", Cron("0 10 * * *"), Counter(&current)).ok());
  ASSERT_TRUE(scheduler.Start().ok());
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(missed, 1);
  EXPECT_EQ(current, 0);
  const JobStatus status = Find(scheduler, "missed");
  ASSERT_TRUE(status.last_run.has_value());
  EXPECT_EQ(status.last_run->started_ms, Utc("2024-05-04 12:00:00"));
  EXPECT_EQ(status.next_run_ms, Utc("2024-05-05 10:00:00"));
  EXPECT_EQ(Find(scheduler, "current").next_run_ms, Utc("2024-05-05 10:00:00"));

  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(missed, 1);
  // The catch-up run is persisted like any other.
  Result<std::optional<JobRun>> stored = store_.LastRun("missed");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->started_ms, Utc("2024-05-04 12:00:00"));
}

TEST_F(SchedulerTest, NeverRanJobWaitsUnlessAskedToRun) {
  Scheduler scheduler(&store_, Options());
  std::atomic<int> waits{0};
  std::atomic<int> runs{0};
  ASSERT_TRUE(scheduler.Add("waits", Cron("0 10 * * *"), Counter(&waits)).ok());
  ASSERT_TRUE(
      scheduler
          .Add("runs", Cron("0 10 * * *"), Counter(&runs), JobOptions{.run_if_never_ran = true})
          .ok());
  ASSERT_TRUE(scheduler.Start().ok());
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(waits, 0);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(Find(scheduler, "waits").next_run_ms, Utc("2024-05-01 10:00:00"));
  EXPECT_EQ(Find(scheduler, "runs").next_run_ms, Utc("2024-05-01 10:00:00"));
}

TEST_F(SchedulerTest, LateWakeUpRunsOnce) {
  Scheduler scheduler(&store_, Options());
  std::atomic<int> calls{0};
  ASSERT_TRUE(scheduler.Add("five", Cron("*/5 * * * *"), Counter(&calls)).ok());
  ASSERT_TRUE(scheduler.Start().ok());
  clock_.Set(Utc("2024-05-01 11:02:00"));  // twelve times passed
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Find(scheduler, "five").next_run_ms, Utc("2024-05-01 11:05:00"));
  EXPECT_EQ(Find(scheduler, "five").skipped_runs, 0u);
}

TEST_F(SchedulerTest, NeverTwoRunsOfOneJobAtOnce) {
  Scheduler scheduler(&store_, Options());
  Gate gate;
  std::atomic<int> calls{0};
  ASSERT_TRUE(scheduler
                  .Add("slow", Cron("*/5 * * * *"),
                       [&] {
                         ++calls;
                         gate.Wait();
                         return Status::Ok();
                       })
                  .ok());
  ASSERT_TRUE(scheduler.Start().ok());
  clock_.Set(Utc("2024-05-01 10:00:00"));
  scheduler.Tick();
  gate.WaitEntered(1);
  EXPECT_TRUE(Find(scheduler, "slow").running);

  clock_.Set(Utc("2024-05-01 10:05:00"));  // still running at the next time
  scheduler.Tick();
  JobStatus status = Find(scheduler, "slow");
  EXPECT_TRUE(status.running);
  EXPECT_EQ(status.skipped_runs, 1u);
  EXPECT_EQ(status.next_run_ms, Utc("2024-05-01 10:10:00"));
  EXPECT_EQ(scheduler.RunNow("slow"), ErrorCode::kAlreadyExists);

  clock_.Set(Utc("2024-05-01 10:06:00"));
  gate.Open();
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 1);
  status = Find(scheduler, "slow");
  EXPECT_FALSE(status.running);
  ASSERT_TRUE(status.last_run.has_value());
  EXPECT_EQ(status.last_run->started_ms, Utc("2024-05-01 10:00:00"));
  EXPECT_EQ(status.last_run->finished_ms, Utc("2024-05-01 10:06:00"));

  clock_.Set(Utc("2024-05-01 10:10:00"));
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(Find(scheduler, "slow").skipped_runs, 1u);
}

TEST_F(SchedulerTest, FailuresAndExceptionsAreRecordedWithTheirMessage) {
  Scheduler scheduler(&store_, Options());
  ASSERT_TRUE(scheduler.Add("fails", Cron("@daily"), [] { return Internal("disk on fire"); }).ok());
  ASSERT_TRUE(
      scheduler.Add("throws", Cron("@daily"), []() -> Status { throw std::runtime_error("kaput"); })
          .ok());
  ASSERT_TRUE(scheduler.Add("throws_int", Cron("@daily"), []() -> Status { throw 42; }).ok());
  ASSERT_TRUE(scheduler.Start().ok());
  for (const char* name : {"fails", "throws", "throws_int"}) {
    ASSERT_TRUE(scheduler.RunNow(name).ok()) << name;
  }
  scheduler.WaitIdle();

  const JobStatus fails = Find(scheduler, "fails");
  ASSERT_TRUE(fails.last_run.has_value());
  EXPECT_FALSE(fails.last_run->ok);
  EXPECT_EQ(fails.last_run->message, "internal: disk on fire");
  const JobStatus throws = Find(scheduler, "throws");
  ASSERT_TRUE(throws.last_run.has_value());
  EXPECT_FALSE(throws.last_run->ok);
  EXPECT_EQ(throws.last_run->message, "exception: kaput");
  const JobStatus throws_int = Find(scheduler, "throws_int");
  ASSERT_TRUE(throws_int.last_run.has_value());
  EXPECT_FALSE(throws_int.last_run->ok);
  EXPECT_NE(throws_int.last_run->message, "");

  Result<std::optional<JobRun>> stored = store_.LastRun("throws");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_FALSE((*stored)->ok);
  EXPECT_EQ((*stored)->message, "exception: kaput");
}

TEST_F(SchedulerTest, LastRunsArePersistedAndReadBackAtStart) {
  {
    Scheduler first(&store_, Options());
    ASSERT_TRUE(first.Add("job", Cron("0 10 * * *"), [] { return Status::Ok(); }).ok());
    ASSERT_TRUE(first.Start().ok());
    clock_.Set(Utc("2024-05-01 10:00:00"));
    first.Tick();
    first.WaitIdle();
  }
  // A restart the next day after the scheduled time: the run of May 1 is known, May 2 missed.
  clock_.Set(Utc("2024-05-02 11:00:00"));
  Scheduler second(&store_, Options());
  std::atomic<int> calls{0};
  ASSERT_TRUE(second.Add("job", Cron("0 10 * * *"), Counter(&calls)).ok());
  EXPECT_FALSE(Find(second, "job").last_run.has_value());
  ASSERT_TRUE(second.Start().ok());
  second.Tick();
  second.WaitIdle();
  EXPECT_EQ(calls, 1);
  const JobStatus status = Find(second, "job");
  ASSERT_TRUE(status.last_run.has_value());
  EXPECT_EQ(status.last_run->started_ms, Utc("2024-05-02 11:00:00"));
}

TEST_F(SchedulerTest, LastRunIsShownAfterStartWithoutRunning) {
  ASSERT_TRUE(store_
                  .RecordRun("job", {Utc("2024-05-01 09:00:00"), Utc("2024-05-01 09:00:05"), false,
                                     "internal: boom"})
                  .ok());
  Scheduler scheduler(&store_, Options());
  std::atomic<int> calls{0};
  ASSERT_TRUE(scheduler.Add("job", Cron("0 * * * *"), Counter(&calls)).ok());
  ASSERT_TRUE(scheduler.Start().ok());
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 0);
  const JobStatus status = Find(scheduler, "job");
  ASSERT_TRUE(status.last_run.has_value());
  EXPECT_EQ(status.last_run->finished_ms, Utc("2024-05-01 09:00:05"));
  EXPECT_EQ(status.last_run->message, "internal: boom");
  EXPECT_EQ(status.next_run_ms, Utc("2024-05-01 10:00:00"));
}

/// A store whose reads and writes fail while `fail` is set.
class FlakyStore final : public JobRunStore {
 public:
  Result<std::optional<JobRun>> LastRun(std::string_view job) override {
    if (fail) return IoError("state store unreachable");
    return inner.LastRun(job);
  }
  Status RecordRun(std::string_view job, const JobRun& run) override {
    if (fail) return IoError("state store unreachable");
    return inner.RecordRun(job, run);
  }
  std::atomic<bool> fail{true};
  InMemoryJobRunStore inner;
};

TEST_F(SchedulerTest, StoreErrors) {
  FlakyStore store;
  Scheduler scheduler(&store, Options());
  ASSERT_TRUE(scheduler.Add("job", Cron("@hourly"), [] { return Status::Ok(); }).ok());
  const Status start = scheduler.Start();
  EXPECT_EQ(start, ErrorCode::kIoError);
  EXPECT_NE(start.message().find("job 'job'"), std::string_view::npos) << start.message();
  EXPECT_EQ(scheduler.RunNow("job"), ErrorCode::kUnavailable);  // not started

  store.fail = false;
  ASSERT_TRUE(scheduler.Start().ok());
  store.fail = true;
  ASSERT_TRUE(scheduler.RunNow("job").ok());
  scheduler.WaitIdle();
  JobStatus status = Find(scheduler, "job");
  ASSERT_TRUE(status.last_run.has_value());
  EXPECT_TRUE(status.last_run->ok);
  EXPECT_NE(status.record_error.find("state store unreachable"), std::string::npos);

  store.fail = false;
  ASSERT_TRUE(scheduler.RunNow("job").ok());
  scheduler.WaitIdle();
  EXPECT_EQ(Find(scheduler, "job").record_error, "");
  Result<std::optional<JobRun>> stored = store.inner.LastRun("job");
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->has_value());
}

TEST_F(SchedulerTest, RunNow) {
  Scheduler scheduler(&store_, Options());
  std::atomic<int> calls{0};
  ASSERT_TRUE(scheduler.Add("job", Cron("0 10 * * *"), Counter(&calls)).ok());
  EXPECT_EQ(scheduler.RunNow("job"), ErrorCode::kUnavailable);  // not started
  ASSERT_TRUE(scheduler.Start().ok());
  EXPECT_EQ(scheduler.RunNow("nope"), ErrorCode::kNotFound);
  ASSERT_TRUE(scheduler.RunNow("job").ok());
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(scheduler.RunNow("job").ok());
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 2);
  const JobStatus status = Find(scheduler, "job");
  ASSERT_TRUE(status.last_run.has_value());
  EXPECT_EQ(status.last_run->started_ms, Utc("2024-05-01 09:59:30"));
  EXPECT_EQ(status.next_run_ms, Utc("2024-05-01 10:00:00"));  // unchanged
  scheduler.Stop();
  EXPECT_EQ(scheduler.RunNow("job"), ErrorCode::kUnavailable);
  EXPECT_EQ(calls, 2);
}

TEST_F(SchedulerTest, StopWaitsForRunningJobsAndNothingRunsAfterwards) {
  Scheduler scheduler(&store_, Options());
  Gate gate;
  std::atomic<int> calls{0};
  std::atomic<bool> finished{false};
  ASSERT_TRUE(scheduler
                  .Add("slow", Cron("* * * * *"),
                       [&] {
                         ++calls;
                         gate.Wait();
                         finished = true;
                         return Status::Ok();
                       })
                  .ok());
  ASSERT_TRUE(scheduler.Start().ok());
  ASSERT_TRUE(scheduler.RunNow("slow").ok());
  gate.WaitEntered(1);

  std::future<void> stopped = std::async(std::launch::async, [&] { scheduler.Stop(); });
  // Stop cannot return while the job waits on the gate.
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  gate.Open();
  stopped.get();
  EXPECT_TRUE(finished);
  const JobStatus status = Find(scheduler, "slow");
  EXPECT_FALSE(status.running);
  ASSERT_TRUE(status.last_run.has_value());
  EXPECT_EQ(status.next_run_ms, std::nullopt);

  clock_.Set(Utc("2024-05-01 10:30:00"));
  scheduler.Tick();
  EXPECT_EQ(scheduler.RunNow("slow"), ErrorCode::kUnavailable);
  EXPECT_EQ(scheduler.Start(), ErrorCode::kUnavailable);
  scheduler.Stop();  // idempotent
  EXPECT_EQ(calls, 1);
}

TEST_F(SchedulerTest, AddChecksAndAddAfterStart) {
  ASSERT_TRUE(
      store_.RecordRun("late", {Utc("2024-04-01 10:00:00"), Utc("2024-04-01 10:00:01"), true, ""})
          .ok());
  Scheduler scheduler(&store_, Options());
  std::atomic<int> calls{0};
  EXPECT_EQ(scheduler.Add("", Cron("@daily"), Counter(&calls)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(scheduler.Add("empty", Cron("@daily"), nullptr), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(scheduler.Add("job", Cron("@daily"), Counter(&calls)).ok());
  EXPECT_EQ(scheduler.Add("job", Cron("@hourly"), Counter(&calls)), ErrorCode::kAlreadyExists);
  ASSERT_TRUE(scheduler.Start().ok());
  EXPECT_EQ(scheduler.Start(), ErrorCode::kAlreadyExists);

  // Added after Start: its last run is read and the catch-up rule applied at once.
  ASSERT_TRUE(scheduler.Add("late", Cron("0 10 * * *"), Counter(&calls)).ok());
  scheduler.Tick();
  scheduler.WaitIdle();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Find(scheduler, "late").next_run_ms, Utc("2024-05-01 10:00:00"));
  EXPECT_EQ(scheduler.List().size(), 2u);

  scheduler.Stop();
  EXPECT_EQ(scheduler.Add("after", Cron("@daily"), Counter(&calls)), ErrorCode::kUnavailable);
}

TEST_F(SchedulerTest, ImpossibleScheduleHasNoNextRun) {
  Scheduler scheduler(&store_, Options());
  std::atomic<int> calls{0};
  ASSERT_TRUE(scheduler.Add("never", Cron("0 0 30 2 *"), Counter(&calls)).ok());
  ASSERT_TRUE(scheduler.Start().ok());
  scheduler.Tick();
  EXPECT_EQ(Find(scheduler, "never").next_run_ms, std::nullopt);
  EXPECT_EQ(calls, 0);
}

TEST(SchedulerRealClockTest, RunNowUsesTheWallClock) {
  InMemoryJobRunStore store;
  Scheduler scheduler(&store);
  std::atomic<int> calls{0};
  ASSERT_TRUE(scheduler.Add("job", Cron("0 0 1 1 *"), Counter(&calls)).ok());
  const int64_t before = NowMillis();
  ASSERT_TRUE(scheduler.Start().ok());
  ASSERT_TRUE(scheduler.RunNow("job").ok());
  scheduler.WaitIdle();
  const int64_t after = NowMillis();
  EXPECT_EQ(calls, 1);
  const JobStatus status = Find(scheduler, "job");
  ASSERT_TRUE(status.last_run.has_value());
  EXPECT_GE(status.last_run->started_ms, before);
  EXPECT_LE(status.last_run->finished_ms, after);
  ASSERT_TRUE(status.next_run_ms.has_value());
  EXPECT_GT(*status.next_run_ms, after);
}

}  // namespace
}  // namespace ca::batch
