#pragma once

#include <string>
#include <string_view>

namespace ca::ingest {

/// The top-level string field `write_key` of a JSON object body, or "" when absent or not a string.
/// For clients that cannot set headers (browsers' sendBeacon); reads only the top level.
std::string ExtractBodyWriteKey(std::string_view body);

}  // namespace ca::ingest
