#include "services/query_service.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cmath>

#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "event/timestamp.h"
#include "query/executor.h"

namespace ca::services {
namespace {

constexpr int64_t kDayMs = 86'400'000;
// Query threads yield to ingestion (HTTP, WAL sync, store consumer) under load.
constexpr int kQueryThreadNice = 5;

int64_t PeriodMs(MetricsPeriod p) {
  switch (p) {
    case MetricsPeriod::kDay:
      return kDayMs;
    case MetricsPeriod::kWeek:
      return 7 * kDayMs;
    case MetricsPeriod::kMonth:
      return 30 * kDayMs;
    case MetricsPeriod::kYear:
      return 365 * kDayMs;
  }
  return kDayMs;
}

query::Filter Eq(store::Column field, std::string value) {
  query::Filter f;
  f.field = field;
  f.op = query::FilterOp::kEq;
  f.values.emplace_back(std::move(value));
  return f;
}

// The counted metrics: name, event type, math.
struct CountedMetric {
  const char* name;
  const char* event;
  query::Math math;
};
constexpr CountedMetric kCounted[] = {
    {"page_views", "page_view", query::Math::kCount},
    {"job_views", "job_view", query::Math::kCount},
    {"saves", "job_save", query::Math::kCount},
    {"applications", "job_apply", query::Math::kCount},
    {"interviews", "interview_scheduled", query::Math::kCount},
    {"offers", "offer_received", query::Math::kCount},
    {"time_spent_seconds", "time_spent", query::Math::kSum},
};

}  // namespace

QueryService::QueryService(store::EventStore* store, QueryServiceOptions options)
    : store_(store), options_(options) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
}

QueryService::~QueryService() { Stop(); }

void QueryService::Stop() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    dropped.swap(queue_);
    cv_.notify_all();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // The queued closures answer kUnavailable when run after stopping.
  for (auto& work : dropped) work();
}

bool QueryService::Enqueue(std::function<void()> work) {
  std::lock_guard lock(mu_);
  if (stopping_ || queue_.size() >= options_.max_queued) return false;
  queue_.push_back(std::move(work));
  cv_.notify_one();
  return true;
}

void QueryService::WorkerLoop() {
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kQueryThreadNice) != 0) {
    spdlog::debug("query thread: could not lower its priority");
  }
  while (true) {
    std::function<void()> work;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

Result<nlohmann::json> QueryService::Run(const std::string& tenant,
                                         const query::QuerySpec& spec) const {
  query::ExecOptions exec;
  exec.now_ms = NowMillis();
  exec.max_memory_bytes = options_.max_memory_bytes;
  auto snapshot = store_->Snapshot(tenant);
  return query::Execute(*snapshot, spec, exec);
}

void QueryService::Submit(std::string tenant, std::string spec_json, Done done) {
  auto work = [this, tenant = std::move(tenant), spec_json = std::move(spec_json), done]() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        done(Status(ErrorCode::kUnavailable, "the query service is stopping"));
        return;
      }
    }
    auto spec = query::ParseQuerySpec(spec_json);
    if (!spec.ok()) {
      done(spec.status());
      return;
    }
    const int64_t started = MonotonicNanos();
    Result<nlohmann::json> result = Run(tenant, *spec);
    if (options_.latency_seconds != nullptr) {
      static constexpr const char* kKinds[] = {"trends", "funnel", "retention", "paths", "events"};
      options_.latency_seconds->With({kKinds[spec->kind.index()]})
          .Observe(static_cast<double>(MonotonicNanos() - started) / 1e9);
    }
    done(std::move(result));
  };
  if (!Enqueue(std::move(work))) {
    done(Status(ErrorCode::kUnavailable, "too many queries waiting; retry shortly"));
  }
}

void QueryService::SubmitWork(std::function<void(const Status&)> work) {
  auto task = [this, work]() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        work(Status(ErrorCode::kUnavailable, "the query service is stopping"));
        return;
      }
    }
    work(Status::Ok());
  };
  if (!Enqueue(std::move(task))) {
    work(Status(ErrorCode::kUnavailable, "too many queries waiting; retry shortly"));
  }
}

