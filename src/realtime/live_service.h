#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "base/metrics.h"
#include "event/event.h"
#include "realtime/live_hub.h"
#include "realtime/window_counters.h"

namespace ca::realtime {

/// Live updates for dashboards (docs/api/live.md): takes durable events (`OnEvent`, from the
/// ingest lanes), counts them in per-tenant windows and fans each out to the topics
/// (tenant, "user", user_id) and (tenant, "admin") that have viewers; a ticker thread publishes
/// a stats message once per `tick` to every admin topic with viewers. Thread-safe.
class LiveService {
 public:
  struct Options {
    LiveHub::Options hub;
    WindowCounters::Options windows;
    std::chrono::milliseconds tick{1000};
    /// Larger stored properties are sent as `{}` with `"properties_truncated":true`.
    size_t max_properties_bytes = 4096;
  };
  using Clock = std::function<int64_t()>;

  /// `registry` may be null. `clock` (epoch ms; default the system clock) times the windows.
  LiveService(Options options, metrics::Registry* registry, Clock clock = {});
  /// Stops the ticker.
  ~LiveService();
  LiveService(const LiveService&) = delete;
  LiveService& operator=(const LiveService&) = delete;

  /// Starts the ticker thread (idempotent).
  void Start();
  /// Stops and joins the ticker (idempotent).
  void Stop();

  /// One durable event: counted, and sent to its user's and its tenant's admin topic.
  void OnEvent(const event::Event& event);
  /// The same for an event whose properties and context are not at hand yet: `head` has every
  /// other field, and `full` gives the whole event. It is called only when someone watches (the
  /// lanes then decode the rest: most events are only counted).
  void OnEvent(const event::Event& head, const std::function<const event::Event&()>& full);
  /// A new viewer of `topic` with its hello message queued (and, for an admin topic, the current
  /// stats); null when the hub is full.
  std::shared_ptr<Subscriber> Subscribe(const TopicKey& topic);
  void Unsubscribe(const std::shared_ptr<Subscriber>& subscriber);
  /// Publishes one round of stats to every admin topic with viewers (what the ticker does).
  void PublishStats();

  LiveHub& hub() { return hub_; }
  WindowCounters& windows() { return windows_; }

 private:
  void Run();

  const Options options_;
  const Clock clock_;
  WindowCounters windows_;
  LiveHub hub_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mu_
  std::thread ticker_;
};

}  // namespace ca::realtime
