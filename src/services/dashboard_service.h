#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "cache/cache.h"
#include "state/state_store.h"

namespace ca::services {

struct DashboardOptions {
  int funnel_days = 30;    ///< the funnel covers this many UTC days up to today (rollups)
  int response_days = 90;  ///< applications sent in this many days count for response figures
  int search_days = 14;    ///< search activity per local day
  int goal_weeks = 4;      ///< weeks before this one in the goal history
  int market_days = 90;    ///< market series length
};

/// A job seeker's dashboard (docs/api/dashboard.md): applications this week against the weekly
/// goal, the funnel from rollups, response rate and median time to first response, the status
/// of their applications, search activity, goal progress, the market of their industry and
/// location, recent activity and notifications. Answers are cached for a minute under the user's
/// tag (cache::UserTag), which is invalidated when their new events are rolled up. Thread-safe.
class DashboardService {
 public:
  /// `cache` may be null (no caching). Everything comes from the state store: the rollups, the
  /// activity rows the rollups keep (so answers follow the log by about a second), traits and
  /// market data.
  DashboardService(state::StateStore* state, cache::Cache* cache, DashboardOptions options = {});

  /// The widget names, in the order the summary holds them.
  static const std::vector<std::string_view>& Widgets();

  /// Every widget of `user_id`'s dashboard as one JSON object (text) at `now_ms`.
  Result<std::string> Summary(const std::string& tenant, const std::string& user_id,
                              int64_t now_ms);
  /// One widget; kNotFound for an unknown name.
  Result<std::string> Widget(std::string_view name, const std::string& tenant,
                             const std::string& user_id, int64_t now_ms);

 private:
  struct Facts;
  Result<Facts> Gather(const std::string& tenant, const std::string& user_id, int64_t now_ms);
  /// The market_trends widget for an industry and location (from job_market_trends).
  Result<nlohmann::ordered_json> MarketTrends(const std::string& tenant,
                                              const std::string& industry,
                                              const std::string& location, int64_t now_ms);

  state::StateStore* const state_;
  cache::Cache* const cache_;
  const DashboardOptions options_;
};

/// The median of a survival curve (Kaplan-Meier): `times` of observed events, and `censored`
/// times of observations still waiting at that time. nullopt when fewer than half are known to
/// have had the event by the last time seen (the median is not reached).
std::optional<double> KaplanMeierMedian(std::vector<double> times, std::vector<double> censored);

}  // namespace ca::services
