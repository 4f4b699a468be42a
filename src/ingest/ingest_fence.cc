#include "ingest/ingest_fence.h"

#include <chrono>

namespace ca::ingest {

IngestFence::Ticket IngestFence::Enter() {
  std::lock_guard lock(mu_);
  ++held_[generation_];
  return Ticket(this, generation_);
}

void IngestFence::Leave(uint64_t generation) {
  std::lock_guard lock(mu_);
  auto it = held_.find(generation);
  if (--it->second == 0) {
    held_.erase(it);
    released_.notify_all();
  }
}

bool IngestFence::Drain(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  // Tickets from now on belong to a later generation than every one this call waits for.
  const uint64_t before = generation_++;
  return released_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [&] { return held_.empty() || held_.begin()->first > before; });
}

uint64_t IngestFence::held() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [generation, count] : held_) n += count;
  return n;
}

}  // namespace ca::ingest
