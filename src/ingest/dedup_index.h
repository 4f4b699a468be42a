#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace ca::ingest {

/// Exact deduplication of (tenant, event_id) pairs seen within a time window.
///
/// Each id is kept as a 128-bit XXH3 hash of `tenant + '\0' + event_id` plus its first-seen minute
/// (20 bytes per slot) in an open-addressing table with linear probing, Robin Hood insertion and
/// backward-shift deletion. Capacity grows by 1.5x at a load of 0.8, so a tracked id costs about
/// 25..38 bytes. Times have minute granularity: an id is forgotten between `window` and
/// `window + 1 min` after it was first seen. Not thread-safe; callers serialise access.
class DedupIndex {
 public:
  /// Seven days.
  static constexpr int64_t kDefaultWindowMs = 7 * 24 * 3600 * 1000LL;

  explicit DedupIndex(int64_t window_ms = kDefaultWindowMs);
  ~DedupIndex();
  DedupIndex(const DedupIndex&) = delete;
  DedupIndex& operator=(const DedupIndex&) = delete;

  /// The 128-bit key of (tenant, event_id). Computing keys outside the caller's lock and calling
  /// Prefetch on a batch of them before checking hides the table's cache misses.
  struct Key {
    uint64_t lo;
    uint64_t hi;
  };
  static Key KeyOf(std::string_view tenant, std::string_view event_id);
  /// Hints the CPU to load the slot where `key` would live.
  void Prefetch(const Key& key) const;
  bool CheckAndInsert(const Key& key, int64_t seen_at_ms);
  void Erase(const Key& key);

  /// True if (tenant, event_id) was first seen within the window before `seen_at_ms` (a
  /// duplicate; nothing changes). Otherwise records it as first seen at `seen_at_ms` and returns
  /// false.
  bool CheckAndInsert(std::string_view tenant, std::string_view event_id, int64_t seen_at_ms);

  /// Forgets (tenant, event_id), e.g. to undo a CheckAndInsert whose write failed. No-op if absent.
  void Erase(std::string_view tenant, std::string_view event_id);

  /// Records (tenant, event_id) as seen at `seen_at_ms` (keeping the later time if present); for
  /// rebuilding the index from the WAL on start-up.
  void Insert(std::string_view tenant, std::string_view event_id, int64_t seen_at_ms);

  /// Drops ids first seen more than the window before `now_ms`. O(capacity); call it periodically
  /// (e.g. once a minute). Shrinks the table when it becomes mostly empty.
  void ExpireOlderThan(int64_t now_ms);

  /// Bounds memory: when more than `max_ids` are tracked, forgets the oldest (whole minutes of
  /// first sightings) until at most `max_ids` remain. Returns the new horizon (ids first seen
  /// before it are forgotten, epoch ms), or -1 when nothing was dropped. O(capacity).
  int64_t TrimTo(size_t max_ids);

  /// Number of tracked ids.
  size_t size() const { return size_; }
  /// Bytes held by the table.
  size_t memory_bytes() const;
  /// Number of slots (for tests and metrics).
  size_t capacity() const { return capacity_; }

 private:
  struct Slot;
  using Hash = Key;

  static Hash HashKey(std::string_view tenant, std::string_view event_id);
  uint32_t Minute(int64_t ms) const;
  size_t Home(uint64_t lo) const;
  size_t Distance(size_t slot_index, uint64_t lo) const;
  /// Slot index holding `h`, or capacity_ when absent.
  size_t Find(const Hash& h) const;
  /// Inserts `h` known to be absent; grows first when needed.
  void InsertNew(const Hash& h, uint32_t minute);
  void InsertNoGrow(Slot slot);
  void EraseAt(size_t index);
  void Rehash(size_t new_capacity);
  /// Removes every entry whose stored minute is below `cutoff`.
  void RemoveOlderThan(uint32_t cutoff);

  int64_t window_ms_;
  std::unique_ptr<Slot[]> slots_;
  size_t capacity_ = 0;
  size_t size_ = 0;
};

}  // namespace ca::ingest
