#include "realtime/live_hub.h"

#include <algorithm>

namespace ca::realtime {

Subscriber::Subscriber(TopicKey topic, Options options, std::shared_ptr<HubCounts> counts)
    : topic_(std::move(topic)), options_(options), counts_(std::move(counts)) {}

void Subscriber::SetWake(std::function<void()> wake) {
  std::unique_lock lock(mu_);
  wake_ = std::move(wake);
  if (!queue_.empty()) Notify(lock);
}

void Subscriber::Notify(std::unique_lock<std::mutex>& lock) {
  if (notified_ || !wake_) return;
  notified_ = true;
  std::function<void()> wake = wake_;
  lock.unlock();
  wake();
}

std::optional<std::string> Subscriber::Next() {
  std::lock_guard lock(mu_);
  if (queue_.empty()) {
    notified_ = false;
    return std::nullopt;
  }
  Entry entry = std::move(queue_.front());
  queue_.pop_front();
  bytes_ -= entry.text->size();
  if (entry.stats) {
    stats_pending_ = false;
  } else {
    --events_;
  }
  counts_->sent.fetch_add(1, std::memory_order_relaxed);
  const std::string& text = *entry.text;
  if (skipped_ == 0 || text.size() < 2 || text.front() != '{') return text;
  std::string out = "{\"skipped\":" + std::to_string(skipped_);
  out += text.size() > 2 ? "," : "";
  out.append(text, 1);
  skipped_ = 0;
  return out;
}

void Subscriber::PushEvent(Message message) {
  std::unique_lock lock(mu_);
  if (options_.max_events == 0 || message->size() > options_.max_bytes) {
    ++skipped_;  // never fits
    counts_->dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Drops the oldest waiting events until the new one fits: a live view wants the latest.
  while (events_ > 0 &&
         (events_ >= options_.max_events || bytes_ + message->size() > options_.max_bytes)) {
    auto oldest =
        std::find_if(queue_.begin(), queue_.end(), [](const Entry& e) { return !e.stats; });
    bytes_ -= oldest->text->size();
    queue_.erase(oldest);
    --events_;
    ++skipped_;
    counts_->dropped.fetch_add(1, std::memory_order_relaxed);
  }
  bytes_ += message->size();
  ++events_;
  queue_.push_back({false, std::move(message)});
  Notify(lock);
}

void Subscriber::PushStats(Message message) {
  std::unique_lock lock(mu_);
  if (stats_pending_) {
    for (Entry& e : queue_) {
      if (!e.stats) continue;
      bytes_ = bytes_ - e.text->size() + message->size();
      e.text = std::move(message);
      break;
    }
    counts_->coalesced.fetch_add(1, std::memory_order_relaxed);
    return;  // the taker was already told
  }
  stats_pending_ = true;
  bytes_ += message->size();
  queue_.push_back({true, std::move(message)});
  Notify(lock);
}

size_t Subscriber::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

size_t Subscriber::pending_events() const {
  std::lock_guard lock(mu_);
  return events_;
}

size_t Subscriber::pending_bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

uint64_t Subscriber::skipped() const {
  std::lock_guard lock(mu_);
  return skipped_;
}

void Topic::PublishEvent(const Subscriber::Message& message) {
  std::lock_guard lock(mu_);
  for (const auto& s : subscribers_) s->PushEvent(message);
}

void Topic::PublishStats(const Subscriber::Message& message) {
  std::lock_guard lock(mu_);
  for (const auto& s : subscribers_) s->PushStats(message);
}

size_t Topic::viewers() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

LiveHub::LiveHub(Options options, metrics::Registry* registry) : options_(options) {
  if (registry == nullptr) return;
  auto counts = counts_;
  auto value = [](const std::atomic<uint64_t>& a) {
    return std::vector<metrics::Sample>{{{}, static_cast<double>(a.load())}};
  };
  registry->GaugeFunction("ca_live_connections", "Open live-update streams (WebSocket and SSE).",
                          {}, [counts, value] { return value(counts->subscribers); });
  registry->GaugeFunction("ca_live_topics", "Live topics with at least one viewer.", {},
                          [counts, value] { return value(counts->topics); });
  registry->CounterFunction("ca_live_messages_sent_total",
                            "Live-update messages handed to connections.", {},
                            [counts, value] { return value(counts->sent); });
  registry->CounterFunction("ca_live_messages_coalesced_total",
                            "Stats messages replaced by a newer one before a slow client took "
                            "them.",
                            {}, [counts, value] { return value(counts->coalesced); });
  registry->CounterFunction("ca_live_messages_dropped_total",
                            "Event messages dropped for slow clients (their next message says "
                            "how many).",
                            {}, [counts, value] { return value(counts->dropped); });
}

LiveHub::~LiveHub() = default;

std::shared_ptr<Subscriber> LiveHub::Subscribe(const TopicKey& key) {
  std::lock_guard lock(mu_);
  if (subscribers_ >= options_.max_subscribers) return nullptr;
  auto subscriber = std::make_shared<Subscriber>(key, options_.subscriber, counts_);
  std::shared_ptr<Topic>& topic = topics_[key.Id()];
  if (topic == nullptr) topic = std::make_shared<Topic>();
  {
    std::lock_guard topic_lock(topic->mu_);
    topic->subscribers_.push_back(subscriber);
  }
  if (key.kind == "admin") ++admin_tenants_[key.tenant];
  ++subscribers_;
  counts_->subscribers.store(subscribers_);
  counts_->topics.store(topics_.size());
  return subscriber;
}

void LiveHub::Unsubscribe(const std::shared_ptr<Subscriber>& subscriber) {
  if (subscriber == nullptr) return;
  const TopicKey& key = subscriber->topic();
  std::lock_guard lock(mu_);
  auto it = topics_.find(key.Id());
  if (it == topics_.end()) return;
  bool removed = false;
  bool empty = false;
  {
    std::lock_guard topic_lock(it->second->mu_);
    auto& subs = it->second->subscribers_;
    auto found = std::find(subs.begin(), subs.end(), subscriber);
    if (found != subs.end()) {
      subs.erase(found);
      removed = true;
    }
    empty = subs.empty();
  }
  if (!removed) return;
  if (empty) topics_.erase(it);
  if (key.kind == "admin") {
    if (auto a = admin_tenants_.find(key.tenant); a != admin_tenants_.end() && --a->second == 0) {
      admin_tenants_.erase(a);
    }
  }
  --subscribers_;
  counts_->subscribers.store(subscribers_);
  counts_->topics.store(topics_.size());
}

std::shared_ptr<Topic> LiveHub::Find(const TopicKey& key) const {
  std::lock_guard lock(mu_);
  auto it = topics_.find(key.Id());
  return it == topics_.end() ? nullptr : it->second;
}

std::vector<std::string> LiveHub::AdminTenants() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(admin_tenants_.size());
  for (const auto& entry : admin_tenants_) out.push_back(entry.first);
  return out;
}

size_t LiveHub::topics() const {
  std::lock_guard lock(mu_);
  return topics_.size();
}

size_t LiveHub::subscribers() const {
  std::lock_guard lock(mu_);
  return subscribers_;
}

}  // namespace ca::realtime
