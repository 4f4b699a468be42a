#include "services/admin_dashboard_service.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "event/timestamp.h"
#include "query/buckets.h"
#include "query/executor.h"
#include "query/spec.h"
#include "services/forecast.h"

namespace ca::services {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using store::Column;

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr int64_t kWeekMs = 7 * kDayMs;
constexpr int kMaxDays = 365;
constexpr size_t kRetentionWeeks = 8;
constexpr int kTopEvents = 10;
constexpr int kTopEventDays = 7;
constexpr int kBreakdownTypes = 5;
constexpr size_t kTopRoutes = 10;
// Latencies kept per window for the percentiles (16 bytes each).
constexpr size_t kMaxLatencySamples = 1'000'000;
constexpr int64_t kSystemScanTimeoutMs = 10'000;
constexpr int kRecentErrors = 10;
constexpr int kErrorDays = 7;
constexpr size_t kRecentDeadLetters = 5;
// Task names are few (store.flush, store.merge, ...); a breakdown shows at most 100 values.
constexpr int kMaxTasks = 100;

constexpr std::array<std::string_view, 7> kParts = {
    "active_users", "events_over_time", "top_events", "funnel", "retention", "ingest", "system",
};

// The job funnel, by the catalogue's type names (docs/event-catalogue.md).
constexpr std::array<std::string_view, 5> kFunnelSteps = {
    "job_view", "job_save", "job_apply", "interview_scheduled", "offer_received",
};

// `o[key]`, or null when `o` is not an object or has no such key (const operator[] would not
// check).
const json& Field(const json& o, std::string_view key) {
  static const json kNull;
  if (!o.is_object()) return kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : *it;
}

// A number of a query result as it is (integer or double), or null.
ordered_json Number(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return v.get<double>();
  return nullptr;
}

ordered_json OrNull(std::optional<double> v) { return v ? ordered_json(*v) : ordered_json(); }

ordered_json Rate(int64_t part, int64_t whole) {
  if (whole <= 0) return nullptr;
  return static_cast<double>(part) / static_cast<double>(whole);
}

std::string DayOf(const query::Buckets& b, size_t i) { return b.Label(i).substr(0, 10); }

// The `n` local periods (days or weeks of `tz`) ending with the one that holds `end_ms - 1`.
Result<query::Buckets> LastPeriods(int64_t end_ms, size_t n, query::Interval interval,
                                   const std::string& tz) {
  const int64_t span = interval == query::Interval::kWeek ? kWeekMs : kDayMs;
  int64_t from = end_ms - 1 - static_cast<int64_t>(n) * span;
  // One step back covers any daylight-saving shift; a second is never needed but costs nothing.
  for (int attempt = 0; attempt < 3; ++attempt, from -= span) {
    CA_ASSIGN_OR_RETURN(query::Buckets b, query::Buckets::Make(from, end_ms, interval, tz));
    if (b.size() < n) continue;
    if (b.size() == n) return b;
    return query::Buckets::Make(b.starts()[b.size() - n], end_ms, interval, tz);
  }
  return Status(ErrorCode::kInternal, "cannot cut the last periods of " + tz);
}

query::EventMatcher Matcher(std::string_view event, std::vector<query::Filter> filters = {}) {
  return query::EventMatcher{std::string(event), std::move(filters)};
}

query::Filter Equals(Column field, std::string value) {
  query::Filter f;
  f.field = field;
  f.op = query::FilterOp::kEq;
  f.values.emplace_back(std::move(value));
  return f;
}

query::QuerySpec Trends(int64_t from, int64_t to, const std::string& tz, query::Interval interval,
                        std::vector<query::Series> series,
                        std::optional<query::Breakdown> breakdown = std::nullopt) {
  query::QuerySpec spec;
  spec.from_ms = from;
  spec.to_ms = to;
  spec.timezone = tz;
  query::TrendsSpec trends;
  trends.series = std::move(series);
  trends.interval = interval;
  trends.breakdown = std::move(breakdown);
  spec.kind = std::move(trends);
  return spec;
}

query::Breakdown ByField(Column field, int limit) {
  query::Breakdown b;
  b.field = field;
  b.limit = limit;
  return b;
}

query::Breakdown ByProperty(std::string property, int limit) {
  query::Breakdown b;
  b.property = std::move(property);
  b.limit = limit;
  return b;
}

// A trends row's values, as many as `size` (an empty row, of a series without events, is zeros).
std::vector<int64_t> Counts(const json& row, size_t size) {
  std::vector<int64_t> out(size, 0);
  const json& values = Field(row, "values");
  for (size_t i = 0; i < size && i < values.size(); ++i) {
    if (values[i].is_number()) out[i] = values[i].get<int64_t>();
  }
  return out;
}

int64_t CountOf(const json& v) { return v.is_number() ? v.get<int64_t>() : 0; }

// Latencies (ms) of one route, or of all, and how many answers had a 5xx status.
ordered_json RenderLatencies(int64_t count, int64_t server_errors, std::vector<double>& ms) {
  std::sort(ms.begin(), ms.end());
  auto percentile = [&](int p) {
    return ms.empty() ? ordered_json() : ordered_json(NearestRankPercentile(ms, p));
  };
  ordered_json out;
  out["count"] = count;
  out["p50_ms"] = percentile(50);
  out["p95_ms"] = percentile(95);
  out["p99_ms"] = percentile(99);
  out["server_errors"] = server_errors;
  return out;
}

// What every part of one answer shares: the request, its end and one snapshot of the tenant.
struct Context {
  AdminDashboardRequest request;
  int64_t end_ms = 0;  // exclusive: `now` itself is inside
  std::shared_ptr<const store::TenantSnapshot> snapshot;
  query::Buckets days;  // request.days local days ending today
  query::ExecOptions exec;

