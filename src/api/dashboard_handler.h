#pragma once

#include "api/auth.h"
#include "http/request.h"
#include "http/responder.h"
#include "services/dashboard_service.h"
#include "services/query_service.h"

namespace ca::api {

/// The job seeker's dashboard (docs/api/dashboard.md), for the user's own token, or the secret
/// key or an admin token naming the user with `?user_id=`:
/// - `GET /dashboard/summary`: every widget;
/// - `GET /dashboard/widgets/{name}`: one widget.
/// `?at=ISO-8601` computes the dashboard as of another time (default: now). The work runs on the
/// query threads.
class DashboardHandler {
 public:
  DashboardHandler(services::DashboardService* dashboards, services::QueryService* work,
                   const Authenticator* auth)
      : dashboards_(dashboards), work_(work), auth_(auth) {}

  void HandleSummary(http::Request& request, http::Responder respond);
  void HandleWidget(http::Request& request, http::Responder respond);

 private:
  void Handle(std::string widget, http::Request& request, http::Responder respond);

  services::DashboardService* const dashboards_;
  services::QueryService* const work_;
  const Authenticator* const auth_;
};

}  // namespace ca::api
