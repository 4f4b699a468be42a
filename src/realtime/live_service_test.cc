#include "realtime/live_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "realtime/messages.h"

namespace ca::realtime {
namespace {

constexpr int64_t kNow = 1'750'000'000'000;

event::Event Ev(std::string tenant, std::string user, std::string type, std::string props = "{}") {
  event::Event e;
  e.tenant = std::move(tenant);
  e.event_id = "e-" + user + "-" + type;
  e.type = std::move(type);
  e.user_id = std::move(user);
  e.timestamp_ms = kNow - 1500;
  e.received_at_ms = kNow;
  e.properties_json = std::move(props);
  return e;
}

nlohmann::json Take(Subscriber& s) {
  auto m = s.Next();
  if (!m) return nullptr;
  return nlohmann::json::parse(*m);
}

TEST(LiveServiceTest, TheWholeEventIsAskedForOnlyWhenSomeoneWatches) {
  int64_t now = kNow;
  LiveService live({}, nullptr, [&] { return now; });
  const event::Event whole = Ev("acme", "u1", "job_apply", R"({"job_id":"j1"})");
  event::Event head = whole;
  head.properties_json.clear();
  int asked = 0;
  auto full = [&]() -> const event::Event& {
    ++asked;
    return whole;
  };
  live.OnEvent(head, full);  // nobody watches acme yet: only counted
  EXPECT_EQ(asked, 0);
  auto u1 = live.Subscribe(TopicKey::User("acme", "u1"));
  Take(*u1);  // hello
  live.OnEvent(head, full);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(Take(*u1)["event"]["properties"]["job_id"], "j1");
}

TEST(LiveServiceTest, EventsReachTheirUserAndTheAdminTopicOnly) {
  int64_t now = kNow;
  LiveService live({}, nullptr, [&] { return now; });
  auto u1 = live.Subscribe(TopicKey::User("acme", "u1"));
  auto u1_again = live.Subscribe(TopicKey::User("acme", "u1"));
  auto u2 = live.Subscribe(TopicKey::User("acme", "u2"));
  auto admin = live.Subscribe(TopicKey::Admin("acme"));
  auto other_admin = live.Subscribe(TopicKey::Admin("globex"));
  EXPECT_EQ(Take(*u1)["kind"], "hello");
  EXPECT_EQ(Take(*u1_again)["user_id"], "u1");
  EXPECT_EQ(Take(*u2)["kind"], "hello");
  EXPECT_EQ(Take(*admin)["topic"], "admin");
  EXPECT_EQ(Take(*admin)["kind"], "stats");  // the current figures at once
  Take(*other_admin);
  Take(*other_admin);

  live.OnEvent(Ev("acme", "u1", "job_apply", R"({"job_id":"j1"})"));
  for (Subscriber* s : {u1.get(), u1_again.get(), admin.get()}) {
    nlohmann::json m = Take(*s);
    ASSERT_FALSE(m.is_null());
    EXPECT_EQ(m["kind"], "event");
    EXPECT_EQ(m["event"]["type"], "job_apply");
    EXPECT_EQ(m["event"]["user_id"], "u1");
    EXPECT_EQ(m["event"]["timestamp"], "2025-06-15T15:06:38.500Z");
    EXPECT_EQ(m["event"]["properties"]["job_id"], "j1");
  }
  EXPECT_TRUE(Take(*u2).is_null());
  EXPECT_TRUE(Take(*other_admin).is_null());

  // Anonymous events go to the admin view only.
  event::Event anonymous = Ev("acme", "", "page_view");
  anonymous.anonymous_id = "anon-1";
  live.OnEvent(anonymous);
  EXPECT_EQ(Take(*admin)["event"]["anonymous_id"], "anon-1");
  EXPECT_TRUE(Take(*u1).is_null());

  live.PublishStats();
  nlohmann::json stats = Take(*admin);
  EXPECT_EQ(stats["kind"], "stats");
  EXPECT_EQ(stats["events_last_minute"], 2);
  EXPECT_EQ(stats["active_users"], 1);
  EXPECT_EQ(stats["per_second"].size(), 60u);
  EXPECT_EQ(stats["types_last_minute"]["job_apply"], 1);
  EXPECT_TRUE(Take(*u1).is_null());  // user topics get no stats
  now += 1000;
  live.PublishStats();
  EXPECT_GT(Take(*admin)["events_per_second"].get<double>(), 0);
}

TEST(LiveServiceTest, LargePropertiesAreCut) {
  LiveService::Options options;
  options.max_properties_bytes = 32;
  LiveService live(options, nullptr);
  auto s = live.Subscribe(TopicKey::User("acme", "u1"));
  Take(*s);
  live.OnEvent(Ev("acme", "u1", "search", R"({"query":")" + std::string(100, 'q') + R"("})"));
  nlohmann::json m = Take(*s);
  EXPECT_EQ(m["event"]["properties"], nlohmann::json::object());
  EXPECT_EQ(m["event"]["properties_truncated"], true);
}

TEST(LiveServiceTest, EventMessageEscapesStrings) {
  event::Event e = Ev("acme", "u\"1\n", "custom");
  auto j = nlohmann::json::parse(EventMessage(e, 4096));
  EXPECT_EQ(j["event"]["user_id"], "u\"1\n");
}

TEST(LiveServiceTest, TheTickerPublishesStatsToWatchedAdminTopics) {
  LiveService::Options options;
  options.tick = std::chrono::milliseconds(20);
  LiveService live(options, nullptr);
  auto admin = live.Subscribe(TopicKey::Admin("acme"));
  std::atomic<int> wakes{0};
  admin->SetWake([&] { ++wakes; });
  while (admin->Next()) {
  }
  live.Start();
  live.OnEvent(Ev("acme", "u1", "login"));
  for (int i = 0; i < 500 && wakes.load() < 3; ++i) {
    while (admin->Next()) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(wakes.load(), 3);
  live.Stop();
  live.Stop();
}

}  // namespace
}  // namespace ca::realtime
