#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace ca {

/// An open-addressing hash map keyed by a 64-bit hash the caller computes (a well-mixed one, such
/// as XXH3's): the slots are one array, so a lookup touches one cache line or two, and Prefetch
/// lets a caller that knows its next keys overlap their misses. Where two keys could share a
/// hash, the value holds what tells them apart (hashes 0 and 1 are one key: 0 marks an empty
/// slot). Linear probing at most half full; erasing shifts
/// the probe run back (no tombstones). Not thread-safe.
template <typename Value>
class FlatHashMap {
 public:
  explicit FlatHashMap(size_t capacity = 16) { slots_.resize(RoundUp(capacity)); }

  /// The value of `hash`, else nullptr. Invalidated by an insertion or erasure.
  Value* Find(uint64_t hash) {
    hash = NonZero(hash);
    for (size_t i = hash & mask();; i = (i + 1) & mask()) {
      if (slots_[i].hash == hash) return &slots_[i].value;
      if (slots_[i].hash == 0) return nullptr;
    }
  }

  /// The value of `hash`, inserted value-initialised when absent (`*inserted` says which).
  Value& FindOrInsert(uint64_t hash, bool* inserted) {
    hash = NonZero(hash);
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t i = hash & mask();
    for (; slots_[i].hash != 0; i = (i + 1) & mask()) {
      if (slots_[i].hash == hash) {
        *inserted = false;
        return slots_[i].value;
      }
    }
    slots_[i].hash = hash;
    slots_[i].value = Value();
    ++size_;
    *inserted = true;
    return slots_[i].value;
  }

  /// Removes every entry for which `drop(const Value&)` is true; returns how many.
  template <typename Drop>
  size_t EraseIf(Drop drop) {
    std::vector<Slot> old(slots_.size());
    old.swap(slots_);
    const size_t before = size_;
    size_ = 0;
    for (Slot& slot : old) {
      if (slot.hash == 0 || drop(static_cast<const Value&>(slot.value))) continue;
      Place(slot.hash, std::move(slot.value));
    }
    return before - size_;
  }

  /// Calls `visit(hash, const Value&)` for every entry (hash as given to FindOrInsert, but 1
  /// for 0).
  template <typename Visit>
  void ForEachEntry(Visit visit) const {
    for (const Slot& slot : slots_) {
      if (slot.hash != 0) visit(slot.hash, slot.value);
    }
  }

  /// Hints the processor to load the slot `hash` starts its probe at.
  void Prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[NonZero(hash) & mask()]); }

  size_t size() const { return size_; }
  /// Bytes of the slot array (what the values hold elsewhere is not counted).
  size_t memory_bytes() const { return slots_.size() * sizeof(Slot); }
  void clear() {
    slots_.assign(slots_.size(), Slot());
    size_ = 0;
  }

 private:
  struct Slot {
    uint64_t hash = 0;  // 0: empty
    Value value{};
  };

  static size_t RoundUp(size_t n) {
    size_t slots = 16;
    while (slots < n) slots <<= 1;
    return slots;
  }
  static uint64_t NonZero(uint64_t hash) { return hash == 0 ? 1 : hash; }
  size_t mask() const { return slots_.size() - 1; }

  void Place(uint64_t hash, Value&& value) {
    size_t i = hash & mask();
    while (slots_[i].hash != 0) i = (i + 1) & mask();
    slots_[i].hash = hash;
    slots_[i].value = std::move(value);
    ++size_;
  }

  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    size_ = 0;
    for (Slot& slot : old) {
      if (slot.hash != 0) Place(slot.hash, std::move(slot.value));
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace ca
