#include "services/ingest_rules_service.h"

#include <unordered_set>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace ca::services {

IngestRulesService::IngestRulesService(state::StateStore* store,
                                       ingest::PrivacyOptions server_privacy, int64_t ttl_ms,
                                       std::function<int64_t()> now_ms)
    : store_(store),
      server_privacy_(std::move(server_privacy)),
      ttl_ms_(ttl_ms),
      now_ms_(now_ms ? std::move(now_ms) : std::function<int64_t()>(NowMillis)) {}

Result<std::shared_ptr<const TenantIngestRules>> IngestRulesService::ForTenant(
    std::string_view tenant) {
  const int64_t now = now_ms_();
  uint64_t invalidations;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(tenant);
    if (it != entries_.end() && now - it->second.loaded_at_ms < ttl_ms_) return it->second.rules;
    invalidations = invalidations_;
  }
  CA_ASSIGN_OR_RETURN(std::optional<state::Tenant> found, store_->FindTenant(tenant));
  const state::IngestPolicy policy = found ? found->policy : state::IngestPolicy();
  CA_ASSIGN_OR_RETURN(std::vector<std::string> suppressed, store_->ListSuppressedUsers(tenant));

  auto resolved = std::make_shared<TenantIngestRules>();
  resolved->rules.consent =
      policy.consent == "anonymize" ? ingest::ConsentMode::kAnonymize : ingest::ConsentMode::kDrop;
  if (!suppressed.empty()) {
    resolved->rules.suppressed_users = std::make_shared<const std::unordered_set<std::string>>(
        std::make_move_iterator(suppressed.begin()), std::make_move_iterator(suppressed.end()));
  }
  resolved->max_late_ms = static_cast<int64_t>(policy.late_days) * 24 * 3600 * 1000;
  ingest::PrivacyOptions privacy = server_privacy_;
  if (policy.keep_raw_ip) privacy.keep_raw_ip = *policy.keep_raw_ip;
  privacy.pii_allowed_keys.insert(privacy.pii_allowed_keys.end(), policy.pii_allowed_keys.begin(),
                                  policy.pii_allowed_keys.end());
  resolved->privacy = std::make_shared<const ingest::PrivacyFilter>(privacy);

  std::shared_ptr<const TenantIngestRules> rules = std::move(resolved);
  const int64_t loaded_at = now_ms_();
  // An invalidation since the reads above may have come after them (a user suppressed between
  // the read and now): such rules serve this request, which its fence ticket covers, but are
  // not kept for later ones.
  std::lock_guard lock(mu_);
  if (invalidations_ == invalidations) entries_[std::string(tenant)] = {rules, loaded_at};
  return rules;
}

void IngestRulesService::Invalidate(std::string_view tenant) {
  std::lock_guard lock(mu_);
  ++invalidations_;
  if (auto it = entries_.find(tenant); it != entries_.end()) entries_.erase(it);
}

Status IngestRulesService::InvalidateAndDrain(std::string_view tenant, int64_t timeout_ms) {
  Invalidate(tenant);
  if (!fence_.Drain(timeout_ms)) {
    return Status(ErrorCode::kUnavailable,
                  "ingest requests that started before the change are still running after " +
                      std::to_string(timeout_ms) + " ms; retry");
  }
  return Status::Ok();
}

}  // namespace ca::services
