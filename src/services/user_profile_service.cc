#include "services/user_profile_service.h"

#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <utility>

#include "base/clock.h"

namespace ca::services {

UserProfileService::UserProfileService(state::StateStore* store, int64_t ttl_ms, size_t max_entries,
                                       std::function<int64_t()> now_ms)
    : store_(store),
      ttl_ms_(ttl_ms),
      max_entries_(max_entries),
      now_ms_(now_ms ? std::move(now_ms) : std::function<int64_t()>(NowMillis)) {}

std::string UserProfileService::Key(std::string_view tenant, std::string_view user_id) {
  std::string key(tenant);
  key.push_back('\0');
  key.append(user_id);
  return key;
}

uint64_t UserProfileService::KeyHash(std::string_view tenant, std::string_view user_id) {
  return XXH3_64bits_withSeed(user_id.data(), user_id.size(),
                              XXH3_64bits(tenant.data(), tenant.size()));
}

bool UserProfileService::SameKey(const std::string& key, std::string_view tenant,
                                 std::string_view user_id) {
  return key.size() == tenant.size() + 1 + user_id.size() &&
         key.compare(0, tenant.size(), tenant) == 0 &&
         key.compare(tenant.size() + 1, user_id.size(), user_id) == 0;
}

std::optional<ingest::UserProfile> UserProfileService::Find(std::string_view tenant,
                                                            std::string_view user_id) {
  const uint64_t hash = KeyHash(tenant, user_id);
  const int64_t now = now_ms_();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && SameKey(it->second.key, tenant, user_id) &&
        now - it->second.loaded_at_ms < ttl_ms_) {
      return it->second.profile;
    }
  }
  auto traits = store_->GetUserTraits(tenant, user_id);
  if (!traits.ok()) {
    spdlog::warn("enrichment: no profile for a user of tenant {}: {}", tenant,
                 traits.status().ToString());
    return std::nullopt;  // not cached: the next event tries again
  }
  std::optional<ingest::UserProfile> profile;
  if (traits->has_value()) {
    ingest::UserProfile found = ingest::ProfileFromTraits(**traits);
    if (!found.empty()) profile = std::move(found);
  }
  std::lock_guard lock(mu_);
  if (cache_.size() >= max_entries_) cache_.clear();
  // Two users with one 64-bit hash (about never): the later one takes the entry over.
  cache_[hash] = {Key(tenant, user_id), profile, now};
  return profile;
}

void UserProfileService::Identify(std::string_view tenant, std::string_view user_id,
                                  std::string_view traits_json) {
  if (Status s = store_->MergeUserTraits(tenant, user_id, traits_json, now_ms_()); !s.ok()) {
    spdlog::warn("enrichment: could not keep the traits of a user of tenant {}: {}", tenant,
                 s.ToString());
  }
  std::lock_guard lock(mu_);
  cache_.erase(KeyHash(tenant, user_id));
}

}  // namespace ca::services
