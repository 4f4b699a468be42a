#pragma once

#include "api/auth.h"
#include "http/request.h"
#include "http/responder.h"
#include "services/market_service.h"
#include "services/query_service.h"

namespace ca::api {

/// External data and the market trends it feeds (docs/api/market-data.md):
/// - `POST /analytics/external?dataset=market|benchmarks|indicators[&format=csv|json]`: the
///   secret key or an admin token; the format comes from `format` or the Content-Type;
/// - `GET /analytics/trends?industry=&location=[&days=365&horizon=30]`: any credential of the
///   tenant that may read (market data is not personal).
class MarketHandler {
 public:
  MarketHandler(services::MarketService* market, services::QueryService* work,
                const Authenticator* auth)
      : market_(market), work_(work), auth_(auth) {}

  void HandleImport(http::Request& request, http::Responder respond);
  void HandleTrends(http::Request& request, http::Responder respond);

 private:
  services::MarketService* const market_;
  services::QueryService* const work_;
  const Authenticator* const auth_;
};

}  // namespace ca::api
