#include "api/query_handler.h"

#include <algorithm>

#include "api/auth.h"

#include "base/clock.h"
#include "event/timestamp.h"
#include "http/errors.h"

namespace ca::api {
namespace {

void Answer(const http::Responder& respond, Result<nlohmann::json> result) {
  respond(result.ok() ? http::Response::Json(200, result->dump())
                      : http::ErrorResponse(result.status()));
}

}  // namespace

void QueryHandler::HandleQuery(http::Request& request, http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  queries_->Submit(
      std::move(reader->tenant), std::move(request.body),
      [respond](Result<nlohmann::json> result) { Answer(respond, std::move(result)); });
}

void QueryHandler::HandleMetrics(http::Request& request, http::Responder respond) {
  const std::string_view name = request.PathParam("period");
  const std::pair<std::string_view, services::MetricsPeriod> periods[] = {
      {"day", services::MetricsPeriod::kDay},
      {"week", services::MetricsPeriod::kWeek},
      {"month", services::MetricsPeriod::kMonth},
      {"year", services::MetricsPeriod::kYear}};
  auto it = std::find_if(std::begin(periods), std::end(periods),
                         [&](const auto& p) { return p.first == name; });
  if (it == std::end(periods)) {
    respond(http::ErrorResponse(
        Status(ErrorCode::kRouteNotFound,
               "no route for " + request.path + ": the period is day, week, month or year")));
    return;
  }
  const services::MetricsPeriod period = it->second;
  auto reader = auth_->UserReader(request, request.QueryParam("user_id"));
  if (!reader.ok()) {
    const Status& s = reader.status();
    // A missing user_id keeps the code this route always answered.
    respond(http::ErrorResponse(s.code() == ErrorCode::kInvalidArgument
                                    ? Status(ErrorCode::kInvalidQuery, std::string(s.message()))
                                    : s));
    return;
  }
  std::string tenant = std::move(reader->first.tenant);
  std::string user_id = std::move(reader->second);
  std::optional<int64_t> end_ms;  // now
  if (std::string end = request.QueryParam("end"); !end.empty()) {
    auto parsed = event::ParseIso8601Millis(end);
    if (!parsed.ok()) {
      respond(http::ErrorResponse(
          Status(ErrorCode::kInvalidQuery, "end: " + std::string(parsed.status().message()))));
      return;
    }
    end_ms = *parsed;
  }
  queries_->SubmitUserMetrics(
      std::move(tenant), std::move(user_id), period, end_ms,
      [respond](Result<nlohmann::json> result) { Answer(respond, std::move(result)); });
}

}  // namespace ca::api
