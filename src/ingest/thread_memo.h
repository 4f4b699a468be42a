#pragma once

#include <xxhash.h>

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ca::ingest {

/// The identity of a memo key: its 128-bit XXH3 hash. Two keys with one such hash are taken to
/// be one (about never: a memo holds thousands of keys, not 2^64), so that a lookup compares 16
/// bytes instead of reading the key back from elsewhere in memory.
struct MemoKey {
  uint64_t low = 0;
  uint64_t high = 0;
  static MemoKey Of(std::string_view key) {
    const XXH128_hash_t h = XXH3_128bits(key.data(), key.size());
    return {h.low64, h.high64};
  }
  friend bool operator==(const MemoKey&, const MemoKey&) = default;
};

/// A small two-way cache of what a pure function computed from a text key, for one thread
/// (declare it `thread_local`): a lookup is a hash and a compare, with no lock and no
/// allocation. Enrichment keeps, in such memos, the parts it rendered for a user agent or a URL,
/// which repeat from event to event.
///
/// Entries belong to an owner (NewMemoOwner), so that two enrichers with different sources never
/// see each other's values, even when one is created where the other was destroyed.
template <typename Value>
class ThreadMemo {
 public:
  /// `slots` is rounded up to a power of two, at least 2.
  explicit ThreadMemo(size_t slots) {
    size_t n = 2;
    while (n < slots) n <<= 1;
    slots_.resize(n);
  }

  /// The value kept for `key` of `owner`, else nullptr.
  const Value* Find(uint64_t owner, const MemoKey& key) {
    for (Slot* slot : {&First(key), &Second(key)}) {
      if (slot->owner == owner && slot->key == key) {
        slot->used = ++clock_;
        return &slot->value;
      }
    }
    return nullptr;
  }
  const Value* Find(uint64_t owner, std::string_view key) { return Find(owner, MemoKey::Of(key)); }

  /// Keeps `value` for `key` of `owner` and returns it. Each key has two candidate slots; the
  /// one used longer ago is replaced.
  const Value& Put(uint64_t owner, const MemoKey& key, Value value) {
    Slot& first = First(key);
    Slot& second = Second(key);
    Slot& slot = first.used <= second.used ? first : second;
    slot.owner = owner;
    slot.key = key;
    slot.used = ++clock_;
    slot.value = std::move(value);
    return slot.value;
  }
  const Value& Put(uint64_t owner, std::string_view key, Value value) {
    return Put(owner, MemoKey::Of(key), std::move(value));
  }

  /// Starts loading the two slots of `key` into the cache (for a lookup soon after).
  void Prefetch(const MemoKey& key) const {
    __builtin_prefetch(&slots_[key.low & (slots_.size() - 1)]);
    __builtin_prefetch(&slots_[SecondIndex(key)]);
  }

 private:
  struct Slot {
    uint64_t owner = 0;  // 0: empty
    MemoKey key;
    uint64_t used = 0;  // clock_ at its last use; 0: empty
    Value value;
  };
  Slot& First(const MemoKey& key) { return slots_[key.low & (slots_.size() - 1)]; }
  Slot& Second(const MemoKey& key) { return slots_[SecondIndex(key)]; }
  size_t SecondIndex(const MemoKey& key) const {  // never the first slot (with at least two)
    const size_t mask = slots_.size() - 1;
    const size_t first = key.low & mask, second = key.high & mask;
    return second != first ? second : first ^ (mask & 1);
  }

  std::vector<Slot> slots_;
  uint64_t clock_ = 0;
};

/// A process-wide unique, non-zero owner id for ThreadMemo entries.
inline uint64_t NewMemoOwner() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace ca::ingest
