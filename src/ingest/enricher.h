#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "event/event.h"
#include "ingest/geo_lookup.h"
#include "ingest/request_context.h"
#include "ingest/sessionizer.h"
#include "ingest/user_agent_parser.h"

namespace ca::ingest {

/// A user's profile as enrichment attaches it (`context.profile`); empty fields are left out.
struct UserProfile {
  std::string industry;
  std::string seniority;
  std::string location;
  std::string signup_week;  ///< ISO week of the signup, "2026-W48"

  bool empty() const {
    return industry.empty() && seniority.empty() && location.empty() && signup_week.empty();
  }
  friend bool operator==(const UserProfile&, const UserProfile&) = default;
};

/// The profile in a user's traits (a JSON object, from identify calls or the platform's user
/// record): `industry`; `seniority` (else `job_level`, `level`); `location` (else `city`, else
/// `address.city`, else `country`); the ISO week of `signup_at` (else `signed_up_at`,
/// `created_at`, `createdAt`; ISO-8601 text or epoch milliseconds).
UserProfile ProfileFromTraits(std::string_view traits_json);

/// Where enrichment finds users' profiles. Implementations are thread-safe.
class UserProfiles {
 public:
  virtual ~UserProfiles() = default;
  /// The profile of `user_id` of `tenant`; nullopt when nothing is known.
  virtual std::optional<UserProfile> Find(std::string_view tenant, std::string_view user_id) = 0;
  /// Records the traits (a JSON object) of an identify call, so that the user's later events
  /// (from this one on) carry them.
  virtual void Identify(std::string_view tenant, std::string_view user_id,
                        std::string_view traits_json) = 0;
};

/// The enrichment stage of ingest (decode -> validate -> enrich -> privacy -> dedup; see
/// docs/enrichment.md). It adds to `context` what the event did not say itself; a key the sender
/// set is never replaced:
/// - `country`, `region`: geo lookup of `context.ip`, else of the request's peer address;
/// - `browser` {name, version}, `os` {name, version}, `device` (desktop, mobile, tablet, bot or
///   other; `device_type` when the sender's `device` is an object): from `context.user_agent`
///   (or `userAgent`), else the request's User-Agent header;
/// - `campaign` {source, medium, name, term, content} from the utm_* parameters of
///   `context.page.url`, `referrer_host` from `context.page.referrer`, and `channel`;
/// - `session` {id, entry_path, referrer_host, channel, utm_source, utm_medium, utm_campaign}:
///   the session's first event's; events without a session id get one (Sessionizer);
/// - `profile` {industry, seniority, location, signup_week} of the user (UserProfiles);
///   identify events record their `properties.traits` first.
/// It also removes personal data from `context.page.url` and `referrer` (ScrubUrl).
/// Anonymised events (event::kFlagAnonymized) get geo, user agent and URL context only.
/// Every source is optional (null: that part is skipped). Thread-safe.
class Enricher {
 public:
  Enricher(const UserAgentParser* user_agents, const GeoLookup* geo, UserProfiles* profiles,
           Sessionizer::Options sessions = Sessionizer::Options());

  void Enrich(const RequestContext& request, event::Event* event);

  const Sessionizer& sessions() const { return sessions_; }

 private:
  const UserAgentParser* const user_agents_;
  const GeoLookup* const geo_;
  UserProfiles* const profiles_;
  Sessionizer sessions_;
  const uint64_t memo_owner_;  // this enricher's entries in the per-thread memos (ThreadMemo)
};

}  // namespace ca::ingest
