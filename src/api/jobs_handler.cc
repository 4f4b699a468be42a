#include "api/jobs_handler.h"

#include <nlohmann/json.hpp>

#include "event/timestamp.h"
#include "http/errors.h"

namespace ca::api {
namespace {

nlohmann::ordered_json Time(std::optional<int64_t> ms) {
  return ms ? nlohmann::ordered_json(event::FormatIso8601Millis(*ms)) : nlohmann::ordered_json();
}

}  // namespace

void JobsHandler::HandleList(http::Request& request, http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  nlohmann::ordered_json jobs = nlohmann::ordered_json::array();
  for (const batch::JobStatus& job : scheduler_->List()) {
    nlohmann::ordered_json j;
    j["name"] = job.name;
    j["schedule"] = job.schedule;
    j["time_zone"] = job.time_zone;
    j["running"] = job.running;
    j["next_run"] = Time(job.next_run_ms);
    j["skipped_runs"] = job.skipped_runs;
    if (job.last_run) {
      j["last_run"] = {{"started_at", event::FormatIso8601Millis(job.last_run->started_ms)},
                       {"finished_at", event::FormatIso8601Millis(job.last_run->finished_ms)},
                       {"duration_ms", job.last_run->finished_ms - job.last_run->started_ms},
                       {"ok", job.last_run->ok},
                       {"message", job.last_run->message}};
    } else {
      j["last_run"] = nullptr;
    }
    jobs.push_back(std::move(j));
  }
  respond(http::Response::Json(200, nlohmann::ordered_json{{"jobs", std::move(jobs)}}.dump()));
}

void JobsHandler::HandleRun(http::Request& request, http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  const std::string name(request.PathParam("name"));
  Status started = scheduler_->RunNow(name);
  if (!started.ok()) {
    respond(http::ErrorResponse(started));
    return;
  }
  respond(http::Response::Json(202, nlohmann::ordered_json{{"started", name}}.dump()));
}

}  // namespace ca::api
