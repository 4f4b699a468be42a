#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "event/catalogue.h"

namespace ca::ingest {

/// Wire formats of analytics SDKs the server takes besides its own (docs/api/sdk-compat.md).
enum class SdkFormat : uint8_t {
  kSegment,  ///< Segment's HTTP tracking API (also RudderStack's, which copies it)
  kPostHog,  ///< PostHog's capture API
};

/// Nesting limit for SDK bodies: three levels below the native body limit (64), since a single
/// call gains the native wrapper (two levels) and identify's traits move one level down into
/// properties; so a body that parses always becomes a native batch the decoder reads whole
/// (fuzz/sdk_formats_fuzzer.cc checks it).
inline constexpr size_t kSdkMaxDepth = 61;

/// A parsed request body of an SDK, rewritten on demand into a native batch body
/// (docs/api/ingest.md) with one native event per SDK event, in the same order: the native
/// decoder then validates both alike, and the indexes of its rejections point into the SDK's
/// batch. Parsing and rewriting are split because the write key may be in the body, and the
/// rewrite needs the catalogue of the key's tenant.
class SdkBody {
 public:
  /// Parses `body`. For Segment, `call` is what the path names: "track", "page", "screen",
  /// "identify", "group", "alias" (the body is one call), or "batch" (`{"batch": [...]}`). For
  /// PostHog, `call` is ignored: the body is `{"batch": [...]}`, one event, or an array of
  /// events. Errors: kMalformedJson (not JSON), kNestingTooDeep (deeper than `max_depth`),
  /// kBadRequest (not the format's shape), kTooManyEvents (more than `max_events`).
  static Result<SdkBody> Parse(SdkFormat format, std::string_view call, std::string_view body,
                               size_t max_depth, size_t max_events);

  SdkBody(SdkBody&&) noexcept;
  SdkBody& operator=(SdkBody&&) noexcept;
  ~SdkBody();

  /// The write key the body carries (Segment `writeKey`; PostHog `api_key`, or `token` in the
  /// first event's properties), "" when none.
  const std::string& write_key() const;

  /// The native batch body: `{"events":[...]}`, with `sent_at` when the body has one. Event
  /// names are looked up in `catalogue`: as sent, else in snake_case ("Job Viewed" ->
  /// "job_viewed"); an unknown name is passed on unchanged (rejected as unknown_event_type).
  std::string ToNative(const event::Catalogue& catalogue) const;

  /// The SDK event at `index` as sent, minified ("" past the end): what a dead letter keeps.
  std::string RawEvent(size_t index) const;
  /// How a dead letter of this body reads its raw event: "segment" (an element of a Segment
  /// batch), "segment:CALL" (a single Segment call) or "posthog" (one PostHog event).
  std::string DeadLetterFormat() const;

 private:
  struct Impl;
  explicit SdkBody(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The native type for an SDK event name (see ToNative).
std::string NativeEventType(std::string_view name, const event::Catalogue& catalogue);

/// A native event_id for an SDK message id: the id itself when it is 1..64 printable ASCII
/// characters, else "h-" and the first 32 hex digits of its SHA-256, so that a retry of the same
/// message still deduplicates.
std::string NativeEventId(std::string_view message_id);

}  // namespace ca::ingest
