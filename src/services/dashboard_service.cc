#include "services/dashboard_service.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "event/timestamp.h"
#include "ingest/enricher.h"
#include "query/buckets.h"
#include "services/forecast.h"
#include "services/market_service.h"

namespace ca::services {
namespace {

using nlohmann::ordered_json;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr int64_t kWeekMs = 7 * kDayMs;

constexpr std::array<std::string_view, 9> kWidgets = {
    "applications_this_week", "goal_progress",   "funnel",        "response",
    "status_breakdown",       "search_activity", "market_trends", "recent_activity",
    "notifications",
};

constexpr size_t kRecentActivity = 20;

bool IsResponse(std::string_view status) {
  return status == "screening" || status == "interview" || status == "offer" ||
         status == "rejected";
}

int64_t FloorDay(int64_t ms) { return ms >= 0 ? ms / kDayMs : -((-ms + kDayMs - 1) / kDayMs); }

std::string DayText(int64_t day) {
  std::string iso = event::FormatIso8601Millis(day * kDayMs);
  return iso.substr(0, 10);
}

ordered_json Rate(int64_t part, int64_t whole) {
  if (whole <= 0) return nullptr;
  return static_cast<double>(part) / static_cast<double>(whole);
}

ordered_json PercentChange(double before, double after) {
  std::optional<double> change = ChangePercent(before, after);
  return change ? ordered_json(*change) : ordered_json();
}

// What the user's traits say (identify calls): time zone, weekly goal, industry, location.
struct Profile {
  std::string timezone = "UTC";
  std::optional<int64_t> weekly_goal;
  std::string industry;
  std::string location;
};

Profile ReadProfile(const std::optional<std::string>& traits_json) {
  Profile p;
  if (!traits_json) return p;
  const ingest::UserProfile base = ingest::ProfileFromTraits(*traits_json);
  p.industry = base.industry;
  p.location = base.location;
  nlohmann::json traits = nlohmann::json::parse(*traits_json, nullptr, false);
  if (!traits.is_object()) return p;
  for (const char* key : {"timezone", "time_zone", "tz"}) {
    auto it = traits.find(key);
    if (it != traits.end() && it->is_string()) {
      std::string zone = it->get<std::string>();
      // Only a zone the query engine accepts; anything else leaves UTC.
      if (query::Buckets::Make(0, kDayMs, query::Interval::kDay, zone).ok()) p.timezone = zone;
      break;
    }
  }
  for (const char* key : {"weekly_application_goal", "weekly_goal"}) {
    auto it = traits.find(key);
    if (it == traits.end()) continue;
    double goal = 0;
    if (it->is_number()) {
      goal = it->get<double>();
    } else if (it->is_string()) {
      goal = std::strtod(it->get<std::string>().c_str(), nullptr);
    }
    if (std::isfinite(goal) && goal >= 1 && goal <= 1000) p.weekly_goal = std::llround(goal);
    break;
  }
  return p;
}

// One application of the user, from its events in the window.
struct Application {
  int64_t applied_ms = std::numeric_limits<int64_t>::max();  // first job_apply
  int64_t first_response_ms = std::numeric_limits<int64_t>::max();
  int64_t closed_ms = std::numeric_limits<int64_t>::max();  // first ghosted / withdrawn
  int64_t latest_status_ms = std::numeric_limits<int64_t>::min();
  std::string latest_status;
};

}  // namespace

struct DashboardService::Facts {
  int64_t now_ms = 0;
  Profile profile;
  query::Buckets weeks;  // goal_weeks before this one and this one, in the user's zone
  query::Buckets days;   // the local days of the search window, up to today
  std::vector<int64_t> applications_by_week;
  std::vector<int64_t> applications_this_week_by_day;
  query::Buckets this_week_days;
  std::vector<int64_t> searches_by_day;
  int64_t searches_before = 0;                      // in the search window before `days`
  std::map<std::string, Application> applications;  // by application id
  std::vector<state::UserActivityRow> activity;     // the window's, newest first
  std::vector<state::DailyUserMetricsRow> rollups;  // the funnel's days
  int64_t funnel_first_day = 0;
  int64_t funnel_last_day = 0;
};

DashboardService::DashboardService(state::StateStore* state, cache::Cache* cache,
                                   DashboardOptions options)
    : state_(state), cache_(cache), options_(options) {}

const std::vector<std::string_view>& DashboardService::Widgets() {
  static const std::vector<std::string_view> names(kWidgets.begin(), kWidgets.end());
  return names;
}

Result<DashboardService::Facts> DashboardService::Gather(const std::string& tenant,
                                                         const std::string& user_id,
                                                         int64_t now_ms) {
  Facts f;
  f.now_ms = now_ms;
  CA_ASSIGN_OR_RETURN(std::optional<std::string> traits, state_->GetUserTraits(tenant, user_id));
  f.profile = ReadProfile(traits);
  const std::string& tz = f.profile.timezone;

  // Local weeks (Monday starts) and days.
  const int64_t end = now_ms + 1;  // `now` itself is inside
  CA_ASSIGN_OR_RETURN(f.weeks, query::Buckets::Make(end - options_.goal_weeks * kWeekMs - 1, end,
                                                    query::Interval::kWeek, tz));
  const size_t this_week = f.weeks.size() - 1;
  CA_ASSIGN_OR_RETURN(f.this_week_days,
                      query::Buckets::Make(f.weeks.starts()[this_week], f.weeks.end(this_week),
                                           query::Interval::kDay, tz));
  CA_ASSIGN_OR_RETURN(f.days, query::Buckets::Make(end - (options_.search_days - 1) * kDayMs - 1,
                                                   end, query::Interval::kDay, tz));
  f.applications_by_week.assign(f.weeks.size(), 0);
  f.applications_this_week_by_day.assign(f.this_week_days.size(), 0);
  f.searches_by_day.assign(f.days.size(), 0);

  // The funnel from the rollups.
  f.funnel_last_day = FloorDay(now_ms);
  f.funnel_first_day = f.funnel_last_day - options_.funnel_days + 1;
  CA_ASSIGN_OR_RETURN(f.rollups, state_->ListDailyUserMetrics(tenant, user_id, f.funnel_first_day,
                                                              f.funnel_last_day));

  // The rest from the user's activity rows (kept by the rollups: docs/rollups.md), newest first.
  const int64_t search_from = f.days.starts()[0] - options_.search_days * kDayMs;
  const int64_t from_ms =
      std::min({now_ms - options_.response_days * kDayMs, f.weeks.starts()[0], search_from});
  CA_ASSIGN_OR_RETURN(f.activity, state_->ListUserActivity(tenant, user_id, from_ms, end, 0));
  const int64_t response_from = now_ms - options_.response_days * kDayMs;
  for (const state::UserActivityRow& row : f.activity) {
    const int64_t ts = row.timestamp_ms;
    if (row.type == "search") {
      const int64_t d = f.days.IndexOf(ts);
      if (d >= 0) {
        ++f.searches_by_day[d];
      } else if (ts >= search_from && ts < f.days.starts()[0]) {
        ++f.searches_before;
      }
    } else if (row.type == "job_apply") {
      const int64_t w = f.weeks.IndexOf(ts);
      if (w >= 0) ++f.applications_by_week[w];
      const int64_t d = f.this_week_days.IndexOf(ts);
      if (d >= 0) ++f.applications_this_week_by_day[d];
      if (!row.application_id.empty()) {
        Application& a = f.applications[row.application_id];
        a.applied_ms = std::min(a.applied_ms, ts);
      }
    } else if (row.type == "application_status_changed" && !row.application_id.empty()) {
      Application& a = f.applications[row.application_id];
      if (IsResponse(row.status)) a.first_response_ms = std::min(a.first_response_ms, ts);
      if (row.status == "ghosted" || row.status == "withdrawn") {
        a.closed_ms = std::min(a.closed_ms, ts);
      }
      if (ts >= a.latest_status_ms) {
        a.latest_status_ms = ts;
        a.latest_status = row.status;
      }
    }
  }
  // Only applications sent in the response window count (status events of older ones too).
  std::erase_if(f.applications, [&](const auto& entry) {
    return entry.second.applied_ms == std::numeric_limits<int64_t>::max() ||
           entry.second.applied_ms < response_from;
  });
  return f;
}

namespace {

ordered_json ApplicationsThisWeek(const auto& f) {
  ordered_json days = ordered_json::array();
  int64_t total = 0;
  for (size_t i = 0; i < f.this_week_days.size(); ++i) {
    days.push_back({{"day", f.this_week_days.Label(i).substr(0, 10)},
                    {"applications", f.applications_this_week_by_day[i]}});
    total += f.applications_this_week_by_day[i];
  }
  ordered_json out;
  out["timezone"] = f.profile.timezone;
  out["week_start"] = f.this_week_days.Label(0);
  out["days"] = std::move(days);
  out["total"] = total;
  out["goal"] = f.profile.weekly_goal ? ordered_json(*f.profile.weekly_goal) : ordered_json();
  out["progress"] = f.profile.weekly_goal ? Rate(total, *f.profile.weekly_goal) : ordered_json();
  return out;
}

ordered_json GoalProgress(const auto& f) {
  ordered_json weeks = ordered_json::array();
  const auto& goal = f.profile.weekly_goal;
  for (size_t i = 0; i < f.weeks.size(); ++i) {
    ordered_json week;
    week["week_start"] = f.weeks.Label(i);
    week["applications"] = f.applications_by_week[i];
    week["met"] = goal ? ordered_json(f.applications_by_week[i] >= *goal) : ordered_json();
    weeks.push_back(std::move(week));
  }
  // Consecutive finished weeks meeting the goal, counted back from last week.
  int64_t streak = 0;
  if (goal) {
    for (size_t i = f.weeks.size() - 1; i-- > 0 && f.applications_by_week[i] >= *goal;) ++streak;
  }
  const int64_t this_week = f.applications_by_week.back();
  ordered_json out;
  out["weekly_goal"] = goal ? ordered_json(*goal) : ordered_json();
  out["this_week"] = this_week;
  out["remaining"] = goal ? ordered_json(std::max<int64_t>(0, *goal - this_week)) : ordered_json();
  out["streak_weeks"] = goal ? ordered_json(streak) : ordered_json();
  out["weeks"] = std::move(weeks);
  return out;
}

ordered_json Funnel(const auto& f) {
  state::UserDayMetrics sum;
  for (const auto& row : f.rollups) sum += row.metrics;
  const std::pair<const char*, int64_t> steps[] = {
      {"viewed", sum.job_views},     {"saved", sum.saves},  {"applied", sum.applications},
      {"interview", sum.interviews}, {"offer", sum.offers},
  };
  ordered_json out;
  out["from"] = DayText(f.funnel_first_day);
  out["to"] = DayText(f.funnel_last_day);
  ordered_json list = ordered_json::array();
  for (size_t i = 0; i < std::size(steps); ++i) {
    ordered_json step;
    step["step"] = steps[i].first;
    step["count"] = steps[i].second;
    step["rate_from_previous"] =
        i == 0 ? ordered_json() : Rate(steps[i].second, steps[i - 1].second);
    step["rate_from_first"] = i == 0 ? ordered_json() : Rate(steps[i].second, steps[0].second);
    list.push_back(std::move(step));
  }
  out["steps"] = std::move(list);
  return out;
}

ordered_json Response(const auto& f, int response_days) {
  int64_t responded = 0, no_answer = 0, waiting = 0;
  std::vector<double> answered_days, waiting_days;
  for (const auto& [id, a] : f.applications) {
    if (a.first_response_ms != std::numeric_limits<int64_t>::max()) {
      ++responded;
      answered_days.push_back(static_cast<double>(a.first_response_ms - a.applied_ms) / kDayMs);
    } else if (a.closed_ms != std::numeric_limits<int64_t>::max()) {
      ++no_answer;  // ghosted or withdrawn: never answered (stays at risk in the median)
      waiting_days.push_back(std::numeric_limits<double>::infinity());
    } else {
      ++waiting;  // still open: censored now, not counted as no answer
      waiting_days.push_back(static_cast<double>(f.now_ms - a.applied_ms) / kDayMs);
    }
  }
  ordered_json out;
  out["window_days"] = response_days;
  out["applications"] = responded + no_answer + waiting;
  out["responded"] = responded;
  out["no_answer"] = no_answer;
  out["waiting"] = waiting;
  out["response_rate"] = Rate(responded, responded + no_answer);
  std::optional<double> median = KaplanMeierMedian(answered_days, waiting_days);
  out["median_days_to_first_response"] = median ? ordered_json(*median) : ordered_json();
  return out;
}

// The user's latest searches, saves, applications and what followed them, newest first.
ordered_json RecentActivity(const auto& f) {
  ordered_json events = ordered_json::array();
  for (size_t i = 0; i < f.activity.size() && i < kRecentActivity; ++i) {
    const state::UserActivityRow& row = f.activity[i];
    ordered_json e;
    e["event_id"] = row.event_id;
    e["type"] = row.type;
    e["timestamp"] = event::FormatIso8601Millis(row.timestamp_ms);
    e["properties"] = ordered_json::parse(row.properties_json, nullptr, false);
    if (e["properties"].is_discarded()) e["properties"] = ordered_json::object();
    events.push_back(std::move(e));
  }
  ordered_json out;
  out["events"] = std::move(events);
  return out;
}

// Notifications come from alert rules, which do not exist yet (a later issue): the panel is
// empty until then, in the shape it will keep.
ordered_json Notifications() {
  ordered_json out;
  out["notifications"] = ordered_json::array();
  out["unread"] = 0;
  return out;
}

ordered_json StatusBreakdown(const auto& f) {
  std::map<std::string, int64_t> counts;
  for (const auto& [id, a] : f.applications) {
    ++counts[a.latest_status.empty() ? std::string("applied") : a.latest_status];
  }
  ordered_json out = ordered_json::object();
  for (const auto& [status, n] : counts) out[status] = n;
  return out;
}

ordered_json SearchActivity(const auto& f) {
  ordered_json days = ordered_json::array();
  int64_t total = 0;
  for (size_t i = 0; i < f.days.size(); ++i) {
    days.push_back({{"day", f.days.Label(i).substr(0, 10)}, {"searches", f.searches_by_day[i]}});
    total += f.searches_by_day[i];
  }
  ordered_json out;
  out["days"] = std::move(days);
  out["total"] = total;
  out["previous_total"] = f.searches_before;
  out["change_percent"] =
      PercentChange(static_cast<double>(f.searches_before), static_cast<double>(total));
  return out;
}

}  // namespace

Result<std::string> DashboardService::Widget(std::string_view name, const std::string& tenant,
                                             const std::string& user_id, int64_t now_ms) {
  if (std::find(kWidgets.begin(), kWidgets.end(), name) == kWidgets.end()) {
    std::string known;
    for (std::string_view w : kWidgets) known.append(known.empty() ? "" : ", ").append(w);
    return Status(ErrorCode::kNotFound, "unknown widget '" + std::string(name.substr(0, 64)) +
                                            "' (known: " + known + ")");
  }
  auto compute = [&]() -> Result<std::string> {
    CA_ASSIGN_OR_RETURN(Facts f, Gather(tenant, user_id, now_ms));
    ordered_json out;
    if (name == "applications_this_week") {
      out = ApplicationsThisWeek(f);
    } else if (name == "goal_progress") {
      out = GoalProgress(f);
    } else if (name == "funnel") {
      out = Funnel(f);
    } else if (name == "response") {
      out = Response(f, options_.response_days);
    } else if (name == "status_breakdown") {
      out = StatusBreakdown(f);
    } else if (name == "search_activity") {
      out = SearchActivity(f);
    } else if (name == "recent_activity") {
      out = RecentActivity(f);
    } else if (name == "notifications") {
      out = Notifications();
    } else {
      CA_ASSIGN_OR_RETURN(out,
                          MarketTrends(tenant, f.profile.industry, f.profile.location, now_ms));
    }
    return out.dump();
  };
  if (cache_ == nullptr) return compute();
  const std::string tags[] = {cache::UserTag(tenant, user_id)};
  return cache::GetOrCompute(*cache_, cache::DashboardKey(tenant, user_id, name),
                             cache::kDashboardTtl, tags, compute);
}

Result<std::string> DashboardService::Summary(const std::string& tenant, const std::string& user_id,
                                              int64_t now_ms) {
  auto compute = [&]() -> Result<std::string> {
    CA_ASSIGN_OR_RETURN(Facts f, Gather(tenant, user_id, now_ms));
    ordered_json out;
    out["user_id"] = user_id;
    out["generated_at"] = event::FormatIso8601Millis(now_ms);
    out["applications_this_week"] = ApplicationsThisWeek(f);
    out["goal_progress"] = GoalProgress(f);
    out["funnel"] = Funnel(f);
    out["response"] = Response(f, options_.response_days);
    out["status_breakdown"] = StatusBreakdown(f);
    out["search_activity"] = SearchActivity(f);
    CA_ASSIGN_OR_RETURN(out["market_trends"],
                        MarketTrends(tenant, f.profile.industry, f.profile.location, now_ms));
    out["recent_activity"] = RecentActivity(f);
    out["notifications"] = Notifications();
    return out.dump();
  };
  if (cache_ == nullptr) return compute();
  const std::string tags[] = {cache::UserTag(tenant, user_id)};
  return cache::GetOrCompute(*cache_, cache::DashboardKey(tenant, user_id, "summary"),
                             cache::kDashboardTtl, tags, compute);
}

Result<nlohmann::ordered_json> DashboardService::MarketTrends(const std::string& tenant,
                                                              const std::string& industry,
                                                              const std::string& location,
                                                              int64_t now_ms) {
  ordered_json out;
  out["industry"] = industry.empty() ? ordered_json() : ordered_json(industry);
  out["location"] = location.empty() ? ordered_json() : ordered_json(location);
  if (industry.empty()) {
    out["available"] = false;
    out["reason"] = "the user's profile names no industry";
    return out;
  }
  const int64_t last_day = FloorDay(now_ms);
  const int64_t first_day = last_day - options_.market_days + 1;
  CA_ASSIGN_OR_RETURN(std::vector<MarketPoint> points,
                      MarketSeries(state_, tenant, industry, location, first_day, last_day));
  if (points.empty() && !location.empty()) {
    // No figures for the location: the industry's, over every location (averaged per day).
    CA_ASSIGN_OR_RETURN(points, MarketSeries(state_, tenant, industry, "", first_day, last_day));
    out["location"] = nullptr;
  }
  out["available"] = !points.empty();
  if (points.empty()) {
    out["reason"] = "no market data imported for this industry";
    return out;
  }
  ordered_json series = ordered_json::array();
  for (const MarketPoint& p : points) {
    series.push_back({{"day", DayText(p.day)},
                      {"average_salary", p.average_salary},
                      {"postings", p.postings},
                      {"competition", p.competition}});
  }
  const auto& first = series.front();
  const auto& last = series.back();
  ordered_json change;
  for (const char* key : {"average_salary", "postings", "competition"}) {
    change[key] = PercentChange(first[key].get<double>(), last[key].get<double>());
  }
  out["latest"] = last;
  out["change_percent"] = std::move(change);
  out["series"] = std::move(series);
  return out;
}

std::optional<double> KaplanMeierMedian(std::vector<double> times, std::vector<double> censored) {
  std::sort(times.begin(), times.end());
  std::sort(censored.begin(), censored.end());
  double at_risk = static_cast<double>(times.size() + censored.size());
  double survival = 1;
  size_t t = 0, c = 0;
  while (t < times.size()) {
    const double now = times[t];
    // Observations censored before this time have left the risk set.
    while (c < censored.size() && censored[c] < now) {
      --at_risk;
      ++c;
    }
    size_t events = 0;
    while (t < times.size() && times[t] == now) {
      ++events;
      ++t;
    }
    survival *= 1 - static_cast<double>(events) / at_risk;
    at_risk -= static_cast<double>(events);
    if (survival <= 0.5 + 1e-12) return now;  // 1e-12: products like 5/6 * 4/5 * 3/4
  }
  return std::nullopt;
}

}  // namespace ca::services
