#include "ingest/sessionizer.h"

#include <xxhash.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace ca::ingest {

Sessionizer::Sessionizer() : Sessionizer(Options()) {}
Sessionizer::Sessionizer(Options options) : options_(options) {}

SessionContext Sessionizer::Assign(std::string_view tenant, std::string_view sender,
                                   int64_t timestamp_ms, int64_t received_at_ms,
                                   SessionContext first) {
  std::string key;
  key.reserve(tenant.size() + 1 + sender.size());
  key.append(tenant).push_back('\0');
  key.append(sender);
  const uint64_t hash = XXH3_64bits(key.data(), key.size());
  Shard& shard = shards_[hash % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.open.find(key);
  if (it != shard.open.end()) {
    Open& s = it->second;
    if (timestamp_ms >= s.start_ms - options_.gap_ms &&
        timestamp_ms <= s.last_ms + options_.gap_ms) {
      s.start_ms = std::min(s.start_ms, timestamp_ms);
      s.last_ms = std::max(s.last_ms, timestamp_ms);
      s.touched_at_ms = received_at_ms;
      if (s.context.entry_path.empty() && !first.entry_path.empty()) {
        // The session began without a page (an identify, a login): its first page is its entry.
        first.id = std::move(s.context.id);
        s.context = std::move(first);
      }
      return s.context;
    }
    // Later than the gap: a new session. Much earlier: an old session of its own, which does
    // not replace the open one.
    if (timestamp_ms < s.start_ms) {
      first.id = SessionIdFor(hash, timestamp_ms);
      return first;
    }
  } else if (shard.open.size() >= options_.max_senders / kShards) {
    MakeRoom(shard, received_at_ms);
  }
  first.id = SessionIdFor(hash, timestamp_ms);
  Open& s = shard.open[key];
  s.context = first;
  s.start_ms = s.last_ms = timestamp_ms;
  s.touched_at_ms = received_at_ms;
  return first;
}

std::string Sessionizer::SessionIdFor(uint64_t sender_hash, int64_t start_ms) {
  uint64_t mixed = XXH3_64bits_withSeed(&start_ms, sizeof start_ms, sender_hash);
  // 16 letters a..p, one per 4 bits: no digits, so that an id never looks like a phone number to
  // the privacy stage (which then has nothing to scan for).
  std::string id = "s_";
  for (int i = 0; i < 16; ++i, mixed >>= 4) id.push_back(static_cast<char>('a' + (mixed & 15)));
  return id;
}

void Sessionizer::MakeRoom(Shard& shard, int64_t now_ms) {
  std::erase_if(shard.open, [&](const auto& entry) {
    return entry.second.touched_at_ms < now_ms - options_.gap_ms;
  });
  if (shard.open.size() < options_.max_senders / kShards) return;
  std::vector<int64_t> touched;
  touched.reserve(shard.open.size());
  for (const auto& [key, s] : shard.open) touched.push_back(s.touched_at_ms);
  auto middle = touched.begin() + static_cast<std::ptrdiff_t>(touched.size() / 2);
  std::nth_element(touched.begin(), middle, touched.end());
  const int64_t cutoff = *middle;
  std::erase_if(shard.open,
                [&](const auto& entry) { return entry.second.touched_at_ms <= cutoff; });
}

size_t Sessionizer::open_sessions() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.open.size();
  }
  return n;
}

}  // namespace ca::ingest
