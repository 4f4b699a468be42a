#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/metrics.h"
#include "base/result.h"
#include "cache/cache.h"
#include "query/spec.h"
#include "state/state_store.h"
#include "store/event_store.h"

namespace ca::services {

struct QueryServiceOptions {
  /// Threads that run queries. They run at a lower scheduling priority than the ingest path
  /// (nice +5), so that a heavy query slows down other queries, not ingestion.
  int threads = 2;
  /// Queries waiting for a thread; past this, Submit answers kUnavailable.
  size_t max_queued = 64;
  /// Memory budget of one query.
  size_t max_memory_bytes = 512u << 20;
  /// When set, each query's run time in seconds by kind (label "kind": trends, funnel,
  /// retention, paths, events, user_metrics); must outlive the service.
  metrics::HistogramFamily* latency_seconds = nullptr;
  /// Where UserMetrics reads the whole UTC days of a period (daily_user_metrics); null: raw
  /// events only. Used only while `rollups_current()` says the rollups hold every acknowledged
  /// event (it may wait a little for them).
  state::StateStore* rollups = nullptr;
  std::function<bool()> rollups_current;
  /// Caches user metrics (null: no cache); must outlive the service.
  cache::Cache* cache = nullptr;
};

/// The periods of GET /analytics/metrics/{period}: rolling windows ending now.
enum class MetricsPeriod { kDay, kWeek, kMonth, kYear };

/// Runs analytics queries over the event store on its own threads (docs/api/query.md).
/// Thread-safe.
class QueryService {
 public:
  using Done = std::function<void(Result<nlohmann::json>)>;

  QueryService(store::EventStore* store, QueryServiceOptions options);
  ~QueryService();
  QueryService(const QueryService&) = delete;
  QueryService& operator=(const QueryService&) = delete;

  /// Parses `spec_json` and runs it for `tenant` on a query thread; `done` gets the result JSON
  /// or the error (spec errors, kQueryTimeout, kQueryMemoryExceeded, kUnavailable when the
  /// queue is full or the service stopped).
  void Submit(std::string tenant, std::string spec_json, Done done);
  /// Runs a parsed spec on the calling thread.
  Result<nlohmann::json> Run(const std::string& tenant, const query::QuerySpec& spec) const;

  /// One user's activity over the rolling period ending at `now_ms` and the period before it:
  /// page views, job views, saves, applications, interviews, offers, time spent and response
  /// rate, with the change in percent (docs/api/metrics.md). The counts of whole UTC days come
  /// from the rollups when they are current (options.rollups), the partial days at the ends from
  /// events; the response rate always from events. Runs on a query thread. `end_ms` nullopt:
  /// now. With options.cache, answers are cached for cache::kUserMetricsTtl under the user's
  /// tag (dropped when their new events are rolled up); "now" is one key, so a rolling window
  /// may be up to that old.
  void SubmitUserMetrics(std::string tenant, std::string user_id, MetricsPeriod period,
                         std::optional<int64_t> end_ms, Done done);
  Result<nlohmann::json> UserMetrics(const std::string& tenant, const std::string& user_id,
                                     MetricsPeriod period, int64_t now_ms) const;

  /// Runs `work` on a query thread (other reads, e.g. dashboards, share the threads and their
  /// low priority). `work` gets OK to do its job, or kUnavailable when the queue is full or
  /// the service stopped: then it must only answer its caller.
  void SubmitWork(std::function<void(const Status&)> work);

  /// Stops the threads; queued work is answered with kUnavailable.
  void Stop();

 private:
  bool Enqueue(std::function<void()> work);
  void WorkerLoop();

  store::EventStore* const store_;
  const QueryServiceOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace ca::services
