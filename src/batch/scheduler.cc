#include "batch/scheduler.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <exception>
#include <system_error>
#include <utility>

#include "base/clock.h"

namespace ca::batch {
namespace {

/// The longest the scheduler thread sleeps without reading the clock again (wall-clock jumps).
constexpr int64_t kMaxSleepMs = 10'000;

void JoinAll(std::vector<std::thread>* threads) {
  for (std::thread& t : *threads) t.join();
  threads->clear();
}

}  // namespace

Result<std::optional<JobRun>> InMemoryJobRunStore::LastRun(std::string_view job) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = runs_.find(job);
  if (it == runs_.end()) return std::optional<JobRun>();
  return std::optional<JobRun>(it->second);
}

Status InMemoryJobRunStore::RecordRun(std::string_view job, const JobRun& run) {
  std::lock_guard<std::mutex> lock(mu_);
  runs_.insert_or_assign(std::string(job), run);
  return Status::Ok();
}

struct Scheduler::Job {
  Job(std::string n, CronSchedule s, std::function<Status()> r, JobOptions o)
      : name(std::move(n)), schedule(std::move(s)), run(std::move(r)), options(o) {}

  const std::string name;
  const CronSchedule schedule;
  const std::function<Status()> run;
  const JobOptions options;
  // Guarded by Scheduler::mu_.
  std::optional<JobRun> last_run;
  std::optional<int64_t> next_ms;
  bool running = false;
  uint64_t skipped = 0;
  std::string record_error;
  std::thread worker;  // the thread of the current or last run; joined before the next
};

Scheduler::Scheduler(JobRunStore* store, Options options)
    : store_(store),
      now_ms_(options.now_ms ? std::move(options.now_ms) : std::function<int64_t()>(NowMillis)) {
  assert(store_ != nullptr);
}

Scheduler::~Scheduler() { Stop(); }

std::optional<int64_t> Scheduler::FirstRun(const Job& job, int64_t now) const {
  if (job.last_run) {
    // A scheduled time after the last run's start that has already passed: it was missed.
    const std::optional<int64_t> missed = job.schedule.NextAfter(job.last_run->started_ms);
    if (missed && *missed <= now) return now;
  } else if (job.options.run_if_never_ran) {
    return now;
  }
  return job.schedule.NextAfter(now);
}

Status Scheduler::Add(std::string name, CronSchedule schedule, std::function<Status()> run,
                      JobOptions options) {
  if (name.empty()) return InvalidArgument("a job needs a name");
  if (!run) return InvalidArgument("job '" + name + "' has no function");
  std::lock_guard<std::mutex> admin(admin_mu_);
  auto job = std::make_unique<Job>(std::move(name), std::move(schedule), std::move(run), options);
  bool started = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kStopped) return Unavailable("the scheduler is stopped");
    if (jobs_.contains(job->name)) {
      return Status(ErrorCode::kAlreadyExists, "job '" + job->name + "' already exists");
    }
    started = state_ == State::kStarted;
  }
  if (started) {
    // State and names cannot change meanwhile: Start, Stop and Add hold admin_mu_.
    Result<std::optional<JobRun>> last = store_->LastRun(job->name);
    if (!last.ok()) return last.status().WithContext("job '" + job->name + "'");
    job->last_run = std::move(last).value();
    job->next_ms = FirstRun(*job, now_ms_());
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = job->name;
  jobs_.emplace(std::move(key), std::move(job));
  if (started) {
    ++wakeups_requested_;
    wake_cv_.notify_all();
  }
  return Status::Ok();
}

Status Scheduler::Start() {
  std::lock_guard<std::mutex> admin(admin_mu_);
  std::vector<Job*> jobs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kStarted) {
      return Status(ErrorCode::kAlreadyExists, "the scheduler is already started");
    }
    if (state_ == State::kStopped) return Unavailable("the scheduler is stopped");
    for (auto& entry : jobs_) jobs.push_back(entry.second.get());
  }
  std::vector<std::optional<JobRun>> last_runs;
  for (const Job* job : jobs) {
    Result<std::optional<JobRun>> last = store_->LastRun(job->name);
    if (!last.ok()) return last.status().WithContext("job '" + job->name + "'");
    last_runs.push_back(std::move(last).value());
  }
  const int64_t now = now_ms_();
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobs[i]->last_run = std::move(last_runs[i]);
    jobs[i]->next_ms = FirstRun(*jobs[i], now);
  }
  state_ = State::kStarted;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void Scheduler::Stop() {
  std::lock_guard<std::mutex> admin(admin_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kStopped) return;
    state_ = State::kStopped;
    for (auto& entry : jobs_) entry.second->next_ms.reset();
    wake_cv_.notify_all();
    done_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  // No run starts from here on: the scheduler thread is gone and RunNow sees kStopped.
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& entry : jobs_) {
      if (entry.second->worker.joinable()) workers.push_back(std::move(entry.second->worker));
    }
  }
  JoinAll(&workers);
}

