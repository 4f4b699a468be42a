#pragma once

#include "api/auth.h"
#include "http/request.h"
#include "http/responder.h"
#include "services/export_service.h"

namespace ca::api {

/// Exports as background jobs (docs/api/export.md), for the secret key or an admin token:
/// - `POST /analytics/export`: a query spec or a dataset, CSV or JSON lines, gzip; 202 with the
///   job;
/// - `GET /analytics/exports/{id}`: the job's state;
/// - `GET /analytics/exports/{id}/download`: the file, streamed from disk (503 `unavailable`
///   with Retry-After until it is done).
class ExportHandler {
 public:
  ExportHandler(services::ExportService* exports, const Authenticator* auth)
      : exports_(exports), auth_(auth) {}

  void HandleSubmit(http::Request& request, http::Responder respond);
  void HandleGet(http::Request& request, http::Responder respond);
  void HandleDownload(http::Request& request, http::Responder respond);

 private:
  services::ExportService* const exports_;
  const Authenticator* const auth_;
};

}  // namespace ca::api
