#include "api/query_handler.h"

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

Result<std::string> QueryHandler::Authorize(const http::Request& request) {
  std::string_view auth = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || auth.substr(0, kBearer.size()) != kBearer) {
    return Status(ErrorCode::kUnauthorized,
                  "missing secret key: send Authorization: Bearer <secret key>");
  }
  CA_ASSIGN_OR_RETURN(auto match, keys_->Lookup(auth.substr(kBearer.size())));
  if (!match.has_value()) return Status(ErrorCode::kUnauthorized, "unknown key");
  if (match->kind != state::KeyKind::kSecret) {
    return Status(ErrorCode::kForbidden, "a write key cannot read; use the tenant's secret key");
  }
  return match->tenant;
}

void QueryHandler::HandleQuery(http::Request& request, http::Responder respond) {
  auto tenant = Authorize(request);
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
  auto tenant = Authorize(request);
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
