#include "api/market_handler.h"

#include <charconv>

#include "base/clock.h"
#include "http/errors.h"

namespace ca::api {
namespace {

// The integer query parameter `name` in [min, max], or `fallback` when absent.
Result<int> IntParam(const http::Request& request, std::string_view name, int fallback, int min,
                     int max) {
  const std::string text = request.QueryParam(name);
  if (text.empty()) return fallback;
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return InvalidArgument(std::string(name) + ": expected a whole number from " +
                           std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

}  // namespace

void MarketHandler::HandleImport(http::Request& request, http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  const std::string dataset_name = request.QueryParam("dataset");
  std::optional<services::ExternalDataset> dataset =
      services::ParseExternalDataset(dataset_name.empty() ? "market" : dataset_name);
  if (!dataset) {
    respond(
        http::ErrorResponse(InvalidArgument("dataset: expected market, benchmarks or indicators")));
    return;
  }
  std::string format_name = request.QueryParam("format");
  if (format_name.empty()) format_name = std::string(request.Header("content-type"));
  std::optional<services::ExternalFormat> format = services::ParseExternalFormat(format_name);
  if (!format) {
    respond(http::ErrorResponse(
        Status(ErrorCode::kUnsupportedMediaType,
               "send CSV (text/csv) or JSON (application/json, application/x-ndjson), or say which "
               "with ?format=csv|json")));
    return;
  }
  work_->SubmitWork([market = market_, tenant = std::move(reader->tenant), dataset = *dataset,
                     format = *format, body = std::move(request.body),
                     respond](const Status& can_run) {
    if (!can_run.ok()) {
      respond(http::ErrorResponse(can_run));
      return;
    }
    auto receipt = market->Import(tenant, dataset, format, body);
    respond(receipt.ok() ? http::Response::Json(200, receipt->dump())
                         : http::ErrorResponse(receipt.status()));
  });
}

void MarketHandler::HandleTrends(http::Request& request, http::Responder respond) {
  auto caller = auth_->Authenticate(request);
  auto days = IntParam(request, "days", 365, 1, 3650);
  auto horizon = IntParam(request, "horizon", 30, 1, 90);
  for (const Status& s : {caller.status(), days.status(), horizon.status()}) {
    if (!s.ok()) {
      respond(http::ErrorResponse(s));
      return;
    }
  }
  work_->SubmitWork([market = market_, tenant = std::move(caller->tenant),
                     industry = request.QueryParam("industry"),
                     location = request.QueryParam("location"), days = *days, horizon = *horizon,
                     respond](const Status& can_run) {
    if (!can_run.ok()) {
      respond(http::ErrorResponse(can_run));
      return;
    }
    auto body = market->Trends(tenant, industry, location, NowMillis(), days, horizon);
    respond(body.ok() ? http::Response::Json(200, std::move(*body))
                      : http::ErrorResponse(body.status()));
  });
}

}  // namespace ca::api
