#pragma once

#include "api/auth.h"
#include "batch/scheduler.h"
#include "http/request.h"
#include "http/responder.h"

namespace ca::api {

/// `GET /analytics/jobs`: the server's scheduled jobs (docs/scheduler.md) with their schedules,
/// last and next runs and outcomes; `POST /analytics/jobs/{name}/run` starts one now. For the
/// secret key or an admin token.
class JobsHandler {
 public:
  JobsHandler(batch::Scheduler* scheduler, const Authenticator* auth)
      : scheduler_(scheduler), auth_(auth) {}

  void HandleList(http::Request& request, http::Responder respond);
  void HandleRun(http::Request& request, http::Responder respond);

 private:
  batch::Scheduler* const scheduler_;
  const Authenticator* const auth_;
};

}  // namespace ca::api
