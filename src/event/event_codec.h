#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "event/event.h"

namespace ca::event {

/// First byte of an encoded event: record type "event", encoding version 1.
/// The format is documented in docs/formats/event-record.md.
inline constexpr uint8_t kRecordTypeEventV1 = 1;

/// Appends the binary encoding of `event` to `*out` (the WAL record payload).
void EncodeEvent(const Event& event, std::string* out);

/// Decodes a payload written by EncodeEvent. Errors: kCorruption for a wrong record type, a
/// truncated or over-long varint, a length past the end, or trailing bytes. Never reads outside
/// `payload`.
Result<Event> DecodeEvent(std::string_view payload);
/// DecodeEvent into `*out`, reusing its strings' capacity (for loops over many records). On error
/// `*out` holds a partial event.
Status DecodeEventInto(std::string_view payload, Event* out);
/// DecodeEventInto without copying the two JSON objects: `out`'s properties_json and context_json
/// are left empty, and `*properties` and `*context` view them in `payload`. Validates the whole
/// record as DecodeEventInto does.
Status DecodeEventHeadInto(std::string_view payload, Event* out, std::string_view* properties,
                           std::string_view* context);

/// The fields needed to rebuild the deduplication index, viewing into the payload (valid while
/// the payload bytes are).
struct EventKey {
  std::string_view tenant;
  std::string_view event_id;
  int64_t received_at_ms = 0;
};

/// Decodes only the leading key fields of an encoded event; does not validate the rest.
/// Errors: kCorruption as for DecodeEvent.
Result<EventKey> DecodeEventKey(std::string_view payload);

/// One JSON object for humans and tools (`wal dump`): event_id, tenant, type, user_id,
/// anonymous_id, session_id, timestamp and received_at (ISO-8601 UTC with ms), properties and
/// context (embedded objects, as stored).
std::string EventToJson(const Event& event);

}  // namespace ca::event
