#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  /// The members of `context.profile` (`"industry":"software",...`), personal data removed:
  /// what enrichment appends, rendered once per profile (RenderProfile).
  std::string members;

  bool empty() const {
    return industry.empty() && seniority.empty() && location.empty() && signup_week.empty();
  }
  friend bool operator==(const UserProfile&, const UserProfile&) = default;
};

/// The profile in a user's traits (a JSON object, from identify calls or the platform's user
/// record): `industry`; `seniority` (else `job_level`, `level`); `location` (else `city`, else
/// `address.city`, else `country`); the ISO week of `signup_at` (else `signed_up_at`,
/// `created_at`, `createdAt`; ISO-8601 text or epoch milliseconds).
/// `members` is rendered (RenderProfile).
UserProfile ProfileFromTraits(std::string_view traits_json);
/// Sets `profile->members` from its fields.
void RenderProfile(UserProfile* profile);

/// Where enrichment finds users' profiles. Implementations are thread-safe.
class UserProfiles {
 public:
  virtual ~UserProfiles() = default;
  /// The profile of `user_id` of `tenant`; null when nothing is known.
  virtual std::shared_ptr<const UserProfile> Find(std::string_view tenant,
                                                  std::string_view user_id) = 0;
  /// Starts loading what Find(tenant, user_id) will read into the cache (a hint: enrichment
  /// calls it for a batch's users ahead of their Find calls, so that their misses overlap).
  virtual void Prefetch(std::string_view /*tenant*/, std::string_view /*user_id*/) {}
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
  /// Enrich on each of a request's events, in order, with the lookups of the whole batch (its
  /// senders' sessions and profiles, its pages) started ahead of their use.
  void EnrichBatch(const RequestContext& request, std::vector<event::Event>* events);

  const Sessionizer& sessions() const { return sessions_; }
  Sessionizer& sessions() { return sessions_; }

 private:
  struct Prepared;     // what is read and hashed of an event before it is enriched
  struct ContextView;  // what enrichment takes from a context alone, not from its sender
  struct KeptContext;  // what one context gave, for the next event with the same context
  /// The last profile found while enriching one request's events (one tenant).
  struct ProfileReuse {
    std::string user_id;  // empty: none
    std::shared_ptr<const UserProfile> profile;
  };
  void Prepare(const RequestContext& request, const event::Event& e, Prepared* p) const;
  /// Prepares `e`, whose context has the bytes of `previous`'s, to take what that one gave.
  void PrepareLike(const event::Event& previous, Prepared* previous_prepared, const event::Event& e,
                   Prepared* p) const;
  void Keys(const RequestContext& request, const event::Event& e, Prepared* p) const;
  static Sessionizer::SenderKey SenderKeyOf(const event::Event& e);
  /// Appends to `add` the members that follow from the context alone (geo, user agent,
  /// campaign, referrer host, channel) and describes it in `view` (which may point into
  /// `clean_path`).
  void AddContextMembers(const RequestContext& request, const Prepared& prepared, std::string* add,
                         std::string* clean_path, ContextView* view) const;
  /// Enriches `e`; `kept` (may be null when nothing is kept) carries a context to the next event.
  void Process(const RequestContext& request, Prepared* prepared, event::Event* e,
               ProfileReuse* reuse, KeptContext* kept);

  const UserAgentParser* const user_agents_;
  const GeoLookup* const geo_;
  UserProfiles* const profiles_;
  Sessionizer sessions_;
  const uint64_t memo_owner_;  // this enricher's entries in the per-thread memos (ThreadMemo)
};

}  // namespace ca::ingest
