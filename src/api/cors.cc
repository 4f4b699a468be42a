#include "api/cors.h"

#include <algorithm>
#include <utility>

namespace ca::api {
namespace {

constexpr std::string_view kAllowedHeaders =
    "Content-Type, Content-Encoding, X-Write-Key, Authorization";

}  // namespace

http::Response PreflightResponse(const http::Request& request) {
  http::Response response;
  response.status = 204;
  response.content_type.clear();
  const std::string_view origin = request.Header("origin");
  response.headers.emplace_back("Access-Control-Allow-Origin",
                                origin.empty() ? std::string("*") : std::string(origin));
  response.headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
  response.headers.emplace_back("Access-Control-Allow-Headers", std::string(kAllowedHeaders));
  response.headers.emplace_back("Access-Control-Max-Age", "86400");
  response.headers.emplace_back("Vary", "Origin");
  return response;
}

Status CheckOrigin(const http::Request& request, const std::vector<std::string>& allowed) {
  const std::string_view origin = request.Header("origin");
  if (origin.empty() || allowed.empty()) return Status::Ok();
  if (std::find(allowed.begin(), allowed.end(), origin) != allowed.end()) return Status::Ok();
  return Status(ErrorCode::kOriginNotAllowed,
                "origin " + std::string(origin) +
                    " is not allowed for this write key (career-analytics keys origins)");
}

http::Responder WithCorsHeaders(const http::Request& request, http::Responder respond) {
  const std::string_view origin = request.Header("origin");
  if (origin.empty()) return respond;
  return http::Responder(
      [origin = std::string(origin), respond = std::move(respond)](http::Response r) {
        r.headers.emplace_back("Access-Control-Allow-Origin", origin);
        // A page may read how long to wait after 429 and 503 (tracker.js honours it).
        r.headers.emplace_back("Access-Control-Expose-Headers", "Retry-After");
        r.headers.emplace_back("Vary", "Origin");
        respond(std::move(r));
      });
}

}  // namespace ca::api
