#include "http/router.h"

#include "http/errors.h"

namespace ca::http {

void Router::Add(std::string method, std::string path, Handler h) {
  routes_[std::move(path)][std::move(method)] = std::move(h);
}

void Router::Dispatch(Request& request, Responder responder) const {
  auto path_it = routes_.find(request.path);
  if (path_it == routes_.end()) {
    responder(ErrorResponse({ErrorCode::kRouteNotFound, "no route for " + request.path}));
    return;
  }
  const auto& methods = path_it->second;
  auto it = methods.find(request.method);
  if (it == methods.end() && request.method == "HEAD") it = methods.find("GET");
  if (it != methods.end()) {
    it->second(request, std::move(responder));
    return;
  }
  std::string allow;
  for (const auto& [method, handler] : methods) {
    if (!allow.empty()) allow += ", ";
    allow += method;
  }
  if (methods.count("GET") != 0 && methods.count("HEAD") == 0) allow += ", HEAD";
  Response r = ErrorResponse(
      {ErrorCode::kMethodNotAllowed, request.method + " is not allowed on " + request.path});
  r.headers.emplace_back("Allow", std::move(allow));
  responder(std::move(r));
}

}  // namespace ca::http
