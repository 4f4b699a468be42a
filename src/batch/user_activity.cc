#include "batch/user_activity.h"

#include <array>

#include <nlohmann/json.hpp>

#include "store/json_fields.h"

namespace ca::batch {
namespace {

constexpr size_t kMaxMembers = 16;
constexpr size_t kMaxStringBytes = 160;

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
void CutUtf8(std::string* s, size_t max) {
  if (s->size() <= max) return;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>((*s)[end]) & 0xC0) == 0x80) --end;
  s->resize(end);
  s->append("…");
}

std::string StringMember(std::string_view properties_json, std::string_view key) {
  if (auto raw = store::FindMember(properties_json, key)) {
    if (std::optional<std::string> s = store::AsString(*raw)) return std::move(*s);
  }
  return "";
}

}  // namespace

bool IsActivityType(std::string_view type) {
  static constexpr std::array<std::string_view, 10> kTypes = {
      "search",
      "job_save",
      "job_apply",
      "application_status_changed",
      "interview_scheduled",
      "interview_feedback",
      "offer_received",
      "offer_accepted",
      "offer_rejected",
      "follow_up",
  };
  for (std::string_view t : kTypes) {
    if (t == type) return true;
  }
  return false;
}

bool ActivityFromStored(std::string_view tenant, std::string_view user_id, int64_t timestamp_ms,
                        std::string_view event_id, std::string_view type,
                        std::string_view properties_json, state::UserActivityRow* row) {
  if (user_id.empty() || !IsActivityType(type)) return false;
  row->tenant = std::string(tenant);
  row->user_id = std::string(user_id);
  row->timestamp_ms = timestamp_ms;
  row->event_id = std::string(event_id);
  row->type = std::string(type);
  row->application_id = StringMember(properties_json, "application_id");
  row->status = StringMember(properties_json, "status");
  row->properties_json = CompactProperties(properties_json);
  return true;
}

bool ActivityFromEvent(const event::Event& e, state::UserActivityRow* row) {
  return ActivityFromStored(e.tenant, e.user_id, e.timestamp_ms, e.event_id, e.type,
                            e.properties_json, row);
}

std::string CompactProperties(std::string_view properties_json) {
  nlohmann::json in = nlohmann::json::parse(properties_json, nullptr, false);
  if (!in.is_object()) return "{}";
  nlohmann::json out = nlohmann::json::object();
  for (auto it = in.begin(); it != in.end() && out.size() < kMaxMembers; ++it) {
    if (it->is_string()) {
      std::string value = it->get<std::string>();
      CutUtf8(&value, kMaxStringBytes);
      out[it.key()] = std::move(value);
    } else if (it->is_number() || it->is_boolean()) {
      out[it.key()] = *it;
    }
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ca::batch
