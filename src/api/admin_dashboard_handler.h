#pragma once

#include <string>

#include "api/auth.h"
#include "http/request.h"
#include "http/responder.h"
#include "services/admin_dashboard_service.h"
#include "services/query_service.h"

namespace ca::api {

/// The admin's view of the tenant (docs/api/admin-dashboard.md), for the tenant's secret key or
/// an admin token (a user token is 403):
/// - `GET /dashboard/admin/summary`: every part;
/// - `GET /dashboard/admin/widgets/{name}`: one part, as the summary holds it.
/// `?days=1..365` (default 30) and `?timezone=IANA` (default UTC). The work runs on the query
/// threads.
class AdminDashboardHandler {
 public:
  AdminDashboardHandler(services::AdminDashboardService* dashboards, services::QueryService* work,
                        const Authenticator* auth)
      : dashboards_(dashboards), work_(work), auth_(auth) {}

  void HandleSummary(http::Request& request, http::Responder respond);
  void HandleWidget(http::Request& request, http::Responder respond);

 private:
  void Handle(std::string widget, http::Request& request, http::Responder respond);

  services::AdminDashboardService* const dashboards_;
  services::QueryService* const work_;
  const Authenticator* const auth_;
};

}  // namespace ca::api
