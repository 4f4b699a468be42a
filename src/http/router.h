#pragma once

#include <functional>
#include <map>
#include <string>

#include "http/request.h"
#include "http/responder.h"

namespace ca::http {

/// Handles one request. Runs on a server I/O thread: must not block for long; slow work answers
/// later through the `Responder` (from any thread). `request` is valid only during the call: move
/// out what later work needs. Exceptions are caught by the server (500 `internal`).
using Handler = std::function<void(Request&, Responder)>;

/// Maps (method, path) to handlers by exact path match. Populate before giving it to the `Server`;
/// `Dispatch` is const and safe to call concurrently.
class Router {
 public:
  /// Registers `h` for `method` (e.g. "GET") on `path` (decoded, e.g. "/healthz"). A later
  /// registration of the same pair replaces the earlier one.
  void Add(std::string method, std::string path, Handler h);

  /// Calls the matching handler. HEAD falls back to the GET handler (the server drops the body).
  /// Unknown path: 404 `route_not_found`; known path, other method: 405 `method_not_allowed` with
  /// an Allow header.
  void Dispatch(Request& request, Responder responder) const;

 private:
  // path -> method -> handler
  std::map<std::string, std::map<std::string, Handler>, std::less<>> routes_;
};

}  // namespace ca::http
