#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "store/column_batch.h"

namespace ca::store {

/// Decoded columns of part granules, bounded by bytes, the least recently used evicted first.
/// Thread-safe. The store fills it only from reads of one user's rows: a user's dashboard asks
/// for the same few granules again and again, while a full scan would push everything else out
/// for no reuse (ClickHouse's uncompressed cache has the same rule for small reads).
class GranuleCache {
 public:
  /// One decoded column of one granule: a batch with only that column filled.
  using Entry = std::shared_ptr<const ColumnBatch>;

  explicit GranuleCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  /// The entry for (part reader uid, granule, column), or null.
  Entry Find(uint64_t part_uid, uint32_t granule, Column c);
  /// Adds or replaces an entry, then evicts down to the budget. An entry larger than the whole
  /// budget is not kept.
  void Insert(uint64_t part_uid, uint32_t granule, Column c, Entry entry);

  struct Stats {
    uint64_t hits = 0, misses = 0, entries = 0, bytes = 0;
  };
  Stats stats() const;

  /// Heap bytes held by column `c` of `b` (what an entry is charged).
  static size_t BytesOf(const ColumnBatch& b, Column c);

 private:
  struct Key {
    uint64_t part_uid;
    uint32_t granule;
    uint8_t column;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<uint64_t>()(k.part_uid * 0x9E3779B97F4A7C15ull ^
                                   (uint64_t{k.granule} << 8 | k.column));
    }
  };
  struct Slot {
    Key key;
    Entry entry;
    size_t bytes;
  };

  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<Slot> lru_;  // most recently used first
  std::unordered_map<Key, std::list<Slot>::iterator, KeyHash> index_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace ca::store
