#include "api/query_handler.h"

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
  auto tenant = AuthorizeSecretKey(request, keys_);
  if (!tenant.ok()) {
    respond(http::ErrorResponse(tenant.status()));
    return;
  }
  queries_->Submit(
      std::move(*tenant), std::move(request.body),
      [respond](Result<nlohmann::json> result) { Answer(respond, std::move(result)); });
}

void QueryHandler::HandleMetrics(services::MetricsPeriod period, http::Request& request,
                                 http::Responder respond) {
  auto tenant = AuthorizeSecretKey(request, keys_);
  if (!tenant.ok()) {
    respond(http::ErrorResponse(tenant.status()));
    return;
  }
  std::string user_id = request.QueryParam("user_id");
  if (user_id.empty()) {
    respond(http::ErrorResponse(Status(ErrorCode::kInvalidQuery, "user_id is required")));
    return;
  }
  int64_t end_ms = NowMillis();
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
      std::move(*tenant), std::move(user_id), period, end_ms,
      [respond](Result<nlohmann::json> result) { Answer(respond, std::move(result)); });
}

}  // namespace ca::api
