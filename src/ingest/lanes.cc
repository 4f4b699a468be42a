#include "ingest/lanes.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "event/event_codec.h"

namespace ca::ingest {

const std::unordered_set<std::string>& DefaultRealtimeTypes() {
  static const std::unordered_set<std::string> kTypes = {
      "job_apply",           "application_status_changed",
      "interview_scheduled", "interview_feedback",
      "offer_received",      "offer_accepted",
      "offer_rejected"};
  return kTypes;
}

LaneDispatcher::LaneDispatcher(Options options)
    : options_(std::move(options)), thread_([this] { Run(); }) {}

LaneDispatcher::~LaneDispatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void LaneDispatcher::Subscribe(Consumer consumer) { consumers_.push_back(std::move(consumer)); }

Lane LaneDispatcher::LaneOf(const event::Event& event) const {
  return DefaultRealtimeTypes().count(event.type) || options_.extra_realtime_types.count(event.type)
             ? Lane::kRealtime
             : Lane::kBatch;
}

void LaneDispatcher::Publish(std::shared_ptr<const EncodedBatch> batch) {
  {
    std::lock_guard lock(mu_);
    for (uint32_t i = 0; i < batch->records.size(); ++i) {
      const Entry entry{batch, i};
      bytes_ += entry.size();
      (batch->records[i].lane == Lane::kRealtime ? realtime_ : batch_).push_back(entry);
    }
    while (bytes_ > options_.max_bytes && !batch_.empty()) {
      bytes_ -= batch_.front().size();
      batch_.pop_front();
      ++dropped_;
    }
  }
  wake_.notify_one();
}

void LaneDispatcher::Publish(const std::vector<std::string>& records,
                             const std::vector<Lane>& lanes) {
  auto batch = std::make_shared<EncodedBatch>();
  for (size_t i = 0; i < records.size(); ++i) {
    batch->records.push_back({static_cast<uint32_t>(batch->bytes.size()),
                              static_cast<uint32_t>(records[i].size()), lanes[i]});
    batch->bytes.append(records[i]);
  }
  Publish(std::move(batch));
}

void LaneDispatcher::Run() {
  event::Event e;
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || !realtime_.empty() || !batch_.empty(); });
    if (stop_) return;
    std::deque<Entry>& from = !realtime_.empty() ? realtime_ : batch_;
    const Lane lane = &from == &realtime_ ? Lane::kRealtime : Lane::kBatch;
    const Entry entry = std::move(from.front());
    from.pop_front();
    bytes_ -= entry.size();
    busy_ = true;
    lock.unlock();
    std::string_view properties, context;
    if (Status s =
            event::DecodeEventHeadInto(entry.batch->record(entry.index), &e, &properties, &context);
        s.ok()) {
      LaneEvent delivered(&e, properties, context);  // views into entry.batch, held here
      for (const Consumer& consumer : consumers_) consumer(delivered, lane);
    } else {
      spdlog::error("lanes: undecodable record: {}", s.ToString());
    }
    lock.lock();
    busy_ = false;
    if (realtime_.empty() && batch_.empty()) idle_.notify_all();
  }
}

bool LaneDispatcher::backlogged() const {
  std::lock_guard lock(mu_);
  return bytes_ > options_.max_bytes / 2;
}

uint64_t LaneDispatcher::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void LaneDispatcher::Drain() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return realtime_.empty() && batch_.empty() && !busy_; });
}

}  // namespace ca::ingest
