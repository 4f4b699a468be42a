#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ingest/batch_decoder.h"
#include "ingest/request_context.h"

namespace ca::ingest {

/// What happens to an event whose sender withheld consent or asked not to be tracked.
enum class ConsentMode {
  kDrop,       ///< rejected with kConsentWithheld
  kAnonymize,  ///< kept without user id, anonymous id, session id, IP and traits
};

/// The anonymous id of every anonymised event: one shared value, so nothing tells the senders
/// apart, while counts stay right.
inline constexpr std::string_view kAnonymizedId = "anonymized";

/// One tenant's ingest rules, resolved once per request (docs/privacy.md "Consent",
/// docs/api/ingest.md "Clocks and late events"). The late-event bound is applied by the decoder
/// (DecodeOptions::max_late_ms), which keeps the raw event for its dead letter.
struct TenantRules {
  ConsentMode consent = ConsentMode::kDrop;
  /// Deleted users of the tenant, whose events are rejected (kUserSuppressed); null: none.
  std::shared_ptr<const std::unordered_set<std::string>> suppressed_users;
};

/// True when an event's context (a minified JSON object) withholds consent for analytics:
/// `context.consent` is false, or a string such as "denied", "revoked" or "no", or an object
/// whose `analytics` / `statistics` / `analytics_storage` member (any case, also inside
/// Segment's `categoryPreferences`) or `granted` member is false or "denied"; or
/// `context.do_not_track` / `context.dnt` is true, 1 or "1". Found without parsing when the text
/// names none of these keys.
bool ConsentWithheld(std::string_view context_json);

/// Removes the ids of an event kept without consent: user id and session id go, the anonymous
/// id becomes kAnonymizedId, and the event is flagged event::kFlagAnonymized. Its IP and traits
/// stay until StripAnonymized, after enrichment (which reads the IP for the country).
void Anonymize(event::Event* event);
/// Removes `context.ip`, `context.traits` and `properties.traits` from an event flagged
/// event::kFlagAnonymized; other events are left alone.
void StripAnonymized(event::Event* event);

/// Applies `rules` to the decoded, valid events of `batch` (received at `received_at_ms`), in
/// this order: a suppressed user id is rejected; without consent, an event is rejected (kDrop, and
/// always for identify, alias and group, which mean nothing without a user) or anonymised.
/// Rejections join `batch->rejected` in request order. Appends to `late_days` the UTC days (days
/// since 1970-01-01) before the receive day that the kept events touch, each once.
void ApplyTenantRules(const TenantRules& rules, const RequestContext& request,
                      int64_t received_at_ms, DecodedBatch* batch, std::vector<int64_t>* late_days);

/// True for the rejection codes whose events are not kept as dead letters: they were refused to
/// protect the sender (kConsentWithheld, kUserSuppressed), so their content must not be stored.
bool IsPrivacyRejection(ErrorCode code);

}  // namespace ca::ingest
