#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "cache/cache.h"
#include "services/market_data.h"
#include "state/state_store.h"

namespace ca::services {

/// One day of a market series: the average over the rows of that day (one per location when
/// the series covers several).
struct MarketPoint {
  int64_t day = 0;
  double average_salary = 0;
  double postings = 0;
  double competition = 0;
};

/// The daily market series of `industry` and `location` (empty: any) from the state store's
/// job_market_trends over [first_day, last_day].
Result<std::vector<MarketPoint>> MarketSeries(state::StateStore* state, const std::string& tenant,
                                              std::string_view industry, std::string_view location,
                                              int64_t first_day, int64_t last_day);

/// Imported external data (docs/api/market-data.md): `import market|benchmarks|indicators` and
/// `POST /analytics/external` store it; `GET /analytics/trends` reads the market series with a
/// forecast. Thread-safe.
class MarketService {
 public:
  /// `cache` may be null.
  MarketService(state::StateStore* state, cache::Cache* cache) : state_(state), cache_(cache) {}

  /// Parses `body` and stores its valid rows for `tenant`; the receipt (JSON) counts what was
  /// read, stored and rejected (with line numbers, the first 100 rejections listed). Whole-body
  /// errors as ParseExternalData; kNotFound for an unknown tenant.
  Result<nlohmann::ordered_json> Import(const std::string& tenant, ExternalDataset dataset,
                                        ExternalFormat format, std::string_view body);

  /// Salary, postings and competition of `industry` and `location` (empty: any) per day over
  /// the `days` up to `now_ms`, their change in percent, and a forecast `horizon` days ahead
  /// with an 80% interval. kInvalidArgument for days outside 1..3650 or a horizon outside 1..90.
  Result<std::string> Trends(const std::string& tenant, const std::string& industry,
                             const std::string& location, int64_t now_ms, int days = 365,
                             int horizon = 30);

 private:
  state::StateStore* const state_;
  cache::Cache* const cache_;
};

}  // namespace ca::services
