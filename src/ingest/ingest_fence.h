#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>

namespace ca::ingest {

/// Lets a change of the ingest rules wait for the requests that may still apply the rules from
/// before it. A request holds a Ticket from before it reads its tenant's rules until its events
/// are appended to the WAL (or it gives up); Drain returns once every ticket taken before Drain
/// began has been released. User deletion relies on it: once the user is on the suppression list
/// and the fence is drained, no event of theirs checked against the old list can still be on its
/// way to the WAL (docs/privacy.md). Thread-safe; a ticket costs one lock to take and one to
/// release.
class IngestFence {
 public:
  /// Released when destroyed. Movable; a moved-from ticket holds nothing.
  class Ticket {
   public:
    Ticket(Ticket&& other) noexcept : fence_(other.fence_), generation_(other.generation_) {
      other.fence_ = nullptr;
    }
    Ticket& operator=(Ticket&&) = delete;
    Ticket(const Ticket&) = delete;
    ~Ticket() {
      if (fence_ != nullptr) fence_->Leave(generation_);
    }

   private:
    friend class IngestFence;
    Ticket(IngestFence* fence, uint64_t generation) : fence_(fence), generation_(generation) {}
    IngestFence* fence_;
    uint64_t generation_;
  };

  IngestFence() = default;
  IngestFence(const IngestFence&) = delete;
  IngestFence& operator=(const IngestFence&) = delete;

  [[nodiscard]] Ticket Enter();

  /// Waits until every ticket taken before this call has been released; false when some are
  /// still held after `timeout_ms`. Tickets taken meanwhile are not waited for.
  bool Drain(int64_t timeout_ms);

  /// Tickets held now (tests read it).
  uint64_t held() const;

 private:
  void Leave(uint64_t generation);

  mutable std::mutex mu_;
  std::condition_variable released_;
  uint64_t generation_ = 0;            // guarded by mu_; bumped by each Drain
  std::map<uint64_t, uint64_t> held_;  // guarded by mu_: tickets held, by generation
};

}  // namespace ca::ingest
