#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "cache/cache.h"
#include "ingest/ingest_pipeline.h"
#include "state/state_store.h"
#include "store/event_store.h"

namespace ca::services {

struct AdminDashboardOptions {
  /// The self-telemetry tenant (docs/self-telemetry.md) whose events the `system` part reads;
  /// empty: self-telemetry is off and the part says it is not available.
  std::string system_tenant;
  /// The server's ingest outcome counters since start (the same figures as
  /// `ca_ingest_events_total` in /metrics); null: the part's counters are null.
  std::function<ingest::IngestCounters()> ingest_counters;
  /// When those counters started (epoch ms).
  int64_t started_at_ms = 0;
  /// Memory budget of each query the dashboard runs.
  size_t max_memory_bytes = size_t{512} << 20;
};

/// What an admin asked for: a tenant, the days of the charts (1..365) and the IANA time zone
/// that cuts them into days and weeks.
struct AdminDashboardRequest {
  std::string tenant;
  int days = 30;
  std::string timezone = "UTC";
  int64_t now_ms = 0;
};

/// The admin's view of a tenant (docs/api/admin-dashboard.md): active users (DAU, WAU, MAU and
/// daily), events over time by type, the top events of the week, the job funnel, weekly
/// retention cohorts, ingest outcomes and dead letters, and the server's own performance from its
/// self-telemetry. Counts run on the query engine (query::Execute) over one snapshot of the
/// tenant. Answers are cached for cache::kDashboardTtl under the tenant's key and tag
/// (cache::DashboardKey with no user, cache::TenantTag), so that one tenant's answer is never
/// another's. Thread-safe; every call runs on the caller's thread.
class AdminDashboardService {
 public:
  /// `cache` may be null (no caching). Everything must outlive the service.
  AdminDashboardService(store::EventStore* store, state::StateStore* state, cache::Cache* cache,
                        AdminDashboardOptions options);

  /// The part names, in the order the summary holds them.
  static const std::vector<std::string_view>& Parts();

  /// Checks `days` and `timezone`: kInvalidArgument naming the parameter.
  static Status Validate(const AdminDashboardRequest& request);

  /// Every part as one JSON object (text). Errors: kInvalidArgument (see Validate), the query
  /// engine's (kQueryTimeout, kQueryMemoryExceeded), the stores' I/O errors.
  Result<std::string> Summary(const AdminDashboardRequest& request);
  /// One part, exactly as the summary holds it; when the summary of the same request is cached,
  /// its part (so that the two agree). kNotFound for an unknown name.
  Result<std::string> Part(std::string_view name, const AdminDashboardRequest& request);

 private:
  Result<std::string> Compute(std::string_view part, const AdminDashboardRequest& request);
  std::string CacheKey(std::string_view part, const AdminDashboardRequest& request) const;

  store::EventStore* const store_;
  state::StateStore* const state_;
  cache::Cache* const cache_;
  const AdminDashboardOptions options_;
};

/// The nearest-rank percentile of docs/api/query.md: the value at 1-based rank
/// max(1, ceil(p * n / 100)) of `sorted` (ascending). `sorted` must not be empty; 0 < p <= 100.
double NearestRankPercentile(const std::vector<double>& sorted, int p);

}  // namespace ca::services
