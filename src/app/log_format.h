#pragma once

#include <string_view>

namespace ca::app {

/// Sets how the server logs (config `log_format`): "json" writes one JSON object per line
/// ({"ts","level","msg",...}; structured lines such as the access log add their fields, e.g.
/// request_id), "text" the readable "TIME LEVEL message" lines.
void UseLogFormat(std::string_view format);

}  // namespace ca::app
