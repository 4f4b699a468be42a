#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error_code.h"
#include "base/result.h"
#include "event/catalogue.h"
#include "event/event.h"

namespace ca::ingest {

class PrivacyFilter;

/// Why one event of a batch was not accepted. `index` is its position in the request's array.
struct Rejection {
  uint32_t index = 0;
  ErrorCode code = ErrorCode::kOk;
  std::string message;  ///< Names the offending field.
  /// The event as received, minified; only with DecodeOptions::keep_rejected_raw (dead letters).
  std::string raw;
};

/// The outcome of decoding one native batch body.
struct DecodedBatch {
  std::vector<event::Event> events;     ///< Valid events, in request order.
  std::vector<uint32_t> event_indexes;  ///< Request index of each entry of `events`.
  std::vector<Rejection> rejected;      ///< In request order.
  std::string write_key;                ///< `write_key` of the body, if any.
  std::optional<int64_t> sent_at_ms;    ///< `sent_at` of the body, if any.
  uint32_t received = 0;                ///< Number of events in the request.
  /// The privacy stage IngestPipeline::Commit applies; null: the pipeline's default.
  std::shared_ptr<const PrivacyFilter> privacy;
};

/// Limits and context for DecodeBatch. Lengths are in bytes of UTF-8.
struct DecodeOptions {
  size_t max_event_bytes = 32 * 1024;  ///< Limit on an event's minified JSON size.
  size_t max_events = 1000;            ///< Limit on the number of events in one request.
  int max_depth = 32;                  ///< Nesting limit inside an event (the event is level 1).
  int max_body_depth = 64;             ///< Nesting limit of the whole body (parser limit).
  size_t max_event_id_chars = 64;      ///< event_id length limit.
  size_t max_id_chars = 256;           ///< user_id / anonymous_id / session_id length limit.
  int64_t received_at_ms = 0;          ///< Server receive time stamped on every event.
  std::string_view tenant;             ///< Tenant stamped on every event.
  const event::Catalogue* catalogue = nullptr;  ///< Tenant's types; nullptr: built-ins only.
  bool keep_rejected_raw = false;  ///< Fill Rejection::raw (for the dead-letter store).
  /// When > 0, a timestamp later than received_at_ms + max_future_ms (a client clock far ahead),
  /// after the sent_at correction, is set to received_at_ms and the event flagged
  /// event::kFlagFutureClamped.
  int64_t max_future_ms = 0;
  /// When > 0, an event whose (corrected) timestamp is more than max_late_ms before
  /// received_at_ms is rejected with kEventTooOld: the tenant's late-event bound.
  int64_t max_late_ms = 0;
  /// Spare capacity given to each event's context_json: what enrichment appends then fits
  /// without copying the context again (kContextHeadroom when an enricher follows).
  size_t context_headroom = 0;
};

/// About what enrichment appends to a browser event's context (DecodeOptions::context_headroom).
inline constexpr size_t kContextHeadroom = 512;

/// How far ahead of the server an event's timestamp may be (DecodeOptions::max_future_ms).
inline constexpr int64_t kMaxFutureMs = 23LL * 3600 * 1000;

/// Decodes and validates a native batch body: `{"events": [...], "sent_at": ..., "write_key": ...}`
/// or a bare array of events. When the body has a `sent_at` other than `received_at_ms`, every
/// event timestamp the client sent is corrected by (received_at_ms - sent_at) and flagged
/// event::kFlagClockCorrected. Unknown top-level and per-event fields are ignored. Each event is
/// either accepted (normalised into an Event) or rejected with a stable code; see
/// docs/event-catalogue.md for the rules and their order.
///
/// Whole-request errors: kMalformedJson (not JSON, invalid UTF-8), kNestingTooDeep (body deeper
/// than `max_body_depth`), kBadRequest (not an object/array, `events` missing or not an array,
/// bad `sent_at` / `write_key`), kTooManyEvents (more than `max_events`).
///
/// Thread-safe: uses one reusable parser per thread. Does not throw.
Result<DecodedBatch> DecodeBatch(std::string_view body, const DecodeOptions& options);

}  // namespace ca::ingest
