#pragma once

#include <string>
#include <string_view>

#include "event/event.h"
#include "state/state_store.h"

namespace ca::batch {

/// Whether events of `type` are kept in `user_activity` (docs/rollups.md): a job seeker's
/// searches, saves, applications and what followed them (status changes, interviews, offers,
/// follow-ups). Page and job views are not: the rollups count them.
bool IsActivityType(std::string_view type);

/// The activity row of an event; false when its type is not kept or it has no user id.
bool ActivityFromEvent(const event::Event& e, state::UserActivityRow* row);

/// The row for an event read back from the event store (rebuilds): `properties_json` is the
/// stored properties object. False when `type` is not kept or `user_id` is empty.
bool ActivityFromStored(std::string_view tenant, std::string_view user_id, int64_t timestamp_ms,
                        std::string_view event_id, std::string_view type,
                        std::string_view properties_json, state::UserActivityRow* row);

/// The scalar members of a properties object (strings, numbers, booleans; at most 16), strings
/// longer than 160 bytes cut at a character boundary and ended with "…": what an activity row
/// keeps to show. "{}" for
/// anything that is not an object.
std::string CompactProperties(std::string_view properties_json);

}  // namespace ca::batch