Status Scheduler::RunNow(std::string_view name) {
  std::vector<std::thread> to_join;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kStarted) {
      return Unavailable(state_ == State::kNew ? "the scheduler is not started yet"
                                               : "the scheduler is stopped");
    }
    const auto it = jobs_.find(name);
    if (it == jobs_.end()) return NotFound("no job named '" + std::string(name) + "'");
    Job& job = *it->second;
    if (job.running) {
      return Status(ErrorCode::kAlreadyExists, "job '" + job.name + "' is already running");
    }
    CA_RETURN_IF_ERROR(StartRunLocked(job, &to_join));
  }
  JoinAll(&to_join);
  return Status::Ok();
}

std::vector<JobStatus> Scheduler::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobStatus> out;
  out.reserve(jobs_.size());
  for (const auto& entry : jobs_) {
    const Job& job = *entry.second;
    JobStatus status;
    status.name = job.name;
    status.schedule = job.schedule.expression();
    status.time_zone = job.schedule.time_zone();
    status.last_run = job.last_run;
    status.next_run_ms = job.next_ms;
    status.running = job.running;
    status.skipped_runs = job.skipped;
    status.record_error = job.record_error;
    out.push_back(std::move(status));
  }
  return out;
}

void Scheduler::Tick() {
  std::unique_lock<std::mutex> lock(mu_);
  if (state_ != State::kStarted) return;
  const uint64_t target = ++wakeups_requested_;
  wake_cv_.notify_all();
  done_cv_.wait(lock, [&] { return wakeups_done_ >= target || state_ != State::kStarted; });
}

void Scheduler::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return running_ == 0; });
}

Status Scheduler::StartRunLocked(Job& job, std::vector<std::thread>* to_join) {
  if (job.worker.joinable()) to_join->push_back(std::move(job.worker));
  try {
    job.worker = std::thread([this, &job] { Execute(job); });
  } catch (const std::system_error& e) {
    const int64_t now = now_ms_();
    job.last_run = JobRun{now, now, false, std::string("could not start a thread: ") + e.what()};
    return Unavailable(job.last_run->message);
  }
  job.running = true;
  ++running_;
  return Status::Ok();
}

void Scheduler::Execute(Job& job) {
  JobRun run;
  run.started_ms = now_ms_();
  try {
    const Status status = job.run();
    run.ok = status.ok();
    if (!status.ok()) run.message = status.ToString();
  } catch (const std::exception& e) {
    run.message = std::string("exception: ") + e.what();
  } catch (...) {
    run.message = "exception of unknown type";
  }
  run.finished_ms = now_ms_();
  // Recorded before `running` is cleared, so that records of one job never race.
  const Status recorded = store_->RecordRun(job.name, run);
  std::lock_guard<std::mutex> lock(mu_);
  job.last_run = std::move(run);
  job.record_error = recorded.ok() ? "" : recorded.ToString();
  job.running = false;
  --running_;
  done_cv_.notify_all();
}

void Scheduler::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (state_ == State::kStarted) {
    const uint64_t seen = wakeups_requested_;
    const int64_t now = now_ms_();
    std::vector<std::thread> to_join;
    std::optional<int64_t> earliest;
    for (auto& entry : jobs_) {
      Job& job = *entry.second;
      if (job.next_ms && *job.next_ms <= now) {
        if (job.running) {
          ++job.skipped;
        } else {
          // On failure to start a thread the error is in last_run; the next time is computed.
          StartRunLocked(job, &to_join).IgnoreError();
        }
        // From now, not from the missed time: a late wake-up runs a job once, not per slot.
        job.next_ms = job.schedule.NextAfter(now);
      }
      if (job.next_ms && (!earliest || *job.next_ms < *earliest)) earliest = job.next_ms;
    }
    wakeups_done_ = seen;
    done_cv_.notify_all();
    if (!to_join.empty()) {
      // Previous runs' threads, already finished (their jobs were not running).
      lock.unlock();
      JoinAll(&to_join);
      lock.lock();
      continue;
    }
    const int64_t sleep_ms =
        earliest ? std::clamp<int64_t>(*earliest - now, 0, kMaxSleepMs) : kMaxSleepMs;
    wake_cv_.wait_for(lock, std::chrono::milliseconds(sleep_ms),
                      [&] { return state_ != State::kStarted || wakeups_requested_ != seen; });
  }
}

}  // namespace ca::batch
