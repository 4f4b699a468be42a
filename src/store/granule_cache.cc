#include "store/granule_cache.h"

#include <string>

namespace ca::store {

GranuleCache::Entry GranuleCache::Find(uint64_t part_uid, uint32_t granule, Column c) {
  std::lock_guard lock(mu_);
  auto it = index_.find(Key{part_uid, granule, static_cast<uint8_t>(c)});
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->entry;
}

void GranuleCache::Insert(uint64_t part_uid, uint32_t granule, Column c, Entry entry) {
  const size_t bytes = BytesOf(*entry, c) + sizeof(Slot) + sizeof(ColumnBatch);
  const Key key{part_uid, granule, static_cast<uint8_t>(c)};
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    bytes_ -= it->second->bytes;
    lru_.erase(it->second);
    index_.erase(it);
  }
  if (bytes > max_bytes_) return;
  lru_.push_front(Slot{key, std::move(entry), bytes});
  index_[key] = lru_.begin();
  bytes_ += bytes;
  while (bytes_ > max_bytes_) {
    const Slot& last = lru_.back();
    bytes_ -= last.bytes;
    index_.erase(last.key);
    lru_.pop_back();
  }
}

GranuleCache::Stats GranuleCache::stats() const {
  std::lock_guard lock(mu_);
  return Stats{hits_, misses_, index_.size(), bytes_};
}

size_t GranuleCache::BytesOf(const ColumnBatch& b, Column c) {
  auto strings = [](const std::vector<std::string>& v) {
    size_t n = v.capacity() * sizeof(std::string);
    for (const auto& s : v) n += s.capacity() > 15 ? s.capacity() + 1 : 0;
    return n;
  };
  switch (c) {
    case Column::kTimestamp:
      return b.timestamp.capacity() * sizeof(int64_t);
    case Column::kReceivedAt:
      return b.received_at.capacity() * sizeof(int64_t);
    case Column::kFlags:
      return b.flags.capacity() * sizeof(uint32_t);
    case Column::kValue:
      return b.value.capacity() * sizeof(double);
    case Column::kEventId:
      return strings(b.event_id);
    case Column::kProperties:
      return strings(b.properties);
    case Column::kContext:
      return strings(b.context);
    default:
      return b.Ids(c).capacity() * sizeof(uint32_t);
  }
}

}  // namespace ca::store
