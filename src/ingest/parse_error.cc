#include "ingest/parse_error.h"

#include <string>

namespace ca::ingest {

Status ParseErrorStatus(simdjson::error_code err) {
  switch (err) {
    case simdjson::DEPTH_ERROR:
      return Status(ErrorCode::kNestingTooDeep, "request body nested too deeply");
    case simdjson::MEMALLOC:
      return Status(ErrorCode::kInternal, "out of memory parsing the request body");
    case simdjson::CAPACITY:
      return Status(ErrorCode::kBodyTooLarge, "request body too large to parse");
    default:
      return Status(ErrorCode::kMalformedJson,
                    std::string("request body is not valid JSON: ") + simdjson::error_message(err));
  }
}

}  // namespace ca::ingest
