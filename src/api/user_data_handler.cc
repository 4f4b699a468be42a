#include "api/user_data_handler.h"

#include "base/clock.h"
#include "http/errors.h"

namespace ca::api {

void UserDataHandler::HandleExport(http::Request& request, http::Responder respond) {
  auto reader = auth_->UserReader(request, request.PathParam("id"));
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  work_->SubmitWork([users = users_, tenant = std::move(reader->first.tenant),
                     user = std::move(reader->second), respond](const Status& can_run) {
    if (!can_run.ok()) {
      respond(http::ErrorResponse(can_run));
      return;
    }
    auto data = users->Export(tenant, user);
    respond(data.ok()
                ? http::Response::Json(
                      200, data->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
                : http::ErrorResponse(data.status()));
  });
}

void UserDataHandler::HandleDelete(http::Request& request, http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  work_->SubmitWork([users = users_, tenant = std::move(reader->tenant),
                     user = std::string(request.PathParam("id")), respond](const Status& can_run) {
    if (!can_run.ok()) {
      respond(http::ErrorResponse(can_run));
      return;
    }
    auto receipt = users->Delete(tenant, user, NowMillis());
    respond(receipt.ok() ? http::Response::Json(200, receipt->dump())
                         : http::ErrorResponse(receipt.status()));
  });
}

}  // namespace ca::api