  Result<json> Run(const query::QuerySpec& spec) const {
    return query::Execute(*snapshot, spec, exec);
  }
};

Result<int64_t> DistinctUsers(const Context& c, int64_t from, int64_t to) {
  // Month buckets: the total (distinct over the whole range) is all that is read.
  CA_ASSIGN_OR_RETURN(json result,
                      c.Run(Trends(from, to, "UTC", query::Interval::kMonth,
                                   {{Matcher(query::kAnyEvent), query::Math::kUniqueUsers}})));
  const json& series = Field(result, "series");
  return series.empty() ? 0 : CountOf(Field(series[0], "total"));
}

Result<ordered_json> ActiveUsers(const Context& c) {
  ordered_json out;
  const std::pair<const char*, int64_t> windows[] = {{"dau", 1}, {"wau", 7}, {"mau", 30}};
  for (const auto& [name, days] : windows) {
    const int64_t span = days * kDayMs;
    CA_ASSIGN_OR_RETURN(int64_t value, DistinctUsers(c, c.end_ms - span, c.end_ms));
    CA_ASSIGN_OR_RETURN(int64_t previous, DistinctUsers(c, c.end_ms - 2 * span, c.end_ms - span));
    ordered_json w;
    w["window_days"] = days;
    w["value"] = value;
    w["previous"] = previous;
    w["change_percent"] =
        OrNull(ChangePercent(static_cast<double>(previous), static_cast<double>(value)));
    out[name] = std::move(w);
  }
  CA_ASSIGN_OR_RETURN(
      json daily,
      c.Run(Trends(c.days.starts()[0], c.end_ms, c.request.timezone, query::Interval::kDay,
                   {{Matcher(query::kAnyEvent), query::Math::kUniqueUsers}})));
  const json& rows = Field(daily, "series");
  const std::vector<int64_t> users = Counts(rows.empty() ? json() : rows[0], c.days.size());
  ordered_json list = ordered_json::array();
  for (size_t i = 0; i < c.days.size(); ++i) {
    list.push_back({{"day", DayOf(c.days, i)}, {"users", users[i]}});
  }
  out["daily"] = std::move(list);
  return out;
}

Result<ordered_json> EventsOverTime(const Context& c) {
  CA_ASSIGN_OR_RETURN(json result, c.Run(Trends(c.days.starts()[0], c.end_ms, c.request.timezone,
                                                query::Interval::kDay,
                                                {{Matcher(query::kAnyEvent), query::Math::kCount}},
                                                ByField(Column::kType, kBreakdownTypes))));
  const size_t n = c.days.size();
  std::vector<int64_t> total(n, 0);
  int64_t total_events = 0;
  ordered_json by_type = ordered_json::array();
  for (const json& row : Field(result, "series")) {
    const bool other = Field(row, "other") == true;
    const json& type = Field(row, "breakdown");
    if (!other && !type.is_string()) continue;  // no events at all
    const std::vector<int64_t> values = Counts(row, n);
    for (size_t i = 0; i < n; ++i) total[i] += values[i];
    const int64_t row_total = CountOf(Field(row, "total"));
    total_events += row_total;
    ordered_json entry;
    entry["type"] = other ? ordered_json() : ordered_json(type.get<std::string>());
    entry["other"] = other;
    entry["values"] = values;
    entry["total"] = row_total;
    by_type.push_back(std::move(entry));
  }
  ordered_json days = ordered_json::array();
  for (size_t i = 0; i < n; ++i) days.push_back(DayOf(c.days, i));
  ordered_json out;
  out["days"] = std::move(days);
  out["total"] = std::move(total);
  out["total_events"] = total_events;
  out["by_type"] = std::move(by_type);
  return out;
}

Result<ordered_json> TopEvents(const Context& c) {
  const int64_t from = c.end_ms - kTopEventDays * kDayMs;
  CA_ASSIGN_OR_RETURN(json result,
                      c.Run(Trends(from, c.end_ms, "UTC", query::Interval::kMonth,
                                   {{Matcher(query::kAnyEvent), query::Math::kCount},
                                    {Matcher(query::kAnyEvent), query::Math::kUniqueUsers}},
                                   ByField(Column::kType, kTopEvents))));
  std::unordered_map<std::string, int64_t> users;
  const json& rows = Field(result, "series");
  for (const json& row : rows) {
    if (Field(row, "index") == 1 && Field(row, "breakdown").is_string()) {
      users[Field(row, "breakdown").get<std::string>()] = CountOf(Field(row, "total"));
    }
  }
  ordered_json events = ordered_json::array();
  for (const json& row : rows) {
    if (Field(row, "index") != 0 || !Field(row, "breakdown").is_string()) continue;
    const std::string type = Field(row, "breakdown").get<std::string>();
    events.push_back(
        {{"type", type}, {"count", CountOf(Field(row, "total"))}, {"users", users[type]}});
  }
  ordered_json out;
  out["from"] = event::FormatIso8601Millis(from);
  out["to"] = event::FormatIso8601Millis(c.end_ms);
  out["events"] = std::move(events);
  return out;
}

Result<ordered_json> Funnel(const Context& c) {
  query::QuerySpec spec;
  spec.from_ms = c.days.starts()[0];
  spec.to_ms = c.end_ms;
  spec.timezone = c.request.timezone;
  query::FunnelSpec funnel;
  for (std::string_view step : kFunnelSteps) funnel.steps.push_back(Matcher(step));
  funnel.window_ms = int64_t{c.request.days} * kDayMs;
  funnel.by = query::FunnelBy::kUser;
  spec.kind = std::move(funnel);
  CA_ASSIGN_OR_RETURN(json result, c.Run(spec));
  ordered_json steps = ordered_json::array();
  for (const json& step : Field(result, "steps")) {
    ordered_json s;
    s["event"] = Field(step, "event").is_string() ? Field(step, "event").get<std::string>() : "";
    s["users"] = CountOf(Field(step, "count"));
    s["conversion_from_previous"] = Number(Field(step, "conversion_from_previous"));
    s["conversion_from_first"] = Number(Field(step, "conversion_from_first"));
    s["median_ms_from_previous"] = Number(Field(step, "median_ms_from_previous"));
    steps.push_back(std::move(s));
  }
  ordered_json out;
  out["from"] = event::FormatIso8601Millis(spec.from_ms);
  out["to"] = event::FormatIso8601Millis(spec.to_ms);
  out["window_days"] = c.request.days;
  out["steps"] = std::move(steps);
  return out;
}

Result<ordered_json> Retention(const Context& c) {
  CA_ASSIGN_OR_RETURN(
      query::Buckets weeks,
      LastPeriods(c.end_ms, kRetentionWeeks, query::Interval::kWeek, c.request.timezone));
  query::QuerySpec spec;
  spec.from_ms = weeks.starts()[0];
  spec.to_ms = c.end_ms;
  spec.timezone = c.request.timezone;
  query::RetentionSpec retention;
  retention.start = Matcher(query::kAnyEvent);
  retention.ret = Matcher(query::kAnyEvent);
  retention.period = query::Interval::kWeek;
  retention.periods = static_cast<int>(kRetentionWeeks);
  spec.kind = std::move(retention);
  CA_ASSIGN_OR_RETURN(json result, c.Run(spec));
  std::map<std::string, const json*> found;
  for (const json& cohort : Field(result, "cohorts")) {
    if (Field(cohort, "start").is_string())
      found[Field(cohort, "start").get<std::string>()] = &cohort;
  }
  ordered_json cohorts = ordered_json::array();
  for (size_t w = 0; w < weeks.size(); ++w) {
    const std::string start = weeks.Label(w);
    auto it = found.find(start);
    const int64_t size = it == found.end() ? 0 : CountOf(Field(*it->second, "size"));
    ordered_json counts = ordered_json::array();
    ordered_json fractions = ordered_json::array();
    for (size_t n = 0; n < kRetentionWeeks; ++n) {
      if (w + n >= weeks.size()) {  // a week still to come
        counts.push_back(nullptr);
        fractions.push_back(nullptr);
        continue;
      }
      const json& values = it == found.end() ? json() : Field(*it->second, "values");
      const int64_t count = n < values.size() ? CountOf(values[n]) : 0;
      counts.push_back(count);
      fractions.push_back(Rate(count, size));
    }
    cohorts.push_back({{"week_start", start},
                       {"size", size},
                       {"counts", std::move(counts)},
                       {"fractions", std::move(fractions)}});
  }
  ordered_json out;
  out["period"] = "week";
  out["weeks"] = kRetentionWeeks;
  out["cohorts"] = std::move(cohorts);
  return out;
}

Result<ordered_json> Ingest(const Context& c, state::StateStore* state,
                            const AdminDashboardOptions& options) {
  ordered_json out;
  out["scope"] = "server";
  if (options.ingest_counters) {
    const ingest::IngestCounters counters = options.ingest_counters();
    out["since"] = event::FormatIso8601Millis(options.started_at_ms);
    out["received"] = counters.received;
    out["accepted"] = counters.accepted;
    out["duplicate"] = counters.duplicates;
    out["rejected"] = counters.rejected;
    out["failed_writes"] = counters.failed_writes;
  } else {
    for (const char* key :
         {"since", "received", "accepted", "duplicate", "rejected", "failed_writes"}) {
      out[key] = nullptr;
    }
  }
  CA_ASSIGN_OR_RETURN(state::DeadLetterOverview letters,
                      state->OverviewDeadLetters(c.request.tenant, kRecentDeadLetters));
  ordered_json by_code = ordered_json::array();
  for (const auto& [code, count] : letters.by_code) {
    by_code.push_back({{"code", code}, {"count", count}});
  }
  ordered_json recent = ordered_json::array();
  for (const state::DeadLetter& d : letters.recent) {
    recent.push_back({{"id", d.id},
                      {"code", d.code},
                      {"format", d.format},
                      {"received_at", event::FormatIso8601Millis(d.received_at_ms)}});
  }
  ordered_json dead;
  dead["total"] = letters.total;
  dead["by_code"] = std::move(by_code);
  dead["recent"] = std::move(recent);
  out["dead_letters"] = std::move(dead);
  return out;
}

// The requests of one window: exact counts per route, and the latencies of at most
// kMaxLatencySamples of them (all of them below that; beyond, a uniform sample: reservoir sampling
// with a fixed seed), so that a busy day costs bounded memory.
class RequestWindow {
 public:
  explicit RequestWindow(int64_t from) : from_(from) {}
  int64_t from() const { return from_; }

