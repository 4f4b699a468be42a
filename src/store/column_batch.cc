#include "store/column_batch.h"

namespace ca::store {
namespace {

constexpr std::array<std::string_view, kColumnCount> kNames = {
    "timestamp", "received_at", "flags",          "user_id",    "anonymous_id", "session_id",
    "type",      "job_id",      "application_id", "status",     "path",         "country",
    "device",    "value",       "event_id",       "properties", "context"};

}  // namespace

std::string_view ColumnName(Column c) { return kNames[static_cast<size_t>(c)]; }

void CopyRow(const ColumnBatch& from, size_t i, ColumnBatch* to) {
  to->timestamp.push_back(from.timestamp[i]);
  to->received_at.push_back(from.received_at[i]);
  to->flags.push_back(from.flags[i]);
  for (size_t c = 0; c < to->ids.size(); ++c) to->ids[c].push_back(from.ids[c][i]);
  to->value.push_back(from.value[i]);
  to->event_id.push_back(from.event_id[i]);
  to->properties.push_back(from.properties[i]);
  to->context.push_back(from.context[i]);
}

std::optional<Column> ColumnFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Column>(i);
  }
  return std::nullopt;
}

}  // namespace ca::store
