#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "query/spec.h"

namespace ca::query {

/// Renderers of the result JSON of docs/api/query.md from plain structs, shared by the embedded
/// engine and the SQL engines so that both print numbers the same way (integers as integers,
/// doubles as doubles, null where the document says null).

/// Names as they appear in specs and results: "count", "p90", "day", "next", "application"...
std::string_view MathName(Math math);
std::string_view IntervalName(Interval interval);
std::string_view DirectionName(Direction direction);
std::string_view FunnelByName(FunnelBy by);

/// One row of a trends series.
struct TrendsRow {
  size_t index = 0;  ///< the series' position in the spec
  std::string event;
  Math math = Math::kCount;
  std::optional<std::string> breakdown;  ///< nullopt renders null (absent value, other row)
  bool other = false;
  /// One cell per bucket; nullopt = no value. Empty for a series with no matching events.
  std::vector<std::optional<double>> values;
  std::optional<double> total;
};

/// {"kind": "trends", "interval", "timezone", "buckets", "series"}. Cells of count and
/// unique_users render as integers (nullopt as 0), of sum as doubles (nullopt as 0.0), of the
/// other maths as doubles or null.
nlohmann::json TrendsJson(Interval interval, const std::string& timezone,
                          const std::vector<std::string>& bucket_labels,
                          const std::vector<TrendsRow>& rows);

/// The counts of one funnel step; conversions are derived by FunnelJson.
struct FunnelStepRow {
  std::string event;
  int64_t count = 0;
  std::optional<int64_t> median_ms_from_previous;
  int64_t dropped = 0;
  int64_t in_progress = 0;
};

/// {"kind": "funnel", "by", "steps"} with conversion_from_previous = count(k) / count(k-1) and
/// conversion_from_first = count(k) / count(1) as doubles, null when the divisor is 0 (and
/// conversion_from_previous null for the first step).
nlohmann::json FunnelJson(FunnelBy by, const std::vector<FunnelStepRow>& steps);

struct RetentionCohortRow {
  std::string start;            ///< the cohort bucket's label
  std::vector<int64_t> values;  ///< exactly `periods` entries; values[0] is the size
};

/// {"kind": "retention", "period", "cohorts": [{"start", "size", "values"}]}.
nlohmann::json RetentionJson(Interval period, const std::vector<RetentionCohortRow>& cohorts);

struct PathRow {
  int depth = 0;
  std::vector<std::string> steps;  ///< the anchor's type, then depth more types
  int64_t count = 0;
};

/// {"kind": "paths", "direction", "paths"}; rows already ordered by depth, then rank.
nlohmann::json PathsJson(Direction direction, const std::vector<PathRow>& paths);

struct EventRow {
  std::string event_id;
  std::string type;
  std::string user_id;  ///< "" when absent, as anonymous_id and session_id
  std::string anonymous_id;
  std::string session_id;
  int64_t timestamp_ms = 0;
  int64_t received_at_ms = 0;
  std::string properties_json;  ///< minified JSON object, rendered as an object
  std::string context_json;
};

/// {"kind": "events", "events", "next_cursor"}; timestamps as FormatIso8601Millis text.
/// `next_cursor` nullopt renders null.
nlohmann::json EventsJson(const std::vector<EventRow>& events,
                          const std::optional<std::string>& next_cursor);

}  // namespace ca::query
