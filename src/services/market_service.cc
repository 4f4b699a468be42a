#include "services/market_service.h"

#include <array>
#include <map>

#include "event/timestamp.h"
#include "services/forecast.h"

namespace ca::services {
namespace {

using nlohmann::ordered_json;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr size_t kListedRejections = 100;

int64_t FloorDay(int64_t ms) { return ms >= 0 ? ms / kDayMs : -((-ms + kDayMs - 1) / kDayMs); }

std::string DayText(int64_t day) { return event::FormatIso8601Millis(day * kDayMs).substr(0, 10); }

ordered_json Optional(std::optional<double> v) { return v ? ordered_json(*v) : ordered_json(); }

}  // namespace

Result<std::vector<MarketPoint>> MarketSeries(state::StateStore* state, const std::string& tenant,
                                              std::string_view industry, std::string_view location,
                                              int64_t first_day, int64_t last_day) {
  CA_ASSIGN_OR_RETURN(auto rows,
                      state->ListMarketTrends(tenant, industry, location, first_day, last_day));
  std::map<int64_t, std::array<double, 4>> by_day;  // salary, postings, competition, rows
  for (const state::MarketTrendRow& r : rows) {
    auto& d = by_day[r.day];
    d[0] += r.average_salary;
    d[1] += static_cast<double>(r.postings);
    d[2] += r.competition;
    d[3] += 1;
  }
  std::vector<MarketPoint> points;
  points.reserve(by_day.size());
  for (const auto& [day, d] : by_day) {
    points.push_back({day, d[0] / d[3], d[1] / d[3], d[2] / d[3]});
  }
  return points;
}

Result<ordered_json> MarketService::Import(const std::string& tenant, ExternalDataset dataset,
                                           ExternalFormat format, std::string_view body) {
  CA_ASSIGN_OR_RETURN(std::optional<state::Tenant> found, state_->FindTenant(tenant));
  if (!found) return Status(ErrorCode::kNotFound, "unknown tenant '" + tenant + "'");
  CA_ASSIGN_OR_RETURN(ParsedExternalData parsed, ParseExternalData(dataset, body, format));
  switch (dataset) {
    case ExternalDataset::kMarket: {
      std::vector<state::MarketTrendRow> rows;
      rows.reserve(parsed.market.size());
      for (const MarketRow& r : parsed.market) {
        rows.push_back(
            {r.date, r.industry, r.location, r.average_salary, r.postings, r.competition});
      }
      CA_RETURN_IF_ERROR(state_->UpsertMarketTrends(tenant, rows));
      break;
    }
    case ExternalDataset::kBenchmarks: {
      std::vector<state::ExternalValueRow> rows;
      for (const BenchmarkRow& r : parsed.benchmarks) {
        rows.push_back({r.date, r.industry, r.metric, r.value});
      }
      CA_RETURN_IF_ERROR(
          state_->UpsertExternalValues(tenant, state::ExternalSeries::kBenchmarks, rows));
      break;
    }
    case ExternalDataset::kIndicators: {
      std::vector<state::ExternalValueRow> rows;
      for (const IndicatorRow& r : parsed.indicators) {
        rows.push_back({r.date, r.location, r.indicator, r.value});
      }
      CA_RETURN_IF_ERROR(
          state_->UpsertExternalValues(tenant, state::ExternalSeries::kIndicators, rows));
      break;
    }
  }
  // Trends and dashboards of the tenant read this data.
  if (cache_ != nullptr) cache_->InvalidateTag(cache::TenantTag(tenant));
  ordered_json receipt;
  receipt["dataset"] = ExternalDatasetName(dataset);
  receipt["format"] = ExternalFormatName(format);
  receipt["rows_read"] = parsed.rows_read;
  receipt["stored"] = parsed.accepted();
  receipt["duplicates_replaced"] = parsed.duplicates_replaced;
  receipt["rejected"] = parsed.rejected.size();
  ordered_json rejections = ordered_json::array();
  for (size_t i = 0; i < parsed.rejected.size() && i < kListedRejections; ++i) {
    const RejectedRow& r = parsed.rejected[i];
    rejections.push_back({{"line", r.line}, {"code", r.code}, {"message", r.message}});
  }
  receipt["rejections"] = std::move(rejections);
  receipt["ignored_columns"] = parsed.ignored_columns;
  return receipt;
}

Result<std::string> MarketService::Trends(const std::string& tenant, const std::string& industry,
                                          const std::string& location, int64_t now_ms, int days,
                                          int horizon) {
  if (days < 1 || days > 3650) return InvalidArgument("days: expected 1 to 3650");
  if (horizon < 1 || horizon > kMaxForecastHorizon) {
    return InvalidArgument("horizon: expected 1 to " + std::to_string(kMaxForecastHorizon));
  }
  auto compute = [&]() -> Result<std::string> {
    const int64_t last_day = FloorDay(now_ms);
    const int64_t first_day = last_day - days + 1;
    CA_ASSIGN_OR_RETURN(std::vector<MarketPoint> points,
                        MarketSeries(state_, tenant, industry, location, first_day, last_day));
    ordered_json out;
    out["industry"] = industry.empty() ? ordered_json() : ordered_json(industry);
    out["location"] = location.empty() ? ordered_json() : ordered_json(location);
    out["from"] = DayText(first_day);
    out["to"] = DayText(last_day);
    ordered_json series = ordered_json::array();
    for (const MarketPoint& p : points) {
      series.push_back({{"day", DayText(p.day)},
                        {"average_salary", p.average_salary},
                        {"postings", p.postings},
                        {"competition", p.competition}});
    }
    out["series"] = std::move(series);
    if (points.empty()) {
      out["change_percent"] = nullptr;
      out["forecast"] = nullptr;
      return out.dump();
    }
    using Field = double MarketPoint::*;
    const std::pair<const char*, Field> fields[] = {
        {"average_salary", &MarketPoint::average_salary},
        {"postings", &MarketPoint::postings},
        {"competition", &MarketPoint::competition}};
    ordered_json change;
    for (const auto& [name, field] : fields) {
      change[name] = Optional(ChangePercent(points.front().*field, points.back().*field));
    }
    out["change_percent"] = std::move(change);
    ordered_json forecast;
    forecast["horizon_days"] = horizon;
    for (const auto& [name, field] : fields) {
      std::vector<std::pair<int64_t, double>> history;
      history.reserve(points.size());
      for (const MarketPoint& p : points) history.emplace_back(p.day, p.*field);
      CA_ASSIGN_OR_RETURN(Forecast f, ForecastSeries(history, horizon));
      ordered_json values = ordered_json::array();
      for (const ForecastPoint& p : f.points) {
        // Salaries, postings and competition are never negative.
        values.push_back({{"day", DayText(p.day)},
                          {"value", std::max(0.0, p.value)},
                          {"lower", std::max(0.0, p.lower)},
                          {"upper", std::max(0.0, p.upper)}});
      }
      forecast["method"] = f.method;
      forecast["level"] = f.level;
      forecast[name] = std::move(values);
    }
    out["forecast"] = std::move(forecast);
    return out.dump();
  };
  if (cache_ == nullptr) return compute();
  const std::string tags[] = {cache::TenantTag(tenant)};
  const std::string params = state::NormaliseKey(industry) + "\n" + state::NormaliseKey(location) +
                             "\n" + std::to_string(days) + "\n" + std::to_string(horizon) + "\n" +
                             std::to_string(FloorDay(now_ms));
  return cache::GetOrCompute(*cache_, cache::TrendsKey(tenant, params), cache::kTrendsTtl, tags,
                             compute);
}

}  // namespace ca::services
