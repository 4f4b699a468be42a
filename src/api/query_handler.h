#pragma once

#include "http/request.h"
#include "http/responder.h"
#include "services/query_service.h"
#include "state/key_cache.h"

namespace ca::api {

/// The read API over the event store, authorised by the tenant's secret key
/// (`Authorization: Bearer sk_...`):
/// - `POST /analytics/query`: a query spec (docs/api/query.md);
/// - `GET /analytics/metrics/{day|week|month|year}?user_id=U[&end=ISO]`: one user's activity
///   (docs/api/metrics.md).
class QueryHandler {
 public:
  QueryHandler(services::QueryService* queries, state::KeyCache* keys)
      : queries_(queries), keys_(keys) {}

  void HandleQuery(http::Request& request, http::Responder respond);
  void HandleMetrics(services::MetricsPeriod period, http::Request& request,
                     http::Responder respond);

 private:
  services::QueryService* const queries_;
  state::KeyCache* const keys_;
};

}  // namespace ca::api
