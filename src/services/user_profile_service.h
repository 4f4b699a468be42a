#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/flat_hash_map.h"

#include "ingest/enricher.h"
#include "state/state_store.h"

namespace ca::services {

/// Users' profiles for enrichment, from the traits kept in the state store (identify calls merge
/// into them), cached in memory for `ttl_ms` (a user's own identify calls apply at once).
/// At most `max_entries` users are cached; a full cache starts over. Thread-safe.
class UserProfileService : public ingest::UserProfiles {
 public:
  explicit UserProfileService(state::StateStore* store, int64_t ttl_ms = 60'000,
                              size_t max_entries = 100'000, std::function<int64_t()> now_ms = {});

  std::shared_ptr<const ingest::UserProfile> Find(std::string_view tenant,
                                                  std::string_view user_id) override;
  void Prefetch(std::string_view tenant, std::string_view user_id) override;
  /// Merges the traits into the state store (a failure is logged: the identify event itself is
  /// stored, and its traits can be read from it again).
  void Identify(std::string_view tenant, std::string_view user_id,
                std::string_view traits_json) override;

 private:
  struct Entry {
    uint64_t check = 0;  // ingest::TenantKeyCheck: tells two users with one key apart
    std::shared_ptr<const ingest::UserProfile> profile;
    int64_t loaded_at_ms = 0;
    bool stale = false;  // an identify call changed the traits
  };

  state::StateStore* const store_;
  const int64_t ttl_ms_;
  const size_t max_entries_;
  const std::function<int64_t()> now_ms_;
  std::mutex mu_;
  FlatHashMap<Entry> cache_;  // by TenantKeyHash; guarded by mu_
};

}  // namespace ca::services
