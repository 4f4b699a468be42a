#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "base/result.h"

namespace ca::cache {

/// How long the design's cached values live (docs/cache.md). Entries derived from one user's
/// events also carry UserTag and are invalidated earlier when new events of that user land.
inline constexpr std::chrono::minutes kUserMetricsTtl{5};
inline constexpr std::chrono::minutes kDashboardTtl{1};
inline constexpr std::chrono::minutes kTrendsTtl{60};

/// Counters since the cache was created, and the current size. Gets = hits + misses; Put calls =
/// puts + rejected.
struct Stats {
  uint64_t hits = 0;           ///< Gets answered with a value
  uint64_t misses = 0;         ///< Gets answered with nothing (absent or expired)
  uint64_t puts = 0;           ///< values stored
  uint64_t rejected = 0;       ///< Puts not stored: larger than the cache can hold, or ttl <= 0
  uint64_t evictions = 0;      ///< live entries dropped to make room
  uint64_t expirations = 0;    ///< entries found expired and dropped
  uint64_t invalidations = 0;  ///< entries dropped by Invalidate or InvalidateTag
  uint64_t entries = 0;        ///< entries held now (expired ones not yet dropped included)
  uint64_t bytes = 0;          ///< bytes charged for them now (the backend's own estimate)

  /// hits / (hits + misses): the share of Gets the cache answered; 0 before the first Get.
  double HitRatio() const {
    uint64_t gets = hits + misses;
    return gets == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(gets);
  }
};

/// A TTL cache of byte strings under string keys, with tags to invalidate groups of entries
/// (e.g. everything derived from one user's events). Backend-neutral: the in-process LruCache
/// (lru_cache.h) now, Redis later. A cache may drop any entry at any time; callers must be able
/// to recompute every value. Keys and tags are opaque bytes; build them with the helpers below so
/// that every key names its tenant. All methods are thread-safe.
class Cache {
 public:
  virtual ~Cache() = default;

  /// The value stored under `key`, or nullopt when absent or expired.
  virtual std::optional<std::string> Get(std::string_view key) = 0;

  /// Stores `value` under `key` for `ttl`, replacing any previous value and its tags. The entry
  /// carries `tags` (duplicates ignored) for InvalidateTag. When the value cannot be stored (too
  /// large, or `ttl` <= 0) the previous value is dropped too, so a Get never returns it.
  virtual void Put(std::string_view key, std::string value, std::chrono::milliseconds ttl,
                   std::span<const std::string> tags = {}) = 0;

  /// Drops the entry under `key`, if any.
  virtual void Invalidate(std::string_view key) = 0;

  /// Drops every entry carrying `tag`. Not atomic with respect to concurrent Puts: a value
  /// computed before the call and put after it survives (until its TTL).
  virtual void InvalidateTag(std::string_view tag) = 0;

  virtual Stats stats() const = 0;
};

/// The value under `key`; on a miss, `compute()` (returning a `Result<std::string>` or anything
/// convertible to it), stored with `ttl` and `tags` when OK. Errors are returned and not cached.
/// Concurrent misses of one key each compute (no single-flight).
template <typename F>
requires std::convertible_to<std::invoke_result_t<F&>, Result<std::string>> Result<std::string>
GetOrCompute(Cache& cache, std::string_view key, std::chrono::milliseconds ttl,
             std::span<const std::string> tags, F&& compute) {
  if (std::optional<std::string> hit = cache.Get(key)) return std::move(*hit);
  Result<std::string> value = compute();
  if (value.ok()) cache.Put(key, value.value(), ttl, tags);
  return value;
}

namespace internal {

/// Appends "/" (unless `out` is empty), `prefix` and `value` with '%' and '/' percent-encoded, so
/// that the components of a key or tag can be told apart whatever bytes a value holds.
inline void AppendComponent(std::string& out, std::string_view prefix, std::string_view value) {
  if (!out.empty()) out.push_back('/');
  out.append(prefix);
  for (char c : value) {
    if (c == '%') {
      out.append("%25");
    } else if (c == '/') {
      out.append("%2F");
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace internal

/// "t:TENANT": the tag of every entry derived from the events of a whole tenant.
inline std::string TenantTag(std::string_view tenant) {
  std::string tag;
  internal::AppendComponent(tag, "t:", tenant);
  return tag;
}

/// "t:TENANT/u:USER": the tag of every entry derived from one user's events. Ingest invalidates
/// it when new events of that user land.
inline std::string UserTag(std::string_view tenant, std::string_view user_id) {
  std::string tag = TenantTag(tenant);
  internal::AppendComponent(tag, "u:", user_id);
  return tag;
}

/// "user_metrics/t:TENANT/u:USER/p:PARAMS": one user's metrics; `params` holds whatever else
/// selects the answer (period, end, ...). Cache for kUserMetricsTtl with UserTag.
inline std::string UserMetricsKey(std::string_view tenant, std::string_view user_id,
                                  std::string_view params) {
  std::string key = "user_metrics";
  internal::AppendComponent(key, "t:", tenant);
  internal::AppendComponent(key, "u:", user_id);
  internal::AppendComponent(key, "p:", params);
  return key;
}

/// "dashboard/t:TENANT/u:USER/p:PARAMS": a dashboard view of one user, or of the whole tenant
/// when `user_id` is empty. Cache for kDashboardTtl (with UserTag for a user's view).
inline std::string DashboardKey(std::string_view tenant, std::string_view user_id,
                                std::string_view params) {
  std::string key = "dashboard";
  internal::AppendComponent(key, "t:", tenant);
  internal::AppendComponent(key, "u:", user_id);
  internal::AppendComponent(key, "p:", params);
  return key;
}

/// "trends/t:TENANT/p:PARAMS": a trends answer over a tenant's events; `params` is the canonical
/// query (not a hash of it: two queries must never share a key). Cache for kTrendsTtl.
inline std::string TrendsKey(std::string_view tenant, std::string_view params) {
  std::string key = "trends";
  internal::AppendComponent(key, "t:", tenant);
  internal::AppendComponent(key, "p:", params);
  return key;
}

}  // namespace ca::cache
