#include "api/admin_dashboard_handler.h"

#include <charconv>

#include "base/clock.h"
#include "http/errors.h"

namespace ca::api {

void AdminDashboardHandler::HandleSummary(http::Request& request, http::Responder respond) {
  Handle("", request, std::move(respond));
}

void AdminDashboardHandler::HandleWidget(http::Request& request, http::Responder respond) {
  Handle(std::string(request.PathParam("name")), request, std::move(respond));
}

void AdminDashboardHandler::Handle(std::string widget, http::Request& request,
                                   http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  services::AdminDashboardRequest params;
  params.tenant = std::move(reader->tenant);
  params.now_ms = NowMillis();
  if (std::string days = request.QueryParam("days"); !days.empty()) {
    auto [end, ec] = std::from_chars(days.data(), days.data() + days.size(), params.days);
    if (ec != std::errc() || end != days.data() + days.size()) {
      respond(http::ErrorResponse(InvalidArgument("days: expected a whole number from 1 to 365")));
      return;
    }
  }
  if (std::string tz = request.QueryParam("timezone"); !tz.empty()) params.timezone = tz;
  if (Status valid = services::AdminDashboardService::Validate(params); !valid.ok()) {
    respond(http::ErrorResponse(valid));
    return;
  }
  work_->SubmitWork([dashboards = dashboards_, params = std::move(params),
                     widget = std::move(widget), respond](const Status& can_run) {
    if (!can_run.ok()) {
      respond(http::ErrorResponse(can_run));
      return;
    }
    Result<std::string> body =
        widget.empty() ? dashboards->Summary(params) : dashboards->Part(widget, params);
    respond(body.ok() ? http::Response::Json(200, std::move(*body))
                      : http::ErrorResponse(body.status()));
  });
}

}  // namespace ca::api
