#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.h"
#include "store/column_batch.h"

namespace ca::query {

/// A parsed and validated query spec. The JSON form and the exact semantics of every field are in
/// docs/api/query.md; the embedded engine (executor.h) and the SQL compiler (sql_compiler.h) both
/// implement that document, and the differential test holds them to the same results.

/// A literal in a filter: a JSON string, number or boolean.
using Literal = std::variant<std::string, double, bool>;

enum class FilterOp { kEq, kNeq, kIn, kContains, kGt, kLt, kExists };

/// One condition. Either a core field (`field` set) or a top-level property (`property` non-empty).
struct Filter {
  std::optional<store::Column> field;  ///< a queryable core column (see IsFilterableColumn)
  std::string property;                ///< property name, when `field` is not set
  FilterOp op = FilterOp::kEq;
  std::vector<Literal>
      values;  ///< one value (eq, neq, contains, gt, lt), 1..100 (in), none (exists)
};

/// The `event` that matches every event type.
inline constexpr std::string_view kAnyEvent = "*";

/// A step of a funnel, a series of a trend, the start or return event of retention: an event
/// type plus conditions on it.
struct EventMatcher {
  std::string event;            ///< event type, or kAnyEvent
  std::vector<Filter> filters;  ///< all must hold
};

enum class Interval { kHour, kDay, kWeek, kMonth };

enum class Math { kCount, kUniqueUsers, kSum, kAvg, kMin, kMax, kP50, kP90, kP99 };

/// Breakdown by a core field (string-valued dictionary column) or a property's string value.
struct Breakdown {
  std::optional<store::Column> field;
  std::string property;
  int limit = 10;  ///< top N values by the series' total; the rest become "$other"
};

struct Series {
  EventMatcher matcher;
  Math math = Math::kCount;
};

struct TrendsSpec {
  std::vector<Series> series;  ///< 1..10
  Interval interval = Interval::kDay;
  std::optional<Breakdown> breakdown;
};

enum class FunnelBy { kUser, kApplication };

struct FunnelSpec {
  std::vector<EventMatcher> steps;  ///< 2..10
  int64_t window_ms = 0;            ///< 1 s .. 365 days
  FunnelBy by = FunnelBy::kUser;
};

struct RetentionSpec {
  EventMatcher start;
  EventMatcher ret;
  Interval period = Interval::kDay;  ///< kDay or kWeek
  int periods = 8;                   ///< 1..52 (columns 0..periods-1)
};

enum class Direction { kNext, kPrevious };

struct PathsSpec {
  EventMatcher anchor;
  Direction direction = Direction::kNext;
  int depth = 3;   ///< 1..5
  int limit = 10;  ///< 1..100 paths per depth
};

struct EventsSpec {
  int limit = 100;  ///< 1..1000
  /// From a previous page's next_cursor: the (timestamp, event_id) of its last row.
  std::optional<std::pair<int64_t, std::string>> after;
};

struct QuerySpec {
  int64_t from_ms = 0;           ///< inclusive
  int64_t to_ms = 0;             ///< exclusive
  std::string timezone = "UTC";  ///< IANA name
  std::vector<Filter> filters;   ///< global: apply to every event the query reads
  int64_t timeout_ms = 10000;    ///< 1 .. 60000
  std::variant<TrendsSpec, FunnelSpec, RetentionSpec, PathsSpec, EventsSpec> kind;
};

/// Parses and validates a JSON spec (the request body of POST /analytics/query). Errors:
/// kMalformedJson, kUnknownField (an unknown key or field name), kInvalidInterval,
/// kRangeTooLarge, kInvalidFilter, kInvalidCursor, kInvalidQuery (anything else), each with a
/// message naming the offending path, e.g. "series[1].math: unknown math \"median\"".
Result<QuerySpec> ParseQuerySpec(std::string_view json);

/// True for the core columns a filter may name (every dictionary column, kValue, kEventId).
bool IsFilterableColumn(store::Column c);

/// True for the core columns a breakdown may name: the string-valued dictionary columns (every
/// dictionary column; not kEventId, not kValue).
bool IsBreakdownColumn(store::Column c);

/// The events cursor (docs/api/query.md "events"): base64url without padding of
/// "<timestamp_ms>:<event_id>", naming the last row of a page.
std::string EncodeCursor(int64_t timestamp_ms, std::string_view event_id);

/// Inverse of EncodeCursor. Errors: kInvalidCursor when `cursor` does not decode.
Result<std::pair<int64_t, std::string>> DecodeCursor(std::string_view cursor);

}  // namespace ca::query
