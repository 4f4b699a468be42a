#include "api/rate_limiter.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

namespace ca::api {

RateLimiter::RateLimiter(Options options)
    : options_(std::move(options)),
      burst_(options_.burst > 0 ? options_.burst : std::max(1.0, 2 * options_.per_second)) {}

int64_t RateLimiter::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int RateLimiter::Acquire(std::string_view key) {
  if (!enabled()) return 0;
  const uint64_t hash = XXH3_64bits(key.data(), key.size());
  Shard& shard = shards_[hash % kShards];
  const int64_t now = Now();
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(hash);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= options_.max_keys / kShards) {
      // Full buckets hold nothing a new bucket would not: forget them first, then everything.
      std::erase_if(shard.buckets, [&](const auto& entry) {
        const Bucket& b = entry.second;
        return b.tokens + (now - b.refilled_at_ms) * options_.per_second / 1000 >= burst_;
      });
      if (shard.buckets.size() >= options_.max_keys / kShards) shard.buckets.clear();
    }
    it = shard.buckets.emplace(hash, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = std::min(burst_, b.tokens + (now - b.refilled_at_ms) * options_.per_second / 1000);
  b.refilled_at_ms = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / options_.per_second)));
}

}  // namespace ca::api