void QueryService::SubmitUserMetrics(std::string tenant, std::string user_id, MetricsPeriod period,
                                     std::optional<int64_t> end_ms, Done done) {
  auto work = [this, tenant = std::move(tenant), user_id = std::move(user_id), period, end_ms,
               done]() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        done(Status(ErrorCode::kUnavailable, "the query service is stopping"));
        return;
      }
    }
    auto compute = [&]() -> Result<std::string> {
      const int64_t started = MonotonicNanos();
      Result<nlohmann::json> result =
          UserMetrics(tenant, user_id, period, end_ms.value_or(NowMillis()));
      if (options_.latency_seconds != nullptr) {
        options_.latency_seconds->With({"user_metrics"})
            .Observe(static_cast<double>(MonotonicNanos() - started) / 1e9);
      }
      if (!result.ok()) return result.status();
      return result->dump();
    };
    auto cached = [&]() -> Result<std::string> {
      if (options_.cache == nullptr) return compute();
      static constexpr const char* kNames[] = {"day", "week", "month", "year"};
      const std::string params = std::string(kNames[static_cast<int>(period)]) + "/" +
                                 (end_ms ? std::to_string(*end_ms) : std::string("now"));
      const std::string tags[] = {cache::UserTag(tenant, user_id)};
      return cache::GetOrCompute(*options_.cache, cache::UserMetricsKey(tenant, user_id, params),
                                 cache::kUserMetricsTtl, tags, compute);
    };
    Result<std::string> text = cached();
    if (!text.ok()) {
      done(text.status());
      return;
    }
    done(nlohmann::json::parse(*text));
  };
  if (!Enqueue(std::move(work))) {
    done(Status(ErrorCode::kUnavailable, "too many queries waiting; retry shortly"));
  }
}

