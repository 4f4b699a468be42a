#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cache/cache.h"

namespace ca::cache {

struct LruCacheOptions {
  /// Bound on the bytes charged for all entries (see LruCache::Charge), split evenly across the
  /// shards. A value whose charge exceeds one shard's share is not stored.
  size_t capacity_bytes = size_t{64} << 20;
  /// Number of shards, each a lock, a hash map and an LRU list; a power of two (others are
  /// rounded up, 0 means 1). More shards mean less lock contention and a smaller largest value.
  size_t shards = 16;
  /// Monotonic clock in milliseconds; the steady clock when empty. Tests inject a fake.
  std::function<int64_t()> now_ms;
};

/// The in-process Cache: a sharded LRU with per-entry TTLs and a per-shard tag index.
///
/// A key's shard is chosen by a hash of the key. Each shard holds at most capacity_bytes / shards
/// bytes of charge and, when a Put goes over, evicts its least recently used entries (a Get is a
/// use). Expiry is checked on Get: an expired entry is a miss and is dropped then; until touched
/// or evicted it stays charged, so the byte bound holds for expired entries too. The tag index
/// (tag -> entries) only holds tags of entries present, so it is bounded by the same charge.
/// InvalidateTag visits every shard, one at a time. Thread-safe.
class LruCache final : public Cache {
 public:
  /// Estimated bytes of bookkeeping per entry (map node, list links, strings) and per tag of an
  /// entry (index node), added to the sizes of the key, the value and the tags.
  static constexpr size_t kEntryOverheadBytes = 128;
  static constexpr size_t kTagOverheadBytes = 64;

  explicit LruCache(LruCacheOptions options = {});
  ~LruCache() override;
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  std::optional<std::string> Get(std::string_view key) override;
  void Put(std::string_view key, std::string value, std::chrono::milliseconds ttl,
           std::span<const std::string> tags = {}) override;
  void Invalidate(std::string_view key) override;
  void InvalidateTag(std::string_view tag) override;
  /// Sums the shards, locking one at a time: not a snapshot of the whole cache at one instant.
  Stats stats() const override;

  /// The bytes an entry is charged: key, value and tag sizes plus the overheads above. `tags`
  /// must be distinct.
  static size_t Charge(std::string_view key, size_t value_size, std::span<const std::string> tags);

  /// Size of the tag indexes summed over shards (a tag present in two shards counts twice): the
  /// distinct tags, and the (tag, entry) links. For tests and metrics.
  struct TagIndexSize {
    size_t tags = 0;
    size_t links = 0;
  };
  TagIndexSize tag_index_size() const;

  size_t shard_count() const { return shard_count_; }
  size_t shard_capacity_bytes() const { return shard_capacity_; }

 private:
  struct Entry;
  struct Shard;

  Shard& ShardFor(std::string_view key) const;
  int64_t Now() const;

  const std::function<int64_t()> now_ms_;
  const size_t shard_count_;
  const size_t shard_capacity_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace ca::cache
