#include "store/column_batch.h"

namespace ca::store {
namespace {

constexpr std::array<std::string_view, kColumnCount> kNames = {
    "timestamp", "received_at", "flags",          "user_id",    "anonymous_id", "session_id",
    "type",      "job_id",      "application_id", "status",     "path",         "country",
    "device",    "value",       "event_id",       "properties", "context"};

}  // namespace

std::string_view ColumnName(Column c) { return kNames[static_cast<size_t>(c)]; }

std::optional<Column> ColumnFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Column>(i);
  }
  return std::nullopt;
}

}  // namespace ca::store
