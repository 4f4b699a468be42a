#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "query/buckets.h"
#include "query/spec.h"

namespace ca::query {

/// The SQL flavours the compiler targets. Only the dialect helpers in sql_compiler.cc differ
/// between them (placeholders, JSON access, null-safe equality, MATERIALIZED hints...).
/// kSqlite is implemented; the others return kInvalidArgument until their backends land.
enum class Dialect { kSqlite, kPostgres, kClickHouse };

/// A bound parameter or a returned cell: NULL, INTEGER, REAL or TEXT.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

/// One statement and its parameters; placeholder i (1-based, e.g. `?3` in SQLite) is params[i-1].
struct SqlStatement {
  std::string sql;
  std::vector<SqlValue> params;
};

/// The rows a statement returned, cells in select-list order.
using SqlRows = std::vector<std::vector<SqlValue>>;

/// The statements answering one spec plus what AssembleSqlResult needs to turn their rows into
/// the result JSON. Run every statement (in any order, e.g. in one read transaction) and pass
/// their rows back in the same order.
struct SqlPlan {
  std::vector<SqlStatement> statements;
  /// Trends: the buckets of [from, to). Retention: the cohort buckets followed by periods - 1
  /// more (returns may fall after `to`); `cohort_buckets` of them hold cohorts.
  std::optional<Buckets> buckets;
  size_t cohort_buckets = 0;
};

/// Compiles `spec` (validated by ParseQuerySpec) for `tenant` into statements over the relation
/// `ev` (see EventsViewSql). Every user-supplied string, the tenant, the time range and the
/// bucket boundaries are bound parameters; only integers the compiler controls (limits, bucket
/// indices, percentile ranks) appear as literals. Errors: kInvalidArgument for an
/// unimplemented dialect; kInvalidQuery / kRangeTooLarge from Buckets.
Result<SqlPlan> CompileSql(const QuerySpec& spec, const std::string& tenant, Dialect dialect);

/// Builds the result JSON of docs/api/query.md from the rows of plan.statements (same order).
/// Derived numbers (conversion rates, averages) are computed here; counting, grouping, ranking
/// and percentile selection happened in SQL. Errors: kInternal on rows of an unexpected shape.
Result<nlohmann::json> AssembleSqlResult(const QuerySpec& spec, const SqlPlan& plan,
                                         const std::vector<SqlRows>& rows);

/// The raw table every dialect stores events in:
/// `events(tenant, event_id, type, user_id, anonymous_id, session_id, ts, received_at,
/// properties, context)` with ids "" when absent and ts/received_at in epoch ms.
std::string EventsTableSql(Dialect dialect);

/// The view `ev` the compiled statements read: the raw columns (absent ids as NULL) plus the
/// derived core fields job_id, application_id, status, path, country, device (NULL when absent)
/// and value (REAL, NULL when absent), computed in SQL from properties/context by the rules of
/// docs/api/query.md.
std::string EventsViewSql(Dialect dialect);

}  // namespace ca::query
