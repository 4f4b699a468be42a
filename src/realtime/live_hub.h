#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/metrics.h"

namespace ca::realtime {

/// What a live view watches: a tenant's admin view, or one user's own activity.
struct TopicKey {
  std::string tenant;
  /// "admin" or "user".
  std::string kind;
  /// The user (kind "user" only).
  std::string user_id;

  static TopicKey Admin(std::string tenant) { return {std::move(tenant), "admin", {}}; }
  static TopicKey User(std::string tenant, std::string user_id) {
    return {std::move(tenant), "user", std::move(user_id)};
  }
  /// A map key: the fields joined by a byte no tenant name or kind holds.
  std::string Id() const { return tenant + '\x1f' + kind + '\x1f' + user_id; }
  friend bool operator==(const TopicKey&, const TopicKey&) = default;
};

/// The hub's counters; shared with the metrics registry's callbacks.
struct HubCounts {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> coalesced{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> subscribers{0};
  std::atomic<uint64_t> topics{0};
};

/// One viewer (a connection) of a topic, with a bounded outbox. Events queue in order up to
/// `max_events` (and `max_bytes`); past that the oldest pending event is dropped, and the next
/// message taken carries `"skipped": n`, the number of events dropped since the previous one.
/// A stats snapshot replaces the pending one in place (coalescing): at most one waits. So the
/// memory of a subscriber is bounded however slowly its client reads. Thread-safe.
class Subscriber {
 public:
  struct Options {
    size_t max_events = 64;
    /// Bytes of pending messages; reached first when messages are large.
    size_t max_bytes = 512 * 1024;
  };
  using Message = std::shared_ptr<const std::string>;

  Subscriber(TopicKey topic, Options options, std::shared_ptr<HubCounts> counts);
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  const TopicKey& topic() const { return topic_; }

  /// Sets the function called (outside the subscriber's lock) when a message waits and the
  /// taker was not told yet; calls it at once if messages already wait.
  void SetWake(std::function<void()> wake);
  /// Takes the next pending message (a JSON object), with `"skipped": n` added when events were
  /// dropped before it; nullopt when none waits (the next push then wakes the taker).
  std::optional<std::string> Next();

  /// Queues an event message (the same shared text goes to every viewer of a topic).
  void PushEvent(Message message);
  /// Queues a stats message, replacing a stats message that still waits.
  void PushStats(Message message);

  /// Pending messages / of them events / bytes / events dropped not yet reported.
  size_t pending() const;
  size_t pending_events() const;
  size_t pending_bytes() const;
  uint64_t skipped() const;

 private:
  struct Entry {
    bool stats = false;
    Message text;
  };
  /// Wakes the taker if it was not told yet; called without the lock.
  void Notify(std::unique_lock<std::mutex>& lock);

  const TopicKey topic_;
  const Options options_;
  const std::shared_ptr<HubCounts> counts_;
  mutable std::mutex mu_;
  std::deque<Entry> queue_;     // guarded by mu_
  size_t events_ = 0;           // guarded by mu_: non-stats entries in queue_
  size_t bytes_ = 0;            // guarded by mu_
  bool stats_pending_ = false;  // guarded by mu_
  uint64_t skipped_ = 0;        // guarded by mu_
  bool notified_ = false;       // guarded by mu_: the taker was woken and has not emptied us
  std::function<void()> wake_;  // guarded by mu_
};

/// A topic's one server-side subscription: the viewers it fans each message out to. Thread-safe.
class Topic {
 public:
  /// Hands `message` to every viewer.
  void PublishEvent(const Subscriber::Message& message);
  void PublishStats(const Subscriber::Message& message);
  size_t viewers() const;

 private:
  friend class LiveHub;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;  // guarded by mu_
};

/// Topics and their viewers. The event path looks a topic up once per event (`Find`) and fans
/// out through it; all viewers of one topic share it. Exports `ca_live_connections`,
/// `ca_live_topics` and `ca_live_messages_{sent,coalesced,dropped}_total`. Thread-safe.
class LiveHub {
 public:
  struct Options {
    Subscriber::Options subscriber;
    /// Viewers at most (Subscribe answers null past it).
    size_t max_subscribers = 10'000;
  };
  /// `registry` may be null; when set it must outlive the hub's registration only (the
  /// callbacks hold the counters themselves).
  LiveHub(Options options, metrics::Registry* registry);
  ~LiveHub();
  LiveHub(const LiveHub&) = delete;
  LiveHub& operator=(const LiveHub&) = delete;

  /// A new viewer of `key`; null when `max_subscribers` viewers exist.
  std::shared_ptr<Subscriber> Subscribe(const TopicKey& key);
  /// Removes a viewer (idempotent); the topic goes with its last viewer.
  void Unsubscribe(const std::shared_ptr<Subscriber>& subscriber);
  /// The topic of `key` while it has viewers, else null.
  std::shared_ptr<Topic> Find(const TopicKey& key) const;
  /// Tenants whose admin topic has viewers.
  std::vector<std::string> AdminTenants() const;

  size_t topics() const;
  size_t subscribers() const;
  const HubCounts& counts() const { return *counts_; }

 private:
  const Options options_;
  const std::shared_ptr<HubCounts> counts_ = std::make_shared<HubCounts>();
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Topic>> topics_;  // guarded by mu_
  std::unordered_map<std::string, int> admin_tenants_;              // guarded by mu_
  size_t subscribers_ = 0;                                          // guarded by mu_
};

}  // namespace ca::realtime
