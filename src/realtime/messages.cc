#include "realtime/messages.h"

#include <nlohmann/json.hpp>

#include "event/json_string.h"
#include "event/timestamp.h"

namespace ca::realtime {

std::string EventMessage(const event::Event& e, size_t max_properties_bytes) {
  std::string out;
  out.reserve(128 + e.event_id.size() + e.type.size() + e.user_id.size() +
              std::min(e.properties_json.size(), max_properties_bytes));
  out += R"({"kind":"event","event":{"event_id":)";
  event::AppendJsonString(e.event_id, &out);
  out += R"(,"type":)";
  event::AppendJsonString(e.type, &out);
  out += R"(,"user_id":)";
  event::AppendJsonString(e.user_id, &out);
  out += R"(,"anonymous_id":)";
  event::AppendJsonString(e.anonymous_id, &out);
  out += R"(,"session_id":)";
  event::AppendJsonString(e.session_id, &out);
  out += R"(,"timestamp":")";
  event::AppendIso8601Millis(e.timestamp_ms, &out);
  out += R"(","properties":)";
  // Stored properties are a minified JSON object (the pipeline's output): copied as they are.
  const bool fits = e.properties_json.size() <= max_properties_bytes &&
                    !e.properties_json.empty() && e.properties_json.front() == '{';
  out += fits ? e.properties_json : std::string("{}");
  if (!fits) out += R"(,"properties_truncated":true)";
  out += "}}";
  return out;
}

std::string StatsMessage(const WindowSnapshot& s) {
  nlohmann::ordered_json j;
  j["kind"] = "stats";
  j["ts"] = event::FormatIso8601Millis(s.now_ms);
  j["events_per_second"] = s.events_per_second;
  j["events_last_minute"] = s.events_last_minute;
  j["active_users"] = s.active_users;
  j["active_users_capped"] = s.active_users_capped;
  j["per_second"] = s.per_second;
  nlohmann::ordered_json types = nlohmann::ordered_json::object();
  for (const auto& [type, n] : s.types_last_minute) types[type] = n;
  j["types_last_minute"] = std::move(types);
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string HelloMessage(const TopicKey& topic) {
  nlohmann::ordered_json j;
  j["kind"] = "hello";
  j["topic"] = topic.kind;
  j["tenant"] = topic.tenant;
  if (topic.kind == "user") j["user_id"] = topic.user_id;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace ca::realtime
