#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "store/column_batch.h"

namespace ca::store {

/// What a scan reads: rows with from_ms <= timestamp < to_ms, the listed columns.
struct ScanRequest {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  /// Columns to fill; kTimestamp is always filled.
  ColumnSet columns;
  /// When set, only rows of this user (dense id of kUser) are wanted; lets the store skip
  /// granules by their min/max.
  std::optional<uint32_t> user;
};

/// What a part footer says about one UTC day of a tenant, for queries that need no more than
/// counts by type and the set of users (trends without filters over whole days).
struct DayAggregate {
  int32_t day = 0;  ///< days since 1970-01-01 UTC
  uint64_t rows = 0;
  /// (type id, rows), ascending by type id.
  std::vector<std::pair<uint32_t, uint64_t>> type_counts;
  /// The distinct non-zero user ids of the day, ascending.
  std::shared_ptr<const std::vector<uint32_t>> users;
};

/// A read-only, immutable view of one tenant's events and dictionaries at one point in time.
/// Holding it never blocks writers; it stays valid (and unchanged) while it lives. Thread-safe.
class TenantSnapshot {
 public:
  virtual ~TenantSnapshot() = default;

  /// Dense id of `value` in the dictionary of `column` (IsDictionaryColumn), nullopt when the
  /// string was never seen. The empty string has id 0.
  virtual std::optional<uint32_t> Lookup(Column column, std::string_view value) const = 0;
  /// The string of `id` ("" for 0). `id` must be below DictionarySize(column).
  virtual std::string_view Name(Column column, uint32_t id) const = 0;
  /// One past the largest id of `column`'s dictionary in this snapshot.
  virtual uint32_t DictionarySize(Column column) const = 0;

  /// Calls `fn` with blocks of rows (each at most 65536 rows) that include every row of the
  /// request: rows outside [from_ms, to_ms) or of other users may be included too, so callers
  /// filter; rows of deleted users never are. Stops at the first error `fn` returns and returns
  /// it. Blocks come in no particular order. I/O and checksum errors come back as kIoError /
  /// kCorruption.
  virtual Status Scan(const ScanRequest& request,
                      const std::function<Status(const ColumnBatch&)>& fn) const = 0;

  /// Aggregates of the days in [first_day, last_day] whose every event of this snapshot is
  /// summarised by them (e.g. the day is one part, with no other rows and no deleted users);
  /// other days are left out and must be scanned. The default summarises none.
  virtual std::vector<DayAggregate> DayAggregates(int32_t first_day, int32_t last_day) const {
    (void)first_day;
    (void)last_day;
    return {};
  }
};

}  // namespace ca::store