Result<nlohmann::json> QueryService::UserMetrics(const std::string& tenant,
                                                 const std::string& user_id, MetricsPeriod period,
                                                 int64_t now_ms) const {
  const int64_t length = PeriodMs(period);
  auto snapshot = store_->Snapshot(tenant);
  query::ExecOptions exec;
  exec.now_ms = now_ms;
  exec.max_memory_bytes = options_.max_memory_bytes;

  // Totals of the counted metrics over [from, to) from raw events (zeros for an empty range).
  using Totals = std::array<double, std::size(kCounted)>;
  auto from_events = [&](int64_t from, int64_t to) -> Result<Totals> {
    Totals totals{};
    if (from >= to) return totals;
    query::QuerySpec spec;
    spec.from_ms = from;
    spec.to_ms = to;
    spec.filters.push_back(Eq(store::Column::kUser, user_id));
    query::TrendsSpec trends;
    trends.interval = query::Interval::kMonth;
    for (const auto& m : kCounted) {
      query::Series s;
      s.matcher.event = m.event;
      s.math = m.math;
      trends.series.push_back(std::move(s));
    }
    spec.kind = std::move(trends);
    CA_ASSIGN_OR_RETURN(nlohmann::json result, query::Execute(*snapshot, spec, exec));
    for (const auto& row : result["series"]) {
      const size_t i = row["index"].get<size_t>();
      if (i < totals.size() && row["total"].is_number()) totals[i] += row["total"].get<double>();
    }
    return totals;
  };
  // The same from daily_user_metrics for UTC days first..last.
  auto from_rollups = [&](int64_t first_day, int64_t last_day) -> Result<Totals> {
    CA_ASSIGN_OR_RETURN(
        auto rows, options_.rollups->ListDailyUserMetrics(tenant, user_id, first_day, last_day));
    Totals totals{};
    for (const auto& row : rows) {
      const state::UserDayMetrics& m = row.metrics;
      const double values[] = {static_cast<double>(m.page_views),
                               static_cast<double>(m.job_views),
                               static_cast<double>(m.saves),
                               static_cast<double>(m.applications),
                               static_cast<double>(m.interviews),
                               static_cast<double>(m.offers),
                               m.seconds_spent};
      static_assert(std::size(values) == std::size(kCounted));
      for (size_t i = 0; i < totals.size(); ++i) totals[i] += values[i];
    }
    return totals;
  };
  const bool use_rollups =
      options_.rollups != nullptr && (!options_.rollups_current || options_.rollups_current());

  // Totals of the counted metrics and the response rate over [from, to).
  auto measure = [&](int64_t from, int64_t to) -> Result<nlohmann::ordered_json> {
    Totals totals{};
    int64_t rollup_days = 0;
    const int64_t first_day = (from + kDayMs - 1) / kDayMs;  // periods lie after 1970
    const int64_t end_day = to / kDayMs;                     // first day not whole in the range
    if (use_rollups && first_day < end_day) {
      CA_ASSIGN_OR_RETURN(totals, from_rollups(first_day, end_day - 1));
      CA_ASSIGN_OR_RETURN(Totals head, from_events(from, first_day * kDayMs));
      CA_ASSIGN_OR_RETURN(Totals tail, from_events(end_day * kDayMs, to));
      for (size_t i = 0; i < totals.size(); ++i) totals[i] += head[i] + tail[i];
      rollup_days = end_day - first_day;
    } else {
      CA_ASSIGN_OR_RETURN(totals, from_events(from, to));
    }
    nlohmann::ordered_json out;
    out["from"] = event::FormatIso8601Millis(from);
    out["to"] = event::FormatIso8601Millis(to);
    for (size_t i = 0; i < std::size(kCounted); ++i) {
      if (kCounted[i].math == query::Math::kCount) {
        out[kCounted[i].name] = static_cast<int64_t>(std::llround(totals[i]));
      } else {
        out[kCounted[i].name] = totals[i];
      }
    }
    out["rollup_days"] = rollup_days;
    // Response rate: of the applications sent in the period, the share with an employer
    // response (screening, interview, offer or rejection) before its end.
    query::QuerySpec funnel_spec;
    funnel_spec.from_ms = from;
    funnel_spec.to_ms = to;
    funnel_spec.filters.push_back(Eq(store::Column::kUser, user_id));
    query::FunnelSpec funnel;
    funnel.by = query::FunnelBy::kApplication;
    funnel.window_ms = std::min<int64_t>(length, 365 * kDayMs);
    query::EventMatcher applied;
    applied.event = "job_apply";
    query::EventMatcher answered;
    answered.event = "application_status_changed";
    query::Filter response;
    response.field = store::Column::kStatus;
    response.op = query::FilterOp::kIn;
    for (const char* s : {"screening", "interview", "offer", "rejected"}) {
      response.values.emplace_back(std::string(s));
    }
    answered.filters.push_back(std::move(response));
    funnel.steps = {applied, answered};
    funnel_spec.kind = std::move(funnel);
    CA_ASSIGN_OR_RETURN(nlohmann::json f, query::Execute(*snapshot, funnel_spec, exec));
    out["response_rate"] = f["steps"][1]["conversion_from_previous"];
    return out;
  };

  CA_ASSIGN_OR_RETURN(auto current, measure(now_ms - length, now_ms));
  CA_ASSIGN_OR_RETURN(auto previous, measure(now_ms - 2 * length, now_ms - length));
  nlohmann::ordered_json change;
  for (const auto& [key, value] : current.items()) {
    if (key == "from" || key == "to" || key == "rollup_days") continue;
    const auto& before = previous[key];
    if (value.is_null() || before.is_null() || before.get<double>() == 0) {
      change[key] = nullptr;
    } else {
      double b = before.get<double>();
      change[key] = (value.get<double>() - b) / b * 100.0;
    }
  }
  static constexpr const char* kNames[] = {"day", "week", "month", "year"};
  nlohmann::ordered_json out;
  out["user_id"] = user_id;
  out["period"] = kNames[static_cast<int>(period)];
  out["current"] = std::move(current);
  out["previous"] = std::move(previous);
  out["change_percent"] = std::move(change);
  return nlohmann::json(out);
}

}  // namespace ca::services
