#include "realtime/live_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace ca::realtime {
namespace {

Subscriber::Message Msg(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

std::string EventText(int i) { return R"({"kind":"event","n":)" + std::to_string(i) + "}"; }

TEST(LiveHubTest, TwoViewersShareOneSubscription) {
  LiveHub hub({}, nullptr);
  auto a = hub.Subscribe(TopicKey::User("acme", "u1"));
  auto b = hub.Subscribe(TopicKey::User("acme", "u1"));
  auto other = hub.Subscribe(TopicKey::User("acme", "u2"));
  auto admin = hub.Subscribe(TopicKey::Admin("acme"));
  EXPECT_EQ(hub.subscribers(), 4u);
  EXPECT_EQ(hub.topics(), 3u);
  std::shared_ptr<Topic> topic = hub.Find(TopicKey::User("acme", "u1"));
  ASSERT_NE(topic, nullptr);
  EXPECT_EQ(topic->viewers(), 2u);
  EXPECT_EQ(hub.Find(TopicKey::User("acme", "u3")), nullptr);
  EXPECT_EQ(hub.Find(TopicKey::User("globex", "u1")), nullptr);

  topic->PublishEvent(Msg(EventText(1)));
  EXPECT_EQ(a->Next(), EventText(1));
  EXPECT_EQ(b->Next(), EventText(1));
  EXPECT_EQ(a->Next(), std::nullopt);
  EXPECT_EQ(other->Next(), std::nullopt);
  EXPECT_EQ(admin->Next(), std::nullopt);
  EXPECT_EQ(hub.AdminTenants(), std::vector<std::string>{"acme"});

  hub.Unsubscribe(a);
  hub.Unsubscribe(a);  // idempotent
  EXPECT_EQ(topic->viewers(), 1u);
  EXPECT_EQ(hub.Find(TopicKey::User("acme", "u1")), topic);
  hub.Unsubscribe(b);
  EXPECT_EQ(hub.Find(TopicKey::User("acme", "u1")), nullptr);
  hub.Unsubscribe(admin);
  EXPECT_TRUE(hub.AdminTenants().empty());
  EXPECT_EQ(hub.subscribers(), 1u);
  EXPECT_EQ(hub.topics(), 1u);
  EXPECT_EQ(hub.counts().sent.load(), 2u);
}

TEST(LiveHubTest, WakesOnceUntilTheOutboxIsEmptied) {
  LiveHub hub({}, nullptr);
  auto s = hub.Subscribe(TopicKey::Admin("acme"));
  s->PushEvent(Msg(EventText(0)));  // before the stream opened
  int wakes = 0;
  s->SetWake([&] { ++wakes; });
  EXPECT_EQ(wakes, 1);  // something already waited
  s->PushEvent(Msg(EventText(1)));
  s->PushStats(Msg(R"({"kind":"stats"})"));
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(s->Next(), EventText(0));
  EXPECT_EQ(s->Next(), EventText(1));
  EXPECT_EQ(s->Next(), R"({"kind":"stats"})");
  EXPECT_EQ(s->Next(), std::nullopt);
  s->PushEvent(Msg(EventText(2)));
  EXPECT_EQ(wakes, 2);
}

TEST(LiveHubTest, SlowSubscriberStaysBoundedCoalescesStatsAndCountsSkipped) {
  LiveHub::Options options;
  options.subscriber.max_events = 64;
  metrics::Registry registry;
  LiveHub hub(options, &registry);
  auto slow = hub.Subscribe(TopicKey::Admin("acme"));
  auto fast = hub.Subscribe(TopicKey::Admin("acme"));
  std::atomic<int> wakes{0};
  slow->SetWake([&] { ++wakes; });
  std::shared_ptr<Topic> topic = hub.Find(TopicKey::Admin("acme"));
  size_t max_bytes = 0;
  size_t fast_got = 0;
  constexpr int kEvents = 100'000;
  for (int i = 0; i < kEvents; ++i) {
    topic->PublishEvent(Msg(EventText(i)));
    if (i % 1000 == 0) {
      topic->PublishStats(Msg(R"({"kind":"stats","i":)" + std::to_string(i) + "}"));
    }
    max_bytes = std::max(max_bytes, slow->pending_bytes());
    ASSERT_LE(slow->pending_events(), 64u);
    ASSERT_LE(slow->pending(), 65u);
    while (fast->Next().has_value()) ++fast_got;  // a client that keeps up misses nothing
  }
  EXPECT_EQ(fast_got, kEvents + 100u);
  EXPECT_EQ(wakes.load(), 1);
  EXPECT_LE(max_bytes, 65u * 64);
  EXPECT_EQ(slow->pending_events(), 64u);
  EXPECT_EQ(slow->skipped(), static_cast<uint64_t>(kEvents - 64));

  // The one stats message waiting is the latest (it kept its place: the first was queued after
  // event 0, when the outbox still had room).
  std::vector<std::string> got;
  while (auto m = slow->Next()) got.push_back(*m);
  ASSERT_EQ(got.size(), 65u);
  int stats = 0;
  for (const std::string& m : got) {
    auto j = nlohmann::json::parse(m);
    if (j["kind"] == "stats") {
      ++stats;
      EXPECT_EQ(j["i"], 99'000);
    }
  }
  EXPECT_EQ(stats, 1);
  // The first message taken reports every dropped event, and only it; the events are the latest.
  auto first = nlohmann::json::parse(got[0]);
  EXPECT_EQ(first["skipped"], kEvents - 64);
  EXPECT_EQ(nlohmann::json::parse(got[1]).count("skipped"), 0u);
  EXPECT_EQ(nlohmann::json::parse(got.back())["n"], kEvents - 1);
  EXPECT_EQ(hub.counts().dropped.load(), static_cast<uint64_t>(kEvents - 64));
  EXPECT_EQ(hub.counts().coalesced.load(), 99u);

  const std::string text = registry.Render();
  EXPECT_NE(text.find("ca_live_connections 2"), std::string::npos) << text;
  EXPECT_NE(text.find("ca_live_topics 1"), std::string::npos) << text;
  EXPECT_NE(text.find("ca_live_messages_dropped_total 99936"), std::string::npos) << text;
  EXPECT_NE(text.find("ca_live_messages_coalesced_total 99"), std::string::npos) << text;
}

TEST(LiveHubTest, ByteBoundDropsLargeEvents) {
  LiveHub::Options options;
  options.subscriber.max_bytes = 1000;
  LiveHub hub(options, nullptr);
  auto s = hub.Subscribe(TopicKey::User("acme", "u1"));
  for (int i = 0; i < 10; ++i) s->PushEvent(Msg(std::string(300, 'x')));
  EXPECT_LE(s->pending_bytes(), 1000u);
  EXPECT_EQ(s->pending_events(), 3u);
  EXPECT_EQ(s->skipped(), 7u);
  s->PushEvent(Msg(std::string(2000, 'x')));  // never fits: dropped alone
  EXPECT_EQ(s->skipped(), 8u);
  EXPECT_EQ(s->pending_events(), 3u);
}

TEST(LiveHubTest, SubscribersAreCapped) {
  LiveHub::Options options;
  options.max_subscribers = 2;
  LiveHub hub(options, nullptr);
  auto a = hub.Subscribe(TopicKey::Admin("acme"));
  auto b = hub.Subscribe(TopicKey::Admin("acme"));
  EXPECT_EQ(hub.Subscribe(TopicKey::Admin("acme")), nullptr);
  hub.Unsubscribe(a);
  EXPECT_NE(hub.Subscribe(TopicKey::Admin("acme")), nullptr);
}

TEST(LiveHubTest, ConcurrentPublishSubscribeAndTake) {
  LiveHub hub({}, nullptr);
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    int i = 0;
    while (!stop) {
      if (auto t = hub.Find(TopicKey::User("acme", "u1"))) t->PublishEvent(Msg(EventText(i++)));
      if (auto t = hub.Find(TopicKey::Admin("acme"))) t->PublishStats(Msg(R"({"kind":"stats"})"));
    }
  });
  for (int round = 0; round < 200; ++round) {
    auto a = hub.Subscribe(TopicKey::User("acme", "u1"));
    auto b = hub.Subscribe(TopicKey::Admin("acme"));
    for (int k = 0; k < 10; ++k) {
      while (a->Next()) {
      }
      while (b->Next()) {
      }
    }
    hub.Unsubscribe(a);
    hub.Unsubscribe(b);
  }
  stop = true;
  publisher.join();
  EXPECT_EQ(hub.subscribers(), 0u);
  EXPECT_EQ(hub.topics(), 0u);
}

}  // namespace
}  // namespace ca::realtime
