#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "query/spec.h"

namespace ca::query {

/// Time buckets of a query in its time zone (docs/api/query.md "Buckets"): hour starts, local
/// midnights, Monday midnights or firsts of the month. Shared by the executor and the SQL
/// compiler (the SQL engines get the boundaries as bound parameters, so every backend cuts time
/// the same way whatever its own time-zone support).
class Buckets {
 public:
  /// Buckets covering [from_ms, to_ms) (from_ms < to_ms). Errors: kInvalidQuery for an unknown
  /// time zone, kRangeTooLarge past `max_buckets`.
  static Result<Buckets> Make(int64_t from_ms, int64_t to_ms, Interval interval,
                              const std::string& timezone, size_t max_buckets = 10000);

  /// Bucket starts, ascending; starts()[0] <= from_ms < ends()[0]... the last end is > to_ms - 1.
  const std::vector<int64_t>& starts() const { return starts_; }
  /// End (exclusive) of bucket i = start of bucket i + 1, or the start after the last one.
  int64_t end(size_t i) const { return i + 1 < starts_.size() ? starts_[i + 1] : last_end_; }
  size_t size() const { return starts_.size(); }

  /// Index of the bucket containing `ts_ms`, or -1 when outside [starts()[0], end(size()-1)).
  int64_t IndexOf(int64_t ts_ms) const;

  /// Label of bucket i: local start as ISO-8601 with offset, "2025-01-06T00:00:00+01:00".
  std::string Label(size_t i) const;

  /// Extends the buckets by `n` more of the same interval after the last (retention's later
  /// periods). Errors as Make.
  Status Extend(size_t n, size_t max_buckets = 10000);

 private:
  Interval interval_ = Interval::kDay;
  std::string timezone_;
  std::vector<int64_t> starts_;
  int64_t last_end_ = 0;
};

}  // namespace ca::query
