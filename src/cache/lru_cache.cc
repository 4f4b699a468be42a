#include "cache/lru_cache.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace ca::cache {
namespace {

/// Lets the tag index be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct LruCache::Entry {
  Entry* prev = nullptr;  // towards the most recently used
  Entry* next = nullptr;  // towards the least recently used
  std::string key;
  std::string value;
  std::vector<std::string> tags;  // distinct
  int64_t expires_at_ms = 0;
  size_t charge = 0;
};

struct alignas(64) LruCache::Shard {
  Shard() { lru.prev = lru.next = &lru; }
  ~Shard() = default;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  void PushFront(Entry* e) {
    e->prev = &lru;
    e->next = lru.next;
    lru.next->prev = e;
    lru.next = e;
  }

  void Unlink(Entry* e) {
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->prev = e->next = nullptr;
  }

  /// Drops `e` from the tag index, the LRU list and the map, and frees it.
  void Remove(Entry* e) {
    for (const std::string& tag : e->tags) {
      auto it = tag_index.find(tag);
      if (it == tag_index.end()) continue;  // InvalidateTag took the whole set out
      it->second.erase(e);
      if (it->second.empty()) tag_index.erase(it);
    }
    Unlink(e);
    bytes -= e->charge;
    map.erase(map.find(std::string_view(e->key)));
  }

  std::mutex mu;
  // Everything below is guarded by mu.
  std::unordered_map<std::string_view, std::unique_ptr<Entry>> map;  // keys view Entry::key
  std::unordered_map<std::string, std::unordered_set<Entry*>, StringHash, std::equal_to<>>
      tag_index;
  Entry lru;  // sentinel of a circular list: lru.next is the most recently used, lru.prev the least
  size_t bytes = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t puts = 0;
  uint64_t rejected = 0;
  uint64_t evictions = 0;
  uint64_t expirations = 0;
  uint64_t invalidations = 0;
};

LruCache::LruCache(LruCacheOptions options)
    : now_ms_(std::move(options.now_ms)),
      shard_count_(std::bit_ceil(std::max<size_t>(options.shards, 1))),
      shard_capacity_(options.capacity_bytes / shard_count_),
      shards_(std::make_unique<Shard[]>(shard_count_)) {}

LruCache::~LruCache() = default;

int64_t LruCache::Now() const { return now_ms_ ? now_ms_() : MonotonicNanos() / 1'000'000; }

LruCache::Shard& LruCache::ShardFor(std::string_view key) const {
  uint64_t h = std::hash<std::string_view>{}(key);
  return shards_[(h ^ (h >> 32)) & (shard_count_ - 1)];
}

size_t LruCache::Charge(std::string_view key, size_t value_size,
                        std::span<const std::string> tags) {
  size_t charge = kEntryOverheadBytes + key.size() + value_size;
  for (const std::string& tag : tags) charge += kTagOverheadBytes + tag.size();
  return charge;
}

std::optional<std::string> LruCache::Get(std::string_view key) {
  int64_t now = Now();
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) {
    ++shard.misses;
    return std::nullopt;
  }
  Entry* e = it->second.get();
  if (e->expires_at_ms <= now) {
    shard.Remove(e);
    ++shard.expirations;
    ++shard.misses;
    return std::nullopt;
  }
  ++shard.hits;
  shard.Unlink(e);
  shard.PushFront(e);
  return e->value;
}

void LruCache::Put(std::string_view key, std::string value, std::chrono::milliseconds ttl,
                   std::span<const std::string> tags) {
  // Everything that allocates happens before taking the lock.
  auto entry = std::make_unique<Entry>();
  entry->key = key;
  entry->value = std::move(value);
  entry->tags.assign(tags.begin(), tags.end());
  std::sort(entry->tags.begin(), entry->tags.end());
  entry->tags.erase(std::unique(entry->tags.begin(), entry->tags.end()), entry->tags.end());
  entry->charge = Charge(entry->key, entry->value.size(), entry->tags);
  bool storable = ttl.count() > 0 && entry->charge <= shard_capacity_;
  if (storable) {
    int64_t now = Now();
    int64_t max = std::numeric_limits<int64_t>::max();
    entry->expires_at_ms = now >= 0 && ttl.count() > max - now ? max : now + ttl.count();
  }

  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  if (auto it = shard.map.find(key); it != shard.map.end()) shard.Remove(it->second.get());
  if (!storable) {
    ++shard.rejected;
    return;
  }
  Entry* e = entry.get();
  shard.map.emplace(std::string_view(e->key), std::move(entry));
  for (const std::string& tag : e->tags) shard.tag_index[tag].insert(e);
  shard.PushFront(e);
  shard.bytes += e->charge;
  ++shard.puts;
  // `e` is the most recently used and fits on its own, so it is never the one evicted.
  while (shard.bytes > shard_capacity_) {
    shard.Remove(shard.lru.prev);
    ++shard.evictions;
  }
}

void LruCache::Invalidate(std::string_view key) {
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return;
  shard.Remove(it->second.get());
  ++shard.invalidations;
}

void LruCache::InvalidateTag(std::string_view tag) {
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mu);
    auto it = shard.tag_index.find(tag);
    if (it == shard.tag_index.end()) continue;
    std::unordered_set<Entry*> victims = std::move(it->second);
    shard.tag_index.erase(it);
    for (Entry* e : victims) shard.Remove(e);
    shard.invalidations += victims.size();
  }
}

Stats LruCache::stats() const {
  Stats s;
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mu);
    s.hits += shard.hits;
    s.misses += shard.misses;
    s.puts += shard.puts;
    s.rejected += shard.rejected;
    s.evictions += shard.evictions;
    s.expirations += shard.expirations;
    s.invalidations += shard.invalidations;
    s.entries += shard.map.size();
    s.bytes += shard.bytes;
  }
  return s;
}

LruCache::TagIndexSize LruCache::tag_index_size() const {
  TagIndexSize size;
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mu);
    size.tags += shard.tag_index.size();
    for (const auto& [tag, entries] : shard.tag_index) size.links += entries.size();
  }
  return size;
}

}  // namespace ca::cache
