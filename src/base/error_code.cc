#include "base/error_code.h"

namespace ca {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kConfigInvalid:
      return "config_invalid";
    case ErrorCode::kIoError:
      return "io_error";
    case ErrorCode::kDiskFull:
      return "disk_full";
    case ErrorCode::kCorruption:
      return "corruption";
    case ErrorCode::kLocked:
      return "locked";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kBodyTooLarge:
      return "body_too_large";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorCode::kUnsupportedEncoding:
      return "unsupported_encoding";
    case ErrorCode::kMalformedJson:
      return "malformed_json";
    case ErrorCode::kRouteNotFound:
      return "route_not_found";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kTooManyEvents:
      return "too_many_events";
    case ErrorCode::kBadRequest:
      return "bad_request";
    case ErrorCode::kShuttingDown:
      return "shutting_down";
    case ErrorCode::kOriginNotAllowed:
      return "origin_not_allowed";
    case ErrorCode::kEventNotObject:
      return "event_not_object";
    case ErrorCode::kEventTooLarge:
      return "event_too_large";
    case ErrorCode::kNestingTooDeep:
      return "nesting_too_deep";
    case ErrorCode::kMissingField:
      return "missing_field";
    case ErrorCode::kWrongType:
      return "wrong_type";
    case ErrorCode::kUnknownEventType:
      return "unknown_event_type";
    case ErrorCode::kInvalidTimestamp:
      return "invalid_timestamp";
    case ErrorCode::kInvalidEventId:
      return "invalid_event_id";
    case ErrorCode::kMissingProperty:
      return "missing_property";
    case ErrorCode::kInvalidProperty:
      return "invalid_property";
    case ErrorCode::kFieldTooLong:
      return "field_too_long";
    case ErrorCode::kUnknownField:
      return "unknown_field";
    case ErrorCode::kInvalidQuery:
      return "invalid_query";
    case ErrorCode::kInvalidInterval:
      return "invalid_interval";
    case ErrorCode::kRangeTooLarge:
      return "range_too_large";
    case ErrorCode::kInvalidFilter:
      return "invalid_filter";
    case ErrorCode::kQueryTimeout:
      return "query_timeout";
    case ErrorCode::kQueryMemoryExceeded:
      return "query_memory_exceeded";
    case ErrorCode::kInvalidCursor:
      return "invalid_cursor";
  }
  return "unknown_error";
}

}  // namespace ca
