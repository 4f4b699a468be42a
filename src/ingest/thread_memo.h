#pragma once

#include <xxhash.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ca::ingest {

/// A small two-way cache of what a pure function computed from a text key, for one thread
/// (declare it `thread_local`): a lookup is a hash and a compare, with no lock and no
/// allocation once the slots have grown to their keys. Enrichment keeps, in such memos, the
/// parts it rendered for a user agent or a URL, which repeat from event to event.
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
  const Value* Find(uint64_t owner, std::string_view key) {
    const uint64_t hash = XXH3_64bits(key.data(), key.size());
    for (Slot* slot : {&First(hash), &Second(hash)}) {
      if (slot->owner == owner && slot->hash == hash && slot->key == key) {
        slot->used = ++clock_;
        return &slot->value;
      }
    }
    return nullptr;
  }

  /// Keeps `value` for `key` of `owner` and returns it. Each key has two candidate slots; the
  /// one used longer ago is replaced.
  const Value& Put(uint64_t owner, std::string_view key, Value value) {
    const uint64_t hash = XXH3_64bits(key.data(), key.size());
    Slot& first = First(hash);
    Slot& second = Second(hash);
    Slot& slot = first.used <= second.used ? first : second;
    slot.owner = owner;
    slot.hash = hash;
    slot.used = ++clock_;
    slot.key.assign(key);
    slot.value = std::move(value);
    return slot.value;
  }

 private:
  struct Slot {
    uint64_t owner = 0;  // 0: empty
    uint64_t hash = 0;
    uint64_t used = 0;  // clock_ at its last use; 0: empty
    std::string key;
    Value value;
  };
  Slot& First(uint64_t hash) { return slots_[hash & (slots_.size() - 1)]; }
  Slot& Second(uint64_t hash) {  // never the first slot (with at least two)
    const size_t mask = slots_.size() - 1;
    const size_t first = hash & mask, second = (hash >> 32) & mask;
    return slots_[second != first ? second : first ^ (mask & 1)];
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
