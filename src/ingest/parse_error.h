#pragma once

#include <simdjson.h>

#include "base/status.h"

namespace ca::ingest {

/// The whole-request error for a body simdjson could not parse: kNestingTooDeep, kBodyTooLarge
/// (beyond the parser's capacity), kInternal (out of memory) or kMalformedJson with simdjson's
/// reason. Shared by the native and the SDK decoders so that both answer alike.
Status ParseErrorStatus(simdjson::error_code err);

}  // namespace ca::ingest
