#include "app/log_format.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "http/structured_log.h"

namespace ca::app {
namespace {

// One JSON object per line: time (UTC, ms), level, and the message or a structured line's fields.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char ts[40];
    const size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + n, sizeof ts - n, ".%03dZ", static_cast<int>(ms % 1000));
    std::string line = "{\"ts\":\"";
    line += ts;
    line += "\",\"level\":\"";
    const auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += "\",";
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!payload.empty() && payload.front() == http::kStructuredLogMarker && payload.size() > 2 &&
        payload[1] == '{') {
      line.append(payload.substr(2));  // the fields, then the object's closing brace
    } else {
      line += "\"msg\":";
      line += nlohmann::json(std::string(payload))
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      line += '}';
    }
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// The text pattern, with the structured marker dropped.
class TextFormatter final : public spdlog::formatter {
 public:
  TextFormatter() : pattern_("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v") {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!payload.empty() && payload.front() == http::kStructuredLogMarker) {
      spdlog::details::log_msg copy = msg;
      copy.payload = spdlog::string_view_t(payload.data() + 1, payload.size() - 1);
      pattern_.format(copy, dest);
      return;
    }
    pattern_.format(msg, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }

 private:
  spdlog::pattern_formatter pattern_;
};

}  // namespace

void UseLogFormat(std::string_view format) {
  if (format == "text") {
    spdlog::set_formatter(std::make_unique<TextFormatter>());
  } else {
    spdlog::set_formatter(std::make_unique<JsonFormatter>());
  }
}

}  // namespace ca::app
