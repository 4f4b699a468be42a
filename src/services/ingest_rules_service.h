#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"
#include "ingest/ingest_fence.h"
#include "ingest/privacy_filter.h"
#include "ingest/tenant_rules.h"
#include "state/state_store.h"

namespace ca::services {

/// Everything the ingest path applies to one tenant's events besides its catalogue.
struct TenantIngestRules {
  ingest::TenantRules rules;  ///< consent and suppression
  /// The late-event bound for DecodeOptions::max_late_ms.
  int64_t max_late_ms = 0;
  /// The server's privacy settings with the tenant's allowed keys and raw-IP choice.
  std::shared_ptr<const ingest::PrivacyFilter> privacy;
};

/// Each tenant's ingest policy and suppression list (state::IngestPolicy, StateStore), resolved
/// against the server's privacy settings and cached for `ttl_ms`, so that a policy set with
/// `career-analytics tenants policy` while the server runs applies within that time.
/// Thread-safe.
class IngestRulesService {
 public:
  IngestRulesService(state::StateStore* store, ingest::PrivacyOptions server_privacy,
                     int64_t ttl_ms = 1000, std::function<int64_t()> now_ms = {});

  /// The rules of `tenant` (the defaults for a tenant without a stored policy).
  Result<std::shared_ptr<const TenantIngestRules>> ForTenant(std::string_view tenant);
  /// Forgets the cached rules of `tenant`. Rules being read meanwhile are not cached either.
  void Invalidate(std::string_view tenant);

  /// Held by an ingest request from before it asks for its rules until its events are appended
  /// to the WAL, so that InvalidateAndDrain can wait for it.
  [[nodiscard]] ingest::IngestFence::Ticket Enter() { return fence_.Enter(); }
  /// After a user deletion: Invalidate, then wait until every request that entered before has
  /// let go of its ticket. Once it returns, no event is checked against the rules from before,
  /// nor still on its way to the WAL after such a check. kUnavailable after `timeout_ms`.
  Status InvalidateAndDrain(std::string_view tenant, int64_t timeout_ms);

 private:
  struct Entry {
    std::shared_ptr<const TenantIngestRules> rules;
    int64_t loaded_at_ms = 0;
  };
  state::StateStore* const store_;
  const ingest::PrivacyOptions server_privacy_;
  const int64_t ttl_ms_;
  const std::function<int64_t()> now_ms_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // guarded by mu_
  uint64_t invalidations_ = 0;                         // guarded by mu_
  ingest::IngestFence fence_;
};

}  // namespace ca::services
