#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "event/event.h"

namespace ca::ingest {

/// The two lanes of DESIGN.md's queue: real-time events reach the consumers ahead of any backlog
/// of batch events.
enum class Lane : uint8_t { kRealtime, kBatch };

/// The durable events of one commit, encoded back to back (event::EncodeEvent): the lanes' entries
/// share it, so handing a request's events to the lanes costs one copy and one allocation.
struct EncodedBatch {
  std::string bytes;
  struct Record {
    uint32_t offset = 0, size = 0;  // in `bytes`
    Lane lane = Lane::kBatch;
  };
  std::vector<Record> records;
  std::string_view record(size_t i) const {
    return std::string_view(bytes).substr(records[i].offset, records[i].size);
  }
};

/// One durable event as the lanes hand it to a consumer: every field but properties and context
/// decoded (head); those two are copied in only when a consumer asks (full), as the live views do
/// for events someone watches. Valid during the consumer call.
class LaneEvent {
 public:
  LaneEvent(event::Event* event, std::string_view properties, std::string_view context)
      : event_(event), properties_(properties), context_(context) {}
  /// The event; its properties_json and context_json are empty until full() is called.
  const event::Event& head() const { return *event_; }
  /// The whole event (properties and context copied in on the first call).
  const event::Event& full() {
    if (!full_) {
      event_->properties_json.assign(properties_);
      event_->context_json.assign(context_);
      full_ = true;
    }
    return *event_;
  }

 private:
  event::Event* event_;
  std::string_view properties_, context_;
  bool full_ = false;
};

/// The built-in real-time types: applications, interviews and offers.
const std::unordered_set<std::string>& DefaultRealtimeTypes();

/// Delivers durable events to in-process consumers (live views, alert rules) in two lanes, after
/// the WAL has them: a consumer thread always takes the real-time lane first, so a real-time event
/// overtakes every batch event still waiting. Events of one lane keep their order.
///
/// Memory is bounded: at most `max_bytes` of encoded events wait. Past that the oldest batch events
/// are dropped for these consumers (counted in dropped(); they stay in the WAL and the store, which
/// consumers read back when they start or fall behind), and `backlogged()` tells ingest to push
/// back (503). Real-time events are never dropped for batch ones. Thread-safe.
class LaneDispatcher {
 public:
  using Consumer = std::function<void(LaneEvent&, Lane)>;
  struct Options {
    size_t max_bytes = 64 << 20;
    /// Types in the real-time lane besides DefaultRealtimeTypes() (those an alert rule watches).
    std::unordered_set<std::string> extra_realtime_types;
  };
  explicit LaneDispatcher(Options options);
  ~LaneDispatcher();  ///< stops the thread; waiting events are not delivered
  LaneDispatcher(const LaneDispatcher&) = delete;
  LaneDispatcher& operator=(const LaneDispatcher&) = delete;

  /// Adds a consumer; call before the first Publish.
  void Subscribe(Consumer consumer);
  bool has_consumers() const { return !consumers_.empty(); }

  Lane LaneOf(const event::Event& event) const;
  /// Queues durable events with the lane of each.
  void Publish(std::shared_ptr<const EncodedBatch> batch);
  /// The same for events encoded one by one (tests).
  void Publish(const std::vector<std::string>& records, const std::vector<Lane>& lanes);

  /// Waiting bytes are past half the bound: ingest should push back.
  bool backlogged() const;
  uint64_t dropped() const;
  /// Blocks until everything published so far was delivered (tests).
  void Drain();

 private:
  void Run();

  const Options options_;
  std::vector<Consumer> consumers_;
  mutable std::mutex mu_;
  std::condition_variable wake_, idle_;
  struct Entry {
    std::shared_ptr<const EncodedBatch> batch;
    uint32_t index = 0;
    size_t size() const { return batch->records[index].size; }
  };
  std::deque<Entry> realtime_, batch_;  // guarded by mu_
  size_t bytes_ = 0;                    // guarded by mu_
  uint64_t dropped_ = 0;                // guarded by mu_
  bool busy_ = false;                   // guarded by mu_: a consumer call is running
  bool stop_ = false;                   // guarded by mu_
  std::thread thread_;
};

}  // namespace ca::ingest