  void Add(const std::string& route, double ms, bool server_error) {
    auto it = routes_.try_emplace(route).first;
    ++it->second.count;
    if (server_error) ++it->second.server_errors;
    ++seen_;
    if (sample_.size() < kMaxLatencySamples) {
      sample_.emplace_back(&it->first, ms);
    } else if (const uint64_t j = rng_() % seen_; j < kMaxLatencySamples) {
      sample_[j] = {&it->first, ms};
    }
  }

  /// {"requests": all of them, "routes": the kTopRoutes routes with most requests}.
  ordered_json Render() const {
    std::map<const std::string*, std::vector<double>> by_route;
    std::vector<double> all;
    all.reserve(sample_.size());
    for (const auto& entry : sample_) {
      by_route[entry.first].push_back(entry.second);
      all.push_back(entry.second);
    }
    int64_t count = 0, server_errors = 0;
    std::vector<const std::pair<const std::string, Counts>*> ranked;
    for (const auto& entry : routes_) {
      count += entry.second.count;
      server_errors += entry.second.server_errors;
      ranked.push_back(&entry);
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) {
      return a->second.count > b->second.count;  // ties stay in route order
    });
    if (ranked.size() > kTopRoutes) ranked.resize(kTopRoutes);
    ordered_json list = ordered_json::array();
    for (const auto* entry : ranked) {
      ordered_json r;
      r["route"] = entry->first;
      r.update(RenderLatencies(entry->second.count, entry->second.server_errors,
                               by_route[&entry->first]));
      list.push_back(std::move(r));
    }
    ordered_json out;
    out["requests"] = RenderLatencies(count, server_errors, all);
    out["routes"] = std::move(list);
    return out;
  }

