#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/status.h"
#include "batch/cron.h"

namespace ca::batch {

/// One finished run of a job. Times are epoch milliseconds from the scheduler's clock.
struct JobRun {
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  bool ok = false;
  /// Empty on success; on failure the job's Status ("code_name: message") or "exception: what()".
  std::string message;
};

/// What `Scheduler::List` reports about a job (the `GET /analytics/jobs` view).
struct JobStatus {
  std::string name;
  std::string schedule;  ///< the normalised cron expression, e.g. "30 2 * * *"
  std::string time_zone;
  /// The last finished run: read from the JobRunStore at Start, then updated after each run.
  std::optional<JobRun> last_run;
  /// When the job runs next; nullopt before Start, after Stop, and when the schedule never
  /// matches again.
  std::optional<int64_t> next_run_ms;
  bool running = false;
  /// Scheduled times skipped since Start because the previous run was still running.
  uint64_t skipped_runs = 0;
  /// Why the last run could not be recorded in the JobRunStore; empty when it was.
  std::string record_error;
};

/// Where the last run of each job is kept, so that catch-up after a restart knows what was
/// missed. The server's implementation lives on the state store; `InMemoryJobRunStore` is for
/// tests. Implementations must be thread-safe: the scheduler calls them from its job threads.
class JobRunStore {
 public:
  virtual ~JobRunStore() = default;
  /// The last run recorded for `job`; nullopt when it never ran.
  virtual Result<std::optional<JobRun>> LastRun(std::string_view job) = 0;
  /// Records `run` as the last run of `job` (replacing the previous one).
  virtual Status RecordRun(std::string_view job, const JobRun& run) = 0;
};

/// A JobRunStore in memory (tests, or a server without a state store: nothing survives a
/// restart). Thread-safe.
class InMemoryJobRunStore final : public JobRunStore {
 public:
  Result<std::optional<JobRun>> LastRun(std::string_view job) override;
  Status RecordRun(std::string_view job, const JobRun& run) override;

 private:
  std::mutex mu_;
  std::map<std::string, JobRun, std::less<>> runs_;
};

/// Per-job options of `Scheduler::Add`.
struct JobOptions {
  /// For a job without any recorded run: false (default) waits for its next scheduled time;
  /// true runs it once right away at Start.
  bool run_if_never_ran = false;
};

/// Runs named jobs on their cron schedules (docs/scheduler.md).
///
/// Threads: one scheduler thread, plus one thread per running job (started for the run and
/// joined afterwards), so a slow job never delays another and there are at most as many job
/// threads as jobs.
///
/// Rules: a job never runs twice at once; when its next time comes while it still runs, that
/// time is skipped (counted in `JobStatus::skipped_runs`) and the following one computed. At
/// Start, a job whose last recorded run started before its most recent scheduled time (a run was
/// missed while the process was down) runs once right away, however many times were missed. Every
/// finished run is recorded in the JobRunStore.
///
/// All methods are thread-safe. Jobs must not call Stop (or destroy the scheduler).
class Scheduler {
 public:
  struct Options {
    /// The clock, epoch milliseconds; NowMillis when empty. Called from the scheduler and job
    /// threads, so it must be thread-safe. With a test clock, call Tick() after moving it.
    std::function<int64_t()> now_ms;
  };

  /// `store` must outlive the scheduler.
  explicit Scheduler(JobRunStore* store, Options options = {});
  /// Stops (waiting for running jobs).
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Adds a job: `run` is called on a job thread at each scheduled time; a non-OK Status or an
  /// exception is recorded as a failed run with its message. Allowed before and after Start
  /// (after Start it reads the job's last run from the store and applies the catch-up rule at
  /// once). Errors: kInvalidArgument for an empty name or an empty `run`, kAlreadyExists for a
  /// name already added, kUnavailable after Stop, or the store's error.
  Status Add(std::string name, CronSchedule schedule, std::function<Status()> run,
             JobOptions options = {});

  /// Reads each job's last run from the store, computes next runs (catch-up included) and starts
  /// the scheduler thread. Errors: the store's error (the scheduler stays unstarted and Start may
  /// be retried), kAlreadyExists when already started, kUnavailable after Stop.
  Status Start();

  /// Stops scheduling, then waits for running jobs to finish. No run starts afterwards.
  /// Idempotent.
  void Stop();

  /// Starts a run of `name` now, outside its schedule (its next scheduled time is unchanged).
  /// Errors: kNotFound for an unknown job, kAlreadyExists when it is running, kUnavailable
  /// before Start or after Stop.
  Status RunNow(std::string_view name);

  /// All jobs, by name.
  std::vector<JobStatus> List() const;

  /// Makes the scheduler thread read the clock again and returns once it has started every job
  /// due at that time. For tests with an injected clock (the thread otherwise sleeps until the
  /// next run, re-reading the clock at least every 10 s). Returns at once when not running.
  void Tick();

  /// Blocks until no job is running (runs finished and recorded).
  void WaitIdle();

 private:
  struct Job;

  std::optional<int64_t> FirstRun(const Job& job, int64_t now) const;
  /// Starts a run of `job` on a new thread; the job's previous (finished) thread, if any, goes
  /// to `to_join`. Requires mu_.
  Status StartRunLocked(Job& job, std::vector<std::thread>* to_join);
  void Execute(Job& job);
  void Loop();

  enum class State { kNew, kStarted, kStopped };

  JobRunStore* const store_;
  const std::function<int64_t()> now_ms_;

  // Serialises Add, Start and Stop, which read the store and join threads outside mu_.
  std::mutex admin_mu_;
  mutable std::mutex mu_;
  std::condition_variable wake_cv_;  // wakes the scheduler thread
  std::condition_variable done_cv_;  // a pass of the scheduler thread or a run has finished
  State state_ = State::kNew;        // guarded by mu_
  std::map<std::string, std::unique_ptr<Job>, std::less<>> jobs_;  // guarded by mu_
  uint64_t wakeups_requested_ = 0;                                 // guarded by mu_
  uint64_t wakeups_done_ = 0;                                      // guarded by mu_
  int running_ = 0;                                                // guarded by mu_
  std::thread thread_;
};

}  // namespace ca::batch
