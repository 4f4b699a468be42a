#include "api/dashboard_handler.h"

#include "base/clock.h"
#include "event/timestamp.h"
#include "http/errors.h"

namespace ca::api {

void DashboardHandler::HandleSummary(http::Request& request, http::Responder respond) {
  Handle("", request, std::move(respond));
}

void DashboardHandler::HandleWidget(http::Request& request, http::Responder respond) {
  Handle(std::string(request.PathParam("name")), request, std::move(respond));
}

void DashboardHandler::Handle(std::string widget, http::Request& request, http::Responder respond) {
  auto reader = auth_->UserReader(request, request.QueryParam("user_id"));
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  int64_t at_ms = NowMillis();
  if (std::string at = request.QueryParam("at"); !at.empty()) {
    auto parsed = event::ParseIso8601Millis(at);
    if (!parsed.ok()) {
      respond(
          http::ErrorResponse(InvalidArgument("at: " + std::string(parsed.status().message()))));
      return;
    }
    at_ms = *parsed;
  }
  work_->SubmitWork([dashboards = dashboards_, tenant = std::move(reader->first.tenant),
                     user = std::move(reader->second), widget = std::move(widget), at_ms,
                     respond](const Status& can_run) {
    if (!can_run.ok()) {
      respond(http::ErrorResponse(can_run));
      return;
    }
    Result<std::string> body = widget.empty() ? dashboards->Summary(tenant, user, at_ms)
                                              : dashboards->Widget(widget, tenant, user, at_ms);
    respond(body.ok() ? http::Response::Json(200, std::move(*body))
                      : http::ErrorResponse(body.status()));
  });
}

}  // namespace ca::api