 private:
  struct Counts {
    int64_t count = 0;
    int64_t server_errors = 0;
  };
  const int64_t from_;
  std::map<std::string, Counts> routes_;  // node addresses are stable: the sample points in
  std::vector<std::pair<const std::string*, double>> sample_;
  uint64_t seen_ = 0;
  std::mt19937_64 rng_{0x5eed};
};

// The system tenant's HTTP requests (perf_metric "http_request" events) of the windows, in one
// scan of the longest. A scan, not the query engine: the engine has no p95, and the route is a
// property read per row. Stops with kQueryTimeout after kSystemScanTimeoutMs.
Status ScanRequests(const store::TenantSnapshot& snapshot, int64_t to,
                    const std::vector<RequestWindow*>& windows) {
  const std::optional<uint32_t> perf = snapshot.Lookup(Column::kType, "perf_metric");
  if (!perf || windows.empty()) return Status::Ok();
  int64_t from = to;
  for (const RequestWindow* w : windows) from = std::min(from, w->from());
  const int64_t deadline = MonotonicNanos() + kSystemScanTimeoutMs * 1'000'000;
  store::ScanRequest scan;
  scan.from_ms = from;
  scan.to_ms = to;
  scan.columns = store::ColumnSet{Column::kType, Column::kValue, Column::kProperties};
  return snapshot.Scan(scan, [&](const store::ColumnBatch& b) -> Status {
    if (MonotonicNanos() > deadline) {
      return Status(ErrorCode::kQueryTimeout,
                    "the server's request telemetry took too long to read");
    }
    const auto& types = b.Ids(Column::kType);
    for (size_t i = 0; i < b.size(); ++i) {
      const int64_t ts = b.timestamp[i];
      if (types[i] != *perf || ts < from || ts >= to || std::isnan(b.value[i])) continue;
      const json p = json::parse(b.properties[i], nullptr, false);
      if (!p.is_object()) continue;
      auto name = p.find("name");
      auto route = p.find("route");
      if (name == p.end() || *name != "http_request" || route == p.end() || !route->is_string()) {
        continue;
      }
      auto status = p.find("status");
      const bool server_error =
          status != p.end() && status->is_number() && status->get<double>() >= 500;
      for (RequestWindow* w : windows) {
        if (ts >= w->from()) w->Add(route->get_ref<const std::string&>(), b.value[i], server_error);
      }
    }
    return Status::Ok();
  });
}

