#include "api/export_handler.h"

#include <nlohmann/json.hpp>

#include "event/timestamp.h"
#include "http/errors.h"

namespace ca::api {
namespace {

nlohmann::ordered_json JobJson(const state::ExportJobRow& job) {
  nlohmann::ordered_json out;
  out["id"] = job.id;
  out["status"] = job.status;
  out["request"] = nlohmann::ordered_json::parse(job.request_json, nullptr, false);
  out["rows"] = job.rows;
  out["bytes"] = job.bytes;
  out["error"] = job.error.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(job.error);
  out["created_at"] = event::FormatIso8601Millis(job.created_at_ms);
  out["finished_at"] = job.finished_at_ms
                           ? nlohmann::ordered_json(event::FormatIso8601Millis(*job.finished_at_ms))
                           : nlohmann::ordered_json();
  out["download"] = job.status == "done"
                        ? nlohmann::ordered_json("/analytics/exports/" + job.id + "/download")
                        : nlohmann::ordered_json();
  return out;
}

}  // namespace

void ExportHandler::HandleSubmit(http::Request& request, http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  auto job = exports_->Submit(reader->tenant, request.body);
  respond(job.ok() ? http::Response::Json(202, JobJson(*job).dump())
                   : http::ErrorResponse(job.status()));
}

void ExportHandler::HandleGet(http::Request& request, http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  auto job = exports_->Get(reader->tenant, request.PathParam("id"));
  respond(job.ok() ? http::Response::Json(200, JobJson(*job).dump())
                   : http::ErrorResponse(job.status()));
}

void ExportHandler::HandleDownload(http::Request& request, http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  const std::string_view id = request.PathParam("id");
  auto job = exports_->Get(reader->tenant, id);
  if (!job.ok()) {
    respond(http::ErrorResponse(job.status()));
    return;
  }
  auto path = exports_->FilePath(reader->tenant, id);
  if (!path.ok()) {  // not finished: 503 with Retry-After
    respond(http::ErrorResponse(path.status()));
    return;
  }
  http::Response r;
  r.content_type = services::ExportService::ContentTypeOf(*job);
  r.headers.emplace_back(
      "Content-Disposition",
      "attachment; filename=\"" + services::ExportService::DownloadNameOf(*job) + "\"");
  r.file_path = std::move(*path);
  respond(std::move(r));
}

}  // namespace ca::api
