#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ca::http {

/// Log lines whose message starts with this byte carry a JSON object of fields (as
/// LogStructured writes them); a JSON log formatter merges the fields into its line, a text one
/// prints the object.
inline constexpr char kStructuredLogMarker = '\x1f';

/// Logs `fields` (a JSON object, e.g. {"msg":"request","request_id":...}) at `level`.
inline void LogStructured(spdlog::level::level_enum level, const nlohmann::ordered_json& fields) {
  if (!spdlog::should_log(level)) return;
  std::string line(1, kStructuredLogMarker);
  line += fields.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  spdlog::log(level, "{}", line);
}

}  // namespace ca::http
