#pragma once

#include <cstdint>
#include <string_view>

namespace ca {

/// The one registry of stable error codes. The string form (`ErrorCodeName`) is part of the public
/// API: it appears in JSON error bodies and per-event receipts, and clients and tests match on it.
/// Never renumber or rename an entry; add new ones at the end of their group.
enum class ErrorCode : uint16_t {
  kOk = 0,

  // Generic (1xx).
  kInternal = 100,
  kInvalidArgument = 101,
  kNotFound = 102,
  kAlreadyExists = 103,
  kUnavailable = 104,
  kCancelled = 105,
  kConfigInvalid = 106,

  // Storage and I/O (2xx).
  kIoError = 200,
  kDiskFull = 201,
  kCorruption = 202,
  kLocked = 203,

  // HTTP and requests (3xx).
  kUnauthorized = 300,
  kForbidden = 301,
  kBodyTooLarge = 302,
  kUnsupportedMediaType = 303,
  kUnsupportedEncoding = 304,
  kMalformedJson = 305,
  kRouteNotFound = 306,
  kMethodNotAllowed = 307,
  kTooManyEvents = 308,
  kBadRequest = 309,
  kShuttingDown = 310,
  kOriginNotAllowed = 311,  ///< a browser Origin the write key does not allow (CORS)
  kRateLimited = 312,       ///< the key sent more than its rate limit (429, Retry-After)
  kOverloaded = 313,        ///< consumers lag past their bound; retry later (503, Retry-After)

  // Event validation (4xx), used in per-event receipts.
  kEventNotObject = 400,
  kEventTooLarge = 401,
  kNestingTooDeep = 402,
  kMissingField = 403,
  kWrongType = 404,
  kUnknownEventType = 405,
  kInvalidTimestamp = 406,
  kInvalidEventId = 407,
  kMissingProperty = 408,
  kInvalidProperty = 409,
  kFieldTooLong = 410,
  kUnknownField = 411,
  kEventTooOld = 412,      ///< older than the tenant's late-event bound
  kConsentWithheld = 413,  ///< no consent or Do-Not-Track, and the tenant drops such events
  kUserSuppressed = 414,   ///< the user was deleted; their events are no longer accepted
  // Queries (5xx): the analytics query spec and its execution.
  kInvalidQuery = 500,
  kInvalidInterval = 501,
  kRangeTooLarge = 502,
  kInvalidFilter = 503,
  kQueryTimeout = 504,
  kQueryMemoryExceeded = 505,
  kInvalidCursor = 506,
};

/// Stable snake_case name of `code`, e.g. "missing_field".
std::string_view ErrorCodeName(ErrorCode code);

}  // namespace ca
