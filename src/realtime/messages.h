#pragma once

#include <cstddef>
#include <string>

#include "event/event.h"
#include "realtime/live_hub.h"
#include "realtime/window_counters.h"

namespace ca::realtime {

// The JSON messages of live views (docs/api/live.md). Each is one line: a JSON object whose
// "kind" says what it is.

/// `{"kind":"event","event":{"event_id","type","user_id","anonymous_id","session_id",
/// "timestamp" (ISO 8601, as the events listing of /analytics/query),"properties"}}`. Properties
/// are copied as stored (already scrubbed); over `max_properties_bytes` they are replaced by `{}`
/// and `"properties_truncated":true` is added.
std::string EventMessage(const event::Event& event, size_t max_properties_bytes);

/// `{"kind":"stats","ts","events_per_second","events_last_minute","active_users",
/// "active_users_capped","per_second":[60 counts],"types_last_minute":{type: n}}`.
std::string StatsMessage(const WindowSnapshot& snapshot);

/// `{"kind":"hello","topic":"admin"|"user","tenant","user_id"?}`: the first message of a stream,
/// sent once its subscription exists.
std::string HelloMessage(const TopicKey& topic);

}  // namespace ca::realtime
