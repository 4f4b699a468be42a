#pragma once

#include "api/auth.h"
#include "http/request.h"
#include "http/responder.h"
#include "realtime/live_service.h"

namespace ca::api {

/// `GET /dashboard/live?topic=user|admin` (docs/api/live.md): live updates over WebSocket
/// (`Upgrade: websocket`) or Server-Sent Events. `topic=user` streams one user's own events (a
/// user token; the secret key or an admin token naming `user_id`), `topic=admin` the tenant's
/// events and a stats message every second (the secret key or an admin token). Credentials are
/// checked before anything streams: a refused request gets a plain 401/403 and no upgrade.
/// Browsers cannot set headers on WebSocket or EventSource, so this route alone also takes the
/// credential as `?access_token=` (the access log never prints query strings).
class LiveHandler {
 public:
  LiveHandler(realtime::LiveService* live, const Authenticator* auth) : live_(live), auth_(auth) {}

  void Handle(http::Request& request, http::Responder respond);

 private:
  realtime::LiveService* const live_;
  const Authenticator* const auth_;
};

}  // namespace ca::api
