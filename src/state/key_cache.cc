#include "state/key_cache.h"

#include <utility>

#include "base/clock.h"
#include "state/api_key.h"

namespace ca::state {

KeyCache::KeyCache(StateStore* store, KeyCacheOptions options)
    : store_(store), options_(std::move(options)) {}

int64_t KeyCache::Now() const {
  return options_.now_ms ? options_.now_ms() : MonotonicNanos() / 1'000'000;
}

Result<std::optional<KeyMatch>> KeyCache::Lookup(std::string_view key) {
  if (!ParseApiKey(key)) return std::optional<KeyMatch>();
  std::string digest = Sha256(key);
  {
    std::lock_guard lock(mu_);
    int64_t now = Now();
    for (auto* map : {&positive_, &negative_}) {
      auto it = map->find(digest);
      if (it == map->end()) continue;
      if (it->second.expires_at_ms > now) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        return it->second.match;
      }
      map->erase(it);
    }
  }
  store_lookups_.fetch_add(1, std::memory_order_relaxed);
  CA_ASSIGN_OR_RETURN(std::optional<KeyMatch> match, store_->LookupKey(key));
  std::lock_guard lock(mu_);
  auto& map = match ? positive_ : negative_;
  size_t max_entries = match ? options_.max_positive_entries : options_.max_negative_entries;
  if (map.size() >= max_entries) map.clear();
  if (max_entries > 0) {
    int64_t ttl = match ? options_.positive_ttl_ms : options_.negative_ttl_ms;
    map.insert_or_assign(std::move(digest), Entry{match, Now() + ttl});
  }
  return match;
}

void KeyCache::Clear() {
  std::lock_guard lock(mu_);
  positive_.clear();
  negative_.clear();
}

}  // namespace ca::state
