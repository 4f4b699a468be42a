#pragma once

#include "base/error_code.h"
#include "base/status.h"
#include "http/response.h"

namespace ca::http {

/// The one place where error codes become HTTP statuses: 401 unauthorized, 403 forbidden,
/// 413 body/event too large and too many events, 415 unsupported media type/encoding,
/// 503 disk full, I/O error, unavailable, shutting down, locked, 400 for malformed input and every
/// event validation code, 404 not found, 405 method not allowed, 409 already exists, else 500.
int HttpStatusFor(ErrorCode code);

/// Seconds for the Retry-After header of `code`, or 0 when the error is not worth retrying.
int RetryAfterSecondsFor(ErrorCode code);

/// JSON error response `{"error": {"code": "<ErrorCodeName>", "message": "..."}}` with the status
/// from `HttpStatusFor` and a Retry-After header where due. An OK status maps to `internal`.
Response ErrorResponse(const Status& status);

}  // namespace ca::http