Result<ordered_json> Tasks(const Context& c, int64_t from, int64_t to) {
  query::Filter failed = Equals(Column::kStatus, "failure");
  CA_ASSIGN_OR_RETURN(json result,
                      c.Run(Trends(from, to, "UTC", query::Interval::kMonth,
                                   {{Matcher("task_run"), query::Math::kCount},
                                    {Matcher("task_run", {failed}), query::Math::kCount},
                                    {Matcher("task_run"), query::Math::kAvg}},
                                   ByProperty("task", kMaxTasks))));
  struct Task {
    int64_t runs = 0;
    int64_t failures = 0;
    ordered_json mean_ms;
  };
  std::map<std::string, Task> tasks;
  for (const json& row : Field(result, "series")) {
    if (!Field(row, "breakdown").is_string()) continue;
    Task& t = tasks[Field(row, "breakdown").get<std::string>()];
    const json& total = Field(row, "total");
    const int64_t index = CountOf(Field(row, "index"));
    if (index == 0) t.runs = CountOf(total);
    if (index == 1) t.failures = CountOf(total);
    if (index == 2 && total.is_number()) t.mean_ms = total.get<double>() * 1000;
  }
  std::vector<std::pair<std::string, Task>> ranked(tasks.begin(), tasks.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second.runs > b.second.runs; });
  ordered_json list = ordered_json::array();
  for (auto& [name, t] : ranked) {
    if (t.runs == 0) continue;
    list.push_back(
        {{"task", name}, {"runs", t.runs}, {"failures", t.failures}, {"mean_ms", t.mean_ms}});
  }
  return list;
}

