#include "realtime/live_service.h"

#include "base/clock.h"
#include "realtime/messages.h"

namespace ca::realtime {

LiveService::LiveService(Options options, metrics::Registry* registry, Clock clock)
    : options_(options),
      clock_(clock ? std::move(clock) : Clock([] { return NowMillis(); })),
      windows_(options.windows),
      hub_(options.hub, registry) {}

LiveService::~LiveService() { Stop(); }

void LiveService::Start() {
  std::lock_guard lock(mu_);
  if (ticker_.joinable() || stop_) return;
  ticker_ = std::thread([this] { Run(); });
}

void LiveService::Stop() {
  std::thread ticker;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    ticker = std::move(ticker_);
  }
  wake_.notify_all();
  if (ticker.joinable()) ticker.join();
}

void LiveService::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, options_.tick, [&] { return stop_; });
    if (stop_) return;
    lock.unlock();
    PublishStats();
    lock.lock();
  }
}

void LiveService::OnEvent(const event::Event& e) {
  OnEvent(e, [&e]() -> const event::Event& { return e; });
}

void LiveService::OnEvent(const event::Event& e, const std::function<const event::Event&()>& full) {
  windows_.Record(e.tenant, e.type, e.user_id, clock_());
  std::shared_ptr<Topic> user =
      e.user_id.empty() ? nullptr : hub_.Find(TopicKey::User(e.tenant, e.user_id));
  std::shared_ptr<Topic> admin = hub_.Find(TopicKey::Admin(e.tenant));
  if (user == nullptr && admin == nullptr) return;  // nobody watches: no message to build
  auto message =
      std::make_shared<const std::string>(EventMessage(full(), options_.max_properties_bytes));
  if (user != nullptr) user->PublishEvent(message);
  if (admin != nullptr) admin->PublishEvent(message);
}

std::shared_ptr<Subscriber> LiveService::Subscribe(const TopicKey& topic) {
  std::shared_ptr<Subscriber> subscriber = hub_.Subscribe(topic);
  if (subscriber == nullptr) return nullptr;
  subscriber->PushEvent(std::make_shared<const std::string>(HelloMessage(topic)));
  if (topic.kind == "admin") {
    subscriber->PushStats(std::make_shared<const std::string>(
        StatsMessage(windows_.Snapshot(topic.tenant, clock_()))));
  }
  return subscriber;
}

void LiveService::Unsubscribe(const std::shared_ptr<Subscriber>& subscriber) {
  hub_.Unsubscribe(subscriber);
}

void LiveService::PublishStats() {
  for (const std::string& tenant : hub_.AdminTenants()) {
    std::shared_ptr<Topic> topic = hub_.Find(TopicKey::Admin(tenant));
    if (topic == nullptr) continue;
    topic->PublishStats(
        std::make_shared<const std::string>(StatsMessage(windows_.Snapshot(tenant, clock_()))));
  }
}

}  // namespace ca::realtime
