#include "ingest/dedup_index.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

namespace ca::ingest {

// 20 bytes, 4-byte aligned: the 128-bit hash split into words plus the first-seen minute + 1
// (0 marks an empty slot).
struct DedupIndex::Slot {
  uint32_t words[4];
  uint32_t minute;

  bool empty() const { return minute == 0; }
  uint64_t lo() const { return words[0] | static_cast<uint64_t>(words[1]) << 32; }
  bool Holds(const Hash& h) const {
    return words[0] == static_cast<uint32_t>(h.lo) &&
           words[1] == static_cast<uint32_t>(h.lo >> 32) &&
           words[2] == static_cast<uint32_t>(h.hi) && words[3] == static_cast<uint32_t>(h.hi >> 32);
  }
  static Slot Make(const Hash& h, uint32_t minute) {
    return Slot{{static_cast<uint32_t>(h.lo), static_cast<uint32_t>(h.lo >> 32),
                 static_cast<uint32_t>(h.hi), static_cast<uint32_t>(h.hi >> 32)},
                minute};
  }
};

namespace {
__extension__ using Uint128 = unsigned __int128;
constexpr size_t kMinCapacity = 16;
// Grow at 80% load; after growing by 1.5x the load is 53%.
bool OverLoaded(size_t size, size_t capacity) { return size * 5 > capacity * 4; }
}  // namespace

DedupIndex::DedupIndex(int64_t window_ms) : window_ms_(window_ms) {
  static_assert(sizeof(Slot) == 20);
  Rehash(kMinCapacity);
}

DedupIndex::~DedupIndex() = default;

size_t DedupIndex::memory_bytes() const { return capacity_ * sizeof(Slot) + sizeof(*this); }

DedupIndex::Hash DedupIndex::HashKey(std::string_view tenant, std::string_view event_id) {
  char stack[256];
  std::string heap;
  size_t n = tenant.size() + 1 + event_id.size();
  char* buf = stack;
  if (n > sizeof(stack)) {
    heap.resize(n);
    buf = heap.data();
  }
  std::memcpy(buf, tenant.data(), tenant.size());
  buf[tenant.size()] = '\0';
  std::memcpy(buf + tenant.size() + 1, event_id.data(), event_id.size());
  XXH128_hash_t h = XXH3_128bits(buf, n);
  return Hash{h.low64, h.high64};
}

uint32_t DedupIndex::Minute(int64_t ms) const {
  // Stored as minute + 1 so that 0 can mark empty slots; clamped to the representable range.
  int64_t m = ms < 0 ? 0 : ms / 60000;
  return static_cast<uint32_t>(std::min<int64_t>(m, UINT32_MAX - 1) + 1);
}

size_t DedupIndex::Home(uint64_t lo) const {
  // Lemire's multiply-shift range reduction: capacity need not be a power of two.
  return static_cast<size_t>((static_cast<Uint128>(lo) * capacity_) >> 64);
}

size_t DedupIndex::Distance(size_t index, uint64_t lo) const {
  size_t home = Home(lo);
  return index >= home ? index - home : index + capacity_ - home;
}

size_t DedupIndex::Find(const Hash& h) const {
  size_t i = Home(h.lo);
  for (size_t dist = 0;; ++dist) {
    const Slot& s = slots_[i];
    // Robin Hood invariant: once we pass a slot closer to its home than we are to ours, the key
    // cannot be further along.
    if (s.empty() || Distance(i, s.lo()) < dist) return capacity_;
    if (s.Holds(h)) return i;
    if (++i == capacity_) i = 0;
  }
}

void DedupIndex::InsertNoGrow(Slot slot) {
  size_t i = Home(slot.lo());
  size_t dist = 0;
  for (;;) {
    Slot& s = slots_[i];
    if (s.empty()) {
      s = slot;
      ++size_;
      return;
    }
    size_t existing = Distance(i, s.lo());
    if (existing < dist) {
      std::swap(s, slot);
      dist = existing;
    }
    if (++i == capacity_) i = 0;
    ++dist;
  }
}

void DedupIndex::InsertNew(const Hash& h, uint32_t minute) {
  if (OverLoaded(size_ + 1, capacity_)) Rehash(capacity_ + capacity_ / 2);
  InsertNoGrow(Slot::Make(h, minute));
}

void DedupIndex::EraseAt(size_t i) {
  // Backward-shift deletion: pull following displaced entries one slot closer to home.
  for (;;) {
    size_t next = i + 1 == capacity_ ? 0 : i + 1;
    const Slot& n = slots_[next];
    if (n.empty() || Distance(next, n.lo()) == 0) break;
    slots_[i] = n;
    i = next;
  }
  slots_[i] = Slot{};
  --size_;
}

void DedupIndex::Rehash(size_t new_capacity) {
  new_capacity = std::max(new_capacity, kMinCapacity);
  std::unique_ptr<Slot[]> old = std::move(slots_);
  size_t old_capacity = capacity_;
  slots_ = std::make_unique<Slot[]>(new_capacity);  // value-initialised: all empty
  capacity_ = new_capacity;
  size_ = 0;
  for (size_t i = 0; i < old_capacity; ++i) {
    if (!old[i].empty()) InsertNoGrow(old[i]);
  }
}

DedupIndex::Key DedupIndex::KeyOf(std::string_view tenant, std::string_view event_id) {
  return HashKey(tenant, event_id);
}

void DedupIndex::Prefetch(const Key& key) const { __builtin_prefetch(&slots_[Home(key.lo)]); }

bool DedupIndex::CheckAndInsert(std::string_view tenant, std::string_view event_id,
                                int64_t seen_at_ms) {
  return CheckAndInsert(HashKey(tenant, event_id), seen_at_ms);
}

bool DedupIndex::CheckAndInsert(const Key& h, int64_t seen_at_ms) {
  uint32_t minute = Minute(seen_at_ms);
  size_t i = Find(h);
  if (i != capacity_) {
    Slot& s = slots_[i];
    int64_t age_ms = (static_cast<int64_t>(minute) - static_cast<int64_t>(s.minute)) * 60000;
    if (age_ms < window_ms_) return true;
    s.minute = minute;  // seen before, but the window has passed: a new first sighting
    return false;
  }
  InsertNew(h, minute);
  return false;
}

void DedupIndex::Insert(std::string_view tenant, std::string_view event_id, int64_t seen_at_ms) {
  Hash h = HashKey(tenant, event_id);
  uint32_t minute = Minute(seen_at_ms);
  size_t i = Find(h);
  if (i != capacity_) {
    slots_[i].minute = std::max(slots_[i].minute, minute);
    return;
  }
  InsertNew(h, minute);
}

void DedupIndex::Erase(std::string_view tenant, std::string_view event_id) {
  Erase(HashKey(tenant, event_id));
}

void DedupIndex::Erase(const Key& key) {
  size_t i = Find(key);
  if (i != capacity_) EraseAt(i);
}

void DedupIndex::ExpireOlderThan(int64_t now_ms) {
  if (size_ == 0) return;
  // Entries whose stored minute is below `cutoff` are older than the window.
  int64_t cutoff_ms = now_ms - window_ms_;
  if (cutoff_ms < 0) return;
  RemoveOlderThan(Minute(cutoff_ms));
}

int64_t DedupIndex::TrimTo(size_t max_ids) {
  if (size_ <= max_ids) return -1;
  std::map<uint32_t, size_t> per_minute;
  for (size_t i = 0; i < capacity_; ++i) {
    if (!slots_[i].empty()) ++per_minute[slots_[i].minute];
  }
  // Drop whole minutes, oldest first, until at most max_ids remain.
  size_t remaining = size_;
  uint32_t cutoff = 0;
  for (const auto& [minute, count] : per_minute) {
    if (remaining <= max_ids) break;
    remaining -= count;
    cutoff = minute + 1;
  }
  RemoveOlderThan(cutoff);
  return (static_cast<int64_t>(cutoff) - 1) * 60000;
}

void DedupIndex::RemoveOlderThan(uint32_t cutoff) {
  // Start the scan at an empty slot: no probe run crosses it, so backward shifts never move an
  // unvisited entry behind the scan position.
  size_t start = 0;
  while (!slots_[start].empty()) ++start;  // load < 100%, so an empty slot exists
  size_t i = start;
  for (size_t visited = 0; visited < capacity_; ++visited) {
    // After a deletion the shifted-in entry lands at i and must be examined too.
    while (!slots_[i].empty() && slots_[i].minute < cutoff) EraseAt(i);
    if (++i == capacity_) i = 0;
  }
  if (capacity_ > kMinCapacity && size_ * 5 < capacity_) {
    Rehash(std::max(kMinCapacity, size_ * 2));
  }
}

}  // namespace ca::ingest
