#include "services/user_profile_service.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "base/clock.h"
#include "ingest/tenant_key.h"

namespace ca::services {

UserProfileService::UserProfileService(state::StateStore* store, int64_t ttl_ms, size_t max_entries,
                                       std::function<int64_t()> now_ms)
    : store_(store),
      ttl_ms_(ttl_ms),
      max_entries_(max_entries),
      now_ms_(now_ms ? std::move(now_ms) : std::function<int64_t()>(NowMillis)) {}

void UserProfileService::Prefetch(std::string_view tenant, std::string_view user_id) {
  const uint64_t hash = ingest::TenantKeyHash(tenant, user_id);
  std::lock_guard lock(mu_);
  cache_.Prefetch(hash);
}

std::shared_ptr<const ingest::UserProfile> UserProfileService::Find(std::string_view tenant,
                                                                    std::string_view user_id) {
  const uint64_t hash = ingest::TenantKeyHash(tenant, user_id);
  const uint64_t check = ingest::TenantKeyCheck(tenant, user_id);
  const int64_t now = now_ms_();
  {
    std::lock_guard lock(mu_);
    const Entry* entry = cache_.Find(hash);
    if (entry != nullptr && entry->check == check && !entry->stale &&
        now - entry->loaded_at_ms < ttl_ms_) {
      return entry->profile;
    }
  }
  auto traits = store_->GetUserTraits(tenant, user_id);
  if (!traits.ok()) {
    spdlog::warn("enrichment: no profile for a user of tenant {}: {}", tenant,
                 traits.status().ToString());
    return nullptr;  // not cached: the next event tries again
  }
  std::shared_ptr<const ingest::UserProfile> profile;
  if (traits->has_value()) {
    ingest::UserProfile found = ingest::ProfileFromTraits(**traits);
    if (!found.empty()) profile = std::make_shared<const ingest::UserProfile>(std::move(found));
  }
  std::lock_guard lock(mu_);
  if (cache_.size() >= max_entries_) cache_.clear();
  bool inserted;
  // Two users with one 64-bit hash (about never): the later one takes the entry over.
  cache_.FindOrInsert(hash, &inserted) = {check, profile, now, false};
  return profile;
}

void UserProfileService::Identify(std::string_view tenant, std::string_view user_id,
                                  std::string_view traits_json) {
  if (Status s = store_->MergeUserTraits(tenant, user_id, traits_json, now_ms_()); !s.ok()) {
    spdlog::warn("enrichment: could not keep the traits of a user of tenant {}: {}", tenant,
                 s.ToString());
  }
  std::lock_guard lock(mu_);
  if (Entry* entry = cache_.Find(ingest::TenantKeyHash(tenant, user_id))) entry->stale = true;
}

}  // namespace ca::services
