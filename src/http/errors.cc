#include "http/errors.h"

#include <string>

#include <nlohmann/json.hpp>

namespace ca::http {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kForbidden:
    case ErrorCode::kOriginNotAllowed:
      return 403;
    case ErrorCode::kNotFound:
    case ErrorCode::kRouteNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kBodyTooLarge:
    case ErrorCode::kTooManyEvents:
    case ErrorCode::kEventTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMediaType:
    case ErrorCode::kUnsupportedEncoding:
      return 415;
    case ErrorCode::kDiskFull:
    case ErrorCode::kIoError:
    case ErrorCode::kUnavailable:
    case ErrorCode::kShuttingDown:
    case ErrorCode::kLocked:
    case ErrorCode::kOverloaded:
      return 503;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kMalformedJson:
    case ErrorCode::kBadRequest:
    case ErrorCode::kEventNotObject:
    case ErrorCode::kNestingTooDeep:
    case ErrorCode::kMissingField:
    case ErrorCode::kWrongType:
    case ErrorCode::kUnknownEventType:
    case ErrorCode::kInvalidTimestamp:
    case ErrorCode::kInvalidEventId:
    case ErrorCode::kMissingProperty:
    case ErrorCode::kInvalidProperty:
    case ErrorCode::kFieldTooLong:
    case ErrorCode::kUnknownField:
    case ErrorCode::kInvalidQuery:
    case ErrorCode::kInvalidInterval:
    case ErrorCode::kRangeTooLarge:
    case ErrorCode::kInvalidFilter:
    case ErrorCode::kInvalidCursor:
      return 400;
    case ErrorCode::kQueryMemoryExceeded:
      return 422;
    case ErrorCode::kQueryTimeout:
      return 503;
    default:
      break;
  }
  // Not listed (kInternal, kCorruption, ... and codes appended later): the 4xx group of the
  // registry is event validation, everything else is a server error.
  uint16_t raw = static_cast<uint16_t>(code);
  if (raw >= 400 && raw < 500) return 400;
  return 500;
}

int RetryAfterSecondsFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kDiskFull:
    case ErrorCode::kIoError:
      return 10;
    case ErrorCode::kUnavailable:
    case ErrorCode::kShuttingDown:
    case ErrorCode::kLocked:
    case ErrorCode::kRateLimited:
    case ErrorCode::kOverloaded:
      return 1;
    default:
      return 0;
  }
}

Response ErrorResponse(const Status& status) {
  ErrorCode code = status.ok() ? ErrorCode::kInternal : status.code();
  nlohmann::json body = {
      {"error",
       {{"code", std::string(ErrorCodeName(code))}, {"message", std::string(status.message())}}}};
  Response r = Response::Json(HttpStatusFor(code),
                              body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (int seconds = RetryAfterSecondsFor(code); seconds > 0) {
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
  }
  return r;
}

}  // namespace ca::http
