#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace ca::api {

/// Per-key request rate limits: a token bucket per key, refilled at `per_second` tokens a second
/// up to `burst`; a request takes one token. Keys are kept by a 64-bit hash, never as text.
/// Memory is bounded: a shard past `max_keys / 16` buckets forgets the full ones (a full bucket
/// is what a new one starts with). Thread-safe.
class RateLimiter {
 public:
  struct Options {
    double per_second = 0;  ///< 0: unlimited
    double burst = 0;       ///< 0: twice per_second, at least 1
    size_t max_keys = 100'000;
    std::function<int64_t()> now_ms;  ///< monotonic; the steady clock when empty
  };
  explicit RateLimiter(Options options);

  /// 0 when the request of `key` may go ahead (a token is taken), else the seconds to wait
  /// before retrying (at least 1).
  int Acquire(std::string_view key);

  bool enabled() const { return options_.per_second > 0; }

 private:
  struct Bucket {
    double tokens;
    int64_t refilled_at_ms;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, Bucket> buckets;  // guarded by mu
  };
  static constexpr size_t kShards = 16;
  int64_t Now() const;

  const Options options_;
  const double burst_;
  std::array<Shard, kShards> shards_;
};

}  // namespace ca::api