Result<ordered_json> RecentErrors(const Context& c) {
  query::QuerySpec spec;
  spec.from_ms = c.end_ms - kErrorDays * kDayMs;
  spec.to_ms = c.end_ms;
  spec.filters.push_back(Equals(Column::kType, "error"));
  query::EventsSpec events;
  events.limit = kRecentErrors;
  spec.kind = events;
  CA_ASSIGN_OR_RETURN(json result, c.Run(spec));
  ordered_json list = ordered_json::array();
  for (const json& e : Field(result, "events")) {
    const json& p = Field(e, "properties");
    auto text = [&](std::string_view key) {
      const json& v = Field(p, key);
      return v.is_string() ? ordered_json(v.get<std::string>()) : ordered_json();
    };
    const json& time = Field(e, "timestamp");
    list.push_back(
        {{"time", time.is_string() ? ordered_json(time.get<std::string>()) : ordered_json()},
         {"task", text("task")},
         {"message", text("message")}});
  }
  return list;
}

}  // namespace

AdminDashboardService::AdminDashboardService(store::EventStore* store, state::StateStore* state,
                                             cache::Cache* cache, AdminDashboardOptions options)
    : store_(store), state_(state), cache_(cache), options_(std::move(options)) {}

const std::vector<std::string_view>& AdminDashboardService::Parts() {
  static const std::vector<std::string_view> names(kParts.begin(), kParts.end());
  return names;
}

Status AdminDashboardService::Validate(const AdminDashboardRequest& request) {
  if (request.days < 1 || request.days > kMaxDays) {
    return Status(ErrorCode::kInvalidArgument, "days: must be 1 to 365");
  }
  // Buckets load the zone through LoadTimeZone, which checks the name first.
  if (!query::Buckets::Make(0, kDayMs, query::Interval::kDay, request.timezone).ok()) {
    return Status(ErrorCode::kInvalidArgument,
                  "timezone: unknown time zone '" + request.timezone.substr(0, 64) + "'");
  }
  return Status::Ok();
}

std::string AdminDashboardService::CacheKey(std::string_view part,
                                            const AdminDashboardRequest& request) const {
  // No user: the tenant's own view. The parameters hold everything else that selects the answer.
  return cache::DashboardKey(request.tenant, "",
                             "admin:" + std::string(part) + ":days=" +
                                 std::to_string(request.days) + ":tz=" + request.timezone);
}

