#include "api/routes.h"

#include "http/errors.h"

namespace ca::api {

void AddRoutes(const RouteContext& context, http::Router* router) {
  router->Add("GET", "/healthz", [](http::Request&, http::Responder respond) {
    respond(http::Response::Json(200, R"({"status":"ok"})"));
  });
  router->Add("GET", "/readyz", [ready = context.ready](http::Request&, http::Responder respond) {
    if (ready && !ready()) {
      respond(http::ErrorResponse(
          Status(ErrorCode::kUnavailable, "write-ahead log cannot take writes")));
      return;
    }
    respond(http::Response::Json(200, R"({"status":"ready"})"));
  });
  router->Add("POST", "/api/analytics/events",
              [ingest = context.ingest](http::Request& request, http::Responder respond) {
                ingest->Handle(request, std::move(respond));
              });
  if (context.query == nullptr) return;
  router->Add("POST", "/analytics/query",
              [query = context.query](http::Request& request, http::Responder respond) {
                query->HandleQuery(request, std::move(respond));
              });
  const std::pair<const char*, services::MetricsPeriod> periods[] = {
      {"day", services::MetricsPeriod::kDay},
      {"week", services::MetricsPeriod::kWeek},
      {"month", services::MetricsPeriod::kMonth},
      {"year", services::MetricsPeriod::kYear}};
  for (const auto& [name, period] : periods) {
    router->Add(
        "GET", std::string("/analytics/metrics/") + name,
        [query = context.query, period = period](http::Request& request, http::Responder respond) {
          query->HandleMetrics(period, request, std::move(respond));
        });
  }
}

}  // namespace ca::api
