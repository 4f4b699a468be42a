#pragma once

#include "api/auth.h"
#include "http/request.h"
#include "http/responder.h"
#include "services/query_service.h"
#include "services/user_data_service.h"

namespace ca::api {

/// A person's data (docs/privacy.md):
/// - `GET /analytics/users/{id}/export`: everything held on them; the user's own token, or the
///   secret key or an admin token;
/// - `DELETE /analytics/users/{id}`: deletes it and returns the receipt; the secret key or an
///   admin token.
class UserDataHandler {
 public:
  UserDataHandler(services::UserDataService* users, services::QueryService* work,
                  const Authenticator* auth)
      : users_(users), work_(work), auth_(auth) {}

  void HandleExport(http::Request& request, http::Responder respond);
  void HandleDelete(http::Request& request, http::Responder respond);

 private:
  services::UserDataService* const users_;
  services::QueryService* const work_;
  const Authenticator* const auth_;
};

}  // namespace ca::api
