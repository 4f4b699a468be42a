#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/result.h"
#include "io/env.h"
#include "services/query_service.h"
#include "state/state_store.h"
#include "store/event_store.h"

namespace ca::services {

struct ExportServiceOptions {
  /// Where the files go (`<dir>/<tenant>/<id>.<csv|jsonl>[.gz]`); created when missing.
  std::string dir;
  /// Worker threads, each running one job at a time, oldest queued job first.
  int max_running = 1;
  /// Finished (done or failed) jobs older than this are deleted with their files by CleanUp.
  int64_t keep_ms = int64_t{24} * 3600 * 1000;
  /// A job that would write more rows fails (narrow the range or filter instead).
  size_t max_rows = 50'000'000;
  /// The clock of created_at_ms / finished_at_ms and of clean-up; system time when unset.
  std::function<int64_t()> now_ms;
  /// File access; io::Env::Default() when null.
  io::Env* env = nullptr;
};

/// Exports of one tenant's data as background jobs (docs/api/export.md): `POST /analytics/export`
/// submits, `GET /analytics/exports/{id}` polls and downloads. Jobs are rows of the state store's
/// `export_jobs`, so they survive restarts: Start re-queues the jobs a crash left queued or
/// running. Files are written through a temporary name (`<file>.tmp`) and renamed when complete,
/// so a file that exists is whole. Rows are streamed: the writer keeps one scan block (or one
/// state-store page) and a 64 KiB output buffer in memory, never the whole export.
/// Thread-safe.
class ExportService {
 public:
  using Options = ExportServiceOptions;

  /// The pointers must outlive the service. `queries` may be null: query exports are then
  /// refused with kUnavailable. Starts no thread: call Start.
  ExportService(store::EventStore* store, state::StateStore* state, QueryService* queries,
                Options options);
  /// Stops the workers (Stop).
  ~ExportService();
  ExportService(const ExportService&) = delete;
  ExportService& operator=(const ExportService&) = delete;

  /// Creates the directory, re-queues the jobs left `running` (their partial files deleted) or
  /// `queued` by an earlier process, oldest first, and starts the workers. Errors from the file
  /// system or the state store; the service then has no workers. Call once.
  Status Start();
  /// Stops the workers. A running job is interrupted: its partial file is deleted and it is
  /// `queued` again, for the next Start. Idempotent.
  void Stop();

  /// Validates `request_json` (see docs/api/export.md), stores a `queued` job with a new id
  /// ("exp_" + 16 hex digits) and wakes a worker. Errors: kMalformedJson (not JSON),
  /// kInvalidArgument naming the field (unknown field or format, both or neither of query and
  /// dataset, bad dates...), the query spec's own code (ParseQuerySpec) prefixed by "query: ",
  /// kUnavailable for a query export without a QueryService, the state store's errors
  /// (kNotFound for an unknown tenant).
  Result<state::ExportJobRow> Submit(const std::string& tenant, std::string_view request_json);
  /// `tenant`'s job `id`; kNotFound for an unknown id or another tenant's.
  Result<state::ExportJobRow> Get(const std::string& tenant, std::string_view id);
  /// Path of the finished file of `tenant`'s job `id`. kNotFound (unknown job, or its file is
  /// gone); kUnavailable when the job is not done (the message gives the status, and the error
  /// of a failed job).
  Result<std::string> FilePath(const std::string& tenant, std::string_view id);
  /// Waits until `tenant`'s job `id` is done or failed and returns it; kUnavailable "timed out"
  /// after `timeout_ms`, kNotFound as Get. For the CLI and tests.
  Result<state::ExportJobRow> WaitFinished(const std::string& tenant, std::string_view id,
                                           int64_t timeout_ms);

  /// Deletes the done and failed jobs that finished more than keep_ms ago, with their files.
  /// The workers call it when idle, at most once a minute. Returns the first error, after
  /// trying every job.
  Status CleanUp();

  /// The Content-Type of a job's file: "text/csv; charset=utf-8" or "application/x-ndjson",
  /// and "application/gzip" for a gzip file (the file is served as is, without a
  /// Content-Encoding: clients save it as `.gz`).
  static std::string ContentTypeOf(const state::ExportJobRow& row);
  /// The file name to offer for download, e.g. "exp_0123456789abcdef.csv.gz".
  static std::string DownloadNameOf(const state::ExportJobRow& row);

 private:
  struct Request;

  void WorkerLoop();
  void RunJob(const std::string& tenant, const std::string& id);
  /// Writes the job's rows to `tmp`; returns the rows written and the file size.
  Status WriteFile(const std::string& tenant, const Request& request, const std::string& tmp,
                   int64_t* rows, int64_t* bytes);
  std::string FinalPath(const std::string& tenant, const std::string& id,
                        const Request& request) const;
  int64_t Now() const;
  void NotifyFinished();

  store::EventStore* const store_;
  state::StateStore* const state_;
  QueryService* const queries_;
  const Options options_;
  io::Env* const env_;

  std::mutex cleanup_mu_;  // serialises CleanUp
  std::mutex mu_;
  std::condition_variable work_cv_;                        // a job was queued, or stopping_
  std::condition_variable done_cv_;                        // a job finished
  std::deque<std::pair<std::string, std::string>> queue_;  // (tenant, id); guarded by mu_
  bool started_ = false;                                   // guarded by mu_
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point last_cleanup_;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace ca::services
