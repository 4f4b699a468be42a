#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"
#include "state/state_store.h"

namespace ca::state {

struct KeyCacheOptions {
  /// How long a found key is served from memory. A revoked key keeps working this long.
  int64_t positive_ttl_ms = 60'000;
  /// How long an unknown key is remembered as unknown. A key created by the CLI while the server
  /// runs is found at most this long after creation (if it was presented before being created).
  int64_t negative_ttl_ms = 1'000;
  /// Bounds on the entries kept; when a map is full it is emptied (amortised O(1)).
  size_t max_positive_entries = 100'000;
  size_t max_negative_entries = 10'000;
  /// Monotonic clock in milliseconds; the steady clock when empty. Tests inject a fake.
  std::function<int64_t()> now_ms;
};

/// A cache in front of `StateStore::LookupKey` for the request path, so that neither valid keys
/// nor a flood of wrong ones reach the database on every request. Entries are keyed by the
/// SHA-256 of the key; the key itself is never kept. Malformed keys are rejected without a
/// database lookup and are not cached. Store errors are returned and not cached.
/// Comparing digests with == is not constant-time, which is harmless: equal-prefix timing of a
/// SHA-256 digest reveals nothing about the key that produced it.
/// Thread-safe.
class KeyCache {
 public:
  /// `store` must outlive the cache.
  explicit KeyCache(StateStore* store, KeyCacheOptions options = {});

  KeyCache(const KeyCache&) = delete;
  KeyCache& operator=(const KeyCache&) = delete;

  /// Same contract as `StateStore::LookupKey`, within the staleness bounds of the options.
  Result<std::optional<KeyMatch>> Lookup(std::string_view key);

  /// Forgets every entry (e.g. after revoking keys).
  void Clear();

  /// Lookups answered from memory, and lookups that went to the store.
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t store_lookups() const { return store_lookups_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::optional<KeyMatch> match;
    int64_t expires_at_ms;
  };

  int64_t Now() const;

  StateStore* const store_;
  const KeyCacheOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> positive_;  // Guarded by mu_.
  std::unordered_map<std::string, Entry> negative_;  // Guarded by mu_.
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> store_lookups_{0};
};

}  // namespace ca::state
