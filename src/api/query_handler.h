#pragma once

#include "api/auth.h"
#include "http/request.h"
#include "http/responder.h"
#include "services/query_service.h"

namespace ca::api {

/// The read API over the event store (docs/auth.md says who may call what):
/// - `POST /analytics/query`: a query spec (docs/api/query.md); the secret key or an admin;
/// - `GET /analytics/metrics/{day|week|month|year}?user_id=U[&end=ISO]`: one user's activity
///   (docs/api/metrics.md); also the user's own token.
class QueryHandler {
 public:
  QueryHandler(services::QueryService* queries, const Authenticator* auth)
      : queries_(queries), auth_(auth) {}

  void HandleQuery(http::Request& request, http::Responder respond);
  /// `{period}` of the route: day, week, month or year (else 404 `route_not_found`).
  void HandleMetrics(http::Request& request, http::Responder respond);

 private:
  services::QueryService* const queries_;
  const Authenticator* const auth_;
};

}  // namespace ca::api
