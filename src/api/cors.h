#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "http/request.h"
#include "http/response.h"
#include "http/server.h"

namespace ca::api {

/// CORS for the ingest endpoints browsers post to (docs/api/ingest.md "Browsers"). A preflight
/// carries no key, so it is answered for any origin; the request itself is then checked against
/// the allowed origins of its write key.

/// The answer to a preflight (`OPTIONS` with `Origin`): 204 allowing POST with the headers the
/// ingest APIs read, cached by the browser for a day.
http::Response PreflightResponse(const http::Request& request);

/// Ok when the request has no Origin header (not a browser) or its write key allows the origin
/// (`allowed` empty: any); kOriginNotAllowed otherwise.
Status CheckOrigin(const http::Request& request, const std::vector<std::string>& allowed);

/// Wraps `respond` so that a browser request (one with an Origin header) may read the answer:
/// adds `Access-Control-Allow-Origin` with that origin and `Vary: Origin`. Unchanged for other
/// requests.
http::Responder WithCorsHeaders(const http::Request& request, http::Responder respond);

}  // namespace ca::api
