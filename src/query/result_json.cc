#include "query/result_json.h"

#include "event/timestamp.h"

namespace ca::query {
namespace {

using Json = nlohmann::json;

Json Cell(Math math, const std::optional<double>& v) {
  switch (math) {
    case Math::kCount:
    case Math::kUniqueUsers:
      return Json(static_cast<int64_t>(v.value_or(0)));
    case Math::kSum:
      return Json(v.value_or(0.0));
    default:
      return v ? Json(*v) : Json(nullptr);
  }
}

Json Ratio(int64_t num, int64_t den) {
  if (den == 0) return Json(nullptr);
  return Json(static_cast<double>(num) / static_cast<double>(den));
}

Json ParseObject(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Json(nullptr);
  return j;
}

}  // namespace

std::string_view MathName(Math math) {
  switch (math) {
    case Math::kCount:
      return "count";
    case Math::kUniqueUsers:
      return "unique_users";
    case Math::kSum:
      return "sum";
    case Math::kAvg:
      return "avg";
    case Math::kMin:
      return "min";
    case Math::kMax:
      return "max";
    case Math::kP50:
      return "p50";
    case Math::kP90:
      return "p90";
    case Math::kP99:
      return "p99";
  }
  return "";
}

std::string_view IntervalName(Interval interval) {
  switch (interval) {
    case Interval::kHour:
      return "hour";
    case Interval::kDay:
      return "day";
    case Interval::kWeek:
      return "week";
    case Interval::kMonth:
      return "month";
  }
  return "";
}

std::string_view DirectionName(Direction direction) {
  return direction == Direction::kNext ? "next" : "previous";
}

std::string_view FunnelByName(FunnelBy by) {
  return by == FunnelBy::kUser ? "user" : "application";
}

Json TrendsJson(Interval interval, const std::string& timezone,
                const std::vector<std::string>& bucket_labels, const std::vector<TrendsRow>& rows) {
  Json series = Json::array();
  for (const TrendsRow& r : rows) {
    Json values = Json::array();
    for (const auto& v : r.values) values.push_back(Cell(r.math, v));
    series.push_back(Json{{"index", r.index},
                          {"event", r.event},
                          {"math", MathName(r.math)},
                          {"breakdown", r.breakdown ? Json(*r.breakdown) : Json(nullptr)},
                          {"other", r.other},
                          {"values", std::move(values)},
                          {"total", Cell(r.math, r.total)}});
  }
  return Json{{"kind", "trends"},
              {"interval", IntervalName(interval)},
              {"timezone", timezone},
              {"buckets", bucket_labels},
              {"series", std::move(series)}};
}

Json FunnelJson(FunnelBy by, const std::vector<FunnelStepRow>& steps) {
  Json out = Json::array();
  for (size_t k = 0; k < steps.size(); ++k) {
    const FunnelStepRow& s = steps[k];
    out.push_back(Json{
        {"event", s.event},
        {"count", s.count},
        {"conversion_from_previous", k == 0 ? Json(nullptr) : Ratio(s.count, steps[k - 1].count)},
        {"conversion_from_first", Ratio(s.count, steps[0].count)},
        {"median_ms_from_previous",
         s.median_ms_from_previous ? Json(*s.median_ms_from_previous) : Json(nullptr)},
        {"dropped", s.dropped},
        {"in_progress", s.in_progress}});
  }
  return Json{{"kind", "funnel"}, {"by", FunnelByName(by)}, {"steps", std::move(out)}};
}

Json RetentionJson(Interval period, const std::vector<RetentionCohortRow>& cohorts) {
  Json out = Json::array();
  for (const RetentionCohortRow& c : cohorts) {
    out.push_back(Json{{"start", c.start},
                       {"size", c.values.empty() ? int64_t{0} : c.values[0]},
                       {"values", c.values}});
  }
  return Json{{"kind", "retention"}, {"period", IntervalName(period)}, {"cohorts", std::move(out)}};
}

Json PathsJson(Direction direction, const std::vector<PathRow>& paths) {
  Json out = Json::array();
  for (const PathRow& p : paths) {
    out.push_back(Json{{"depth", p.depth}, {"steps", p.steps}, {"count", p.count}});
  }
  return Json{
      {"kind", "paths"}, {"direction", DirectionName(direction)}, {"paths", std::move(out)}};
}

Json EventsJson(const std::vector<EventRow>& events,
                const std::optional<std::string>& next_cursor) {
  Json out = Json::array();
  for (const EventRow& e : events) {
    out.push_back(Json{{"event_id", e.event_id},
                       {"type", e.type},
                       {"user_id", e.user_id},
                       {"anonymous_id", e.anonymous_id},
                       {"session_id", e.session_id},
                       {"timestamp", event::FormatIso8601Millis(e.timestamp_ms)},
                       {"received_at", event::FormatIso8601Millis(e.received_at_ms)},
                       {"properties", ParseObject(e.properties_json)},
                       {"context", ParseObject(e.context_json)}});
  }
  return Json{{"kind", "events"},
              {"events", std::move(out)},
              {"next_cursor", next_cursor ? Json(*next_cursor) : Json(nullptr)}};
}

}  // namespace ca::query
