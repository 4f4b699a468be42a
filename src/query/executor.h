#pragma once

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "query/spec.h"
#include "store/tenant_snapshot.h"

namespace ca::query {

/// Limits of one execution.
struct ExecOptions {
  /// Wall-clock time of the request (epoch ms). Informational: every rule of docs/api/query.md is
  /// relative to the spec's `from`/`to`, so results never depend on it.
  int64_t now_ms = 0;
  /// Budget for the query's working memory (tuples, hash sets, aggregation cells).
  size_t max_memory_bytes = size_t{512} << 20;
};

/// Runs `spec` over `snapshot` and returns the result JSON of docs/api/query.md for the spec's
/// kind. The embedded engine: one vectorised scan of the columns the query needs, filters
/// compiled once against the snapshot's dictionaries, then per-kind aggregation.
///
/// Errors: kQueryTimeout when the run passes spec.timeout_ms (checked once per block and during
/// post-processing), kQueryMemoryExceeded past options.max_memory_bytes, kInvalidFilter /
/// kInvalidQuery for a spec the parser would not have produced, kIoError / kCorruption from the
/// snapshot. Thread-safe for concurrent calls (no shared mutable state).
Result<nlohmann::json> Execute(const store::TenantSnapshot& snapshot, const QuerySpec& spec,
                               const ExecOptions& options);

}  // namespace ca::query