Result<std::string> AdminDashboardService::Compute(std::string_view part,
                                                   const AdminDashboardRequest& request) {
  Context c;
  c.request = request;
  c.end_ms = request.now_ms + 1;
  c.exec.now_ms = request.now_ms;
  c.exec.max_memory_bytes = options_.max_memory_bytes;
  c.snapshot = store_->Snapshot(request.tenant);
  CA_ASSIGN_OR_RETURN(c.days, LastPeriods(c.end_ms, static_cast<size_t>(request.days),
                                          query::Interval::kDay, request.timezone));
  auto system = [&]() -> Result<ordered_json> {
    ordered_json out;
    if (options_.system_tenant.empty()) {
      out["tenant"] = nullptr;
      out["available"] = false;
      out["reason"] = "self-telemetry is off (self_telemetry.tenant is empty)";
      return out;
    }
    Context s = c;
    s.snapshot = store_->Snapshot(options_.system_tenant);
    const int64_t hour_from = c.end_ms - kHourMs;
    const int64_t day_from = c.end_ms - kDayMs;
    RequestWindow hour(hour_from), day(day_from);
    CA_RETURN_IF_ERROR(ScanRequests(*s.snapshot, c.end_ms, {&hour, &day}));
    out["tenant"] = options_.system_tenant;
    out["available"] = true;
    const std::pair<const char*, const RequestWindow*> windows[] = {{"last_hour", &hour},
                                                                    {"last_day", &day}};
    for (const auto& [name, requests] : windows) {
      const int64_t from = requests->from();
      ordered_json w;
      w["from"] = event::FormatIso8601Millis(from);
      w["to"] = event::FormatIso8601Millis(c.end_ms);
      w.update(requests->Render());
      CA_ASSIGN_OR_RETURN(w["tasks"], Tasks(s, from, c.end_ms));
      out[name] = std::move(w);
    }
    CA_ASSIGN_OR_RETURN(out["recent_errors"], RecentErrors(s));
    return out;
  };
  auto one = [&](std::string_view name) -> Result<ordered_json> {
    if (name == "active_users") return ActiveUsers(c);
    if (name == "events_over_time") return EventsOverTime(c);
    if (name == "top_events") return TopEvents(c);
    if (name == "funnel") return Funnel(c);
    if (name == "retention") return Retention(c);
    if (name == "ingest") return Ingest(c, state_, options_);
    return system();
  };
  if (!part.empty()) {
    CA_ASSIGN_OR_RETURN(ordered_json out, one(part));
    return out.dump();
  }
  ordered_json out;
  out["tenant"] = request.tenant;
  out["generated_at"] = event::FormatIso8601Millis(request.now_ms);
  out["days"] = request.days;
  out["timezone"] = request.timezone;
  for (std::string_view name : kParts) {
    CA_ASSIGN_OR_RETURN(out[std::string(name)], one(name));
  }
  return out.dump();
}

Result<std::string> AdminDashboardService::Summary(const AdminDashboardRequest& request) {
  CA_RETURN_IF_ERROR(Validate(request));
  auto compute = [&] { return Compute("", request); };
  if (cache_ == nullptr) return compute();
  const std::string tags[] = {cache::TenantTag(request.tenant)};
  return cache::GetOrCompute(*cache_, CacheKey("summary", request), cache::kDashboardTtl, tags,
                             compute);
}

Result<std::string> AdminDashboardService::Part(std::string_view name,
                                                const AdminDashboardRequest& request) {
  if (std::find(kParts.begin(), kParts.end(), name) == kParts.end()) {
    std::string known;
    for (std::string_view p : kParts) known.append(known.empty() ? "" : ", ").append(p);
    return Status(ErrorCode::kNotFound, "unknown widget '" + std::string(name.substr(0, 64)) +
                                            "' (known: " + known + ")");
  }
  CA_RETURN_IF_ERROR(Validate(request));
  auto compute = [&] { return Compute(name, request); };
  if (cache_ == nullptr) return compute();
  if (std::optional<std::string> summary = cache_->Get(CacheKey("summary", request))) {
    const ordered_json parsed = ordered_json::parse(*summary, nullptr, false);
    auto it = parsed.is_object() ? parsed.find(std::string(name)) : parsed.end();
    if (it != parsed.end()) return it->dump();
  }
  const std::string tags[] = {cache::TenantTag(request.tenant)};
  return cache::GetOrCompute(*cache_, CacheKey(name, request), cache::kDashboardTtl, tags, compute);
}

double NearestRankPercentile(const std::vector<double>& sorted, int p) {
  const size_t n = sorted.size();
  const size_t rank = std::max<size_t>(1, (static_cast<size_t>(p) * n + 99) / 100);
  return sorted[rank - 1];
}

}  // namespace ca::services
