#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "event/event.h"
#include "ingest/ingest_pipeline.h"

namespace ca::services {

/// The server's records of itself (docs/self-telemetry.md): each API request as a `perf_metric`
/// event (route, method, status, latency), each background task run as a `task_run` event (name,
/// duration, outcome) and each failure as an `error` event, written to the tenant `tenant` through
/// the ingest pipeline like any other events. Recording only appends to a bounded in-memory
/// queue, so it never blocks the request or task being measured; a thread commits the queue once
/// a second. When the queue is full, records are dropped and counted. Thread-safe.
class SelfTelemetry {
 public:
  struct Options {
    std::string tenant = "system";
    /// user_id of the events: which server recorded them.
    std::string node = "career-analytics";
    size_t max_queued = 10'000;
    int flush_interval_ms = 1000;
  };

  /// `pipeline` must outlive this object. Starts the committing thread.
  SelfTelemetry(ingest::IngestPipeline* pipeline, Options options);
  /// Commits what is queued and stops.
  ~SelfTelemetry();
  SelfTelemetry(const SelfTelemetry&) = delete;
  SelfTelemetry& operator=(const SelfTelemetry&) = delete;

  /// One API request: `route` is the registered path (not the raw target, so ids in paths do not
  /// make new series).
  void RecordRequest(std::string_view method, std::string_view route, int status,
                     double latency_ms);
  /// One background task run; a failure also records an `error` event with `error`.
  void RecordTask(std::string_view task, double duration_ms, bool ok, std::string_view error);

  struct Stats {
    uint64_t recorded = 0;   ///< events queued
    uint64_t dropped = 0;    ///< events not queued because the queue was full
    uint64_t committed = 0;  ///< events the pipeline acknowledged
    uint64_t failed = 0;     ///< events whose commit failed (e.g. disk full)
  };
  Stats stats() const;

  /// Commits what is queued now and waits for the pipeline's answer (tests, shutdown).
  void Flush();

 private:
  void Push(event::Event e);
  void Run();

  ingest::IngestPipeline* const pipeline_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<event::Event> queue_;
  Stats stats_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ca::services
