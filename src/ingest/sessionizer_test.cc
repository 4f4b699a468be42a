#include "ingest/sessionizer.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace ca::ingest {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kT0 = 1'795'838'400'000;

SessionContext Entry(std::string path) {
  SessionContext c;
  c.entry_path = std::move(path);
  c.channel = "search";
  return c;
}

TEST(SessionizerTest, ThirtyMinutesOfInactivityStartANewSession) {
  Sessionizer s;
  SessionContext a = s.Assign("acme", "u1", kT0, kT0, Entry("/jobs"));
  SessionContext b = s.Assign("acme", "u1", kT0 + 29 * kMinute, kT0, Entry("/other"));
  SessionContext c = s.Assign("acme", "u1", kT0 + 58 * kMinute, kT0, Entry("/later"));
  SessionContext d = s.Assign("acme", "u1", kT0 + 88 * kMinute + 1, kT0, Entry("/next"));
  EXPECT_FALSE(a.id.empty());
  EXPECT_EQ(b.id, a.id);
  EXPECT_EQ(b.entry_path, "/jobs");  // the session's context is its first event's
  EXPECT_EQ(c.id, a.id);             // 29 minutes after the previous event
  EXPECT_NE(d.id, a.id);             // 30 minutes and 1 ms after it
  EXPECT_EQ(d.entry_path, "/next");
}

TEST(SessionizerTest, TheFirstPageIsTheEntryEvenAfterAnEventWithoutOne) {
  Sessionizer s;
  SessionContext login = s.Assign("acme", "u1", kT0, kT0, SessionContext());
  SessionContext page = s.Assign("acme", "u1", kT0 + kMinute, kT0, Entry("/jobs"));
  SessionContext later = s.Assign("acme", "u1", kT0 + 2 * kMinute, kT0, Entry("/other"));
  EXPECT_EQ(page.id, login.id);
  EXPECT_EQ(page.entry_path, "/jobs");
  EXPECT_EQ(later.entry_path, "/jobs");
  EXPECT_EQ(later.channel, "search");
}

TEST(SessionizerTest, SendersAndTenantsAreApartAndIdsAreStable) {
  Sessionizer s, again;
  const std::string a = s.Assign("acme", "u1", kT0, kT0, {}).id;
  EXPECT_NE(s.Assign("acme", "u2", kT0, kT0, {}).id, a);
  EXPECT_NE(s.Assign("beta", "u1", kT0, kT0, {}).id, a);
  EXPECT_EQ(again.Assign("acme", "u1", kT0, kT0, {}).id, a);  // same history, same id
}

TEST(SessionizerTest, OutOfOrderEventsJoinTheSessionTheyBelongTo) {
  Sessionizer s;
  const std::string a = s.Assign("acme", "u1", kT0, kT0, {}).id;
  EXPECT_EQ(s.Assign("acme", "u1", kT0 - 10 * kMinute, kT0, {}).id, a);
  // Hours earlier: a session of its own, which leaves the open one alone.
  const std::string old = s.Assign("acme", "u1", kT0 - 5 * 60 * kMinute, kT0, {}).id;
  EXPECT_NE(old, a);
  EXPECT_EQ(s.Assign("acme", "u1", kT0 + kMinute, kT0, {}).id, a);
}

TEST(SessionizerTest, EnrichmentGetsTheSessionRenderedOnce) {
  Sessionizer s;
  Sessionizer::Rendered out;
  const SessionSeed seed{"/jobs", "google.com", "search", "", "", "w48"};
  s.Assign("acme", "u1", kT0, kT0, seed, &out);
  EXPECT_EQ(out.members_after_id,
            R"(,"entry_path":"/jobs","referrer_host":"google.com","channel":"search",)"
            R"("utm_campaign":"w48")");
  const std::string id = out.id;
  EXPECT_EQ(id, s.Assign("acme", "u1", kT0, kT0, SessionContext()).id);
  // A later event of the session gets the same, whatever its own page.
  s.Assign("acme", "u1", kT0 + kMinute, kT0, SessionSeed{"/other", "", "direct"}, &out);
  EXPECT_EQ(out.id, id);
  EXPECT_EQ(out.members_after_id.substr(0, 22), R"(,"entry_path":"/jobs",)");
  // A session without a page has nothing after its id.
  s.Assign("acme", "u2", kT0, kT0, SessionSeed{}, &out);
  EXPECT_EQ(out.members_after_id, "");
  EXPECT_NE(out.id, id);
}

TEST(SessionizerTest, MemoryStaysBounded) {
  Sessionizer::Options options;
  options.max_senders = 160;  // 10 per shard
  Sessionizer s(options);
  for (int i = 0; i < 10'000; ++i) {
    s.Assign("acme", "u" + std::to_string(i), kT0, kT0 + i, {});
  }
  EXPECT_LE(s.open_sessions(), 160u);
  EXPECT_GT(s.open_sessions(), 0u);
}

TEST(SessionizerTest, ConcurrentSendersEachGetOneSession) {
  Sessionizer s;
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        std::string id = s.Assign("acme", "u" + std::to_string(t), kT0 + i * kMinute, kT0, {}).id;
        if (i == 0) ids[t] = id;
        if (id != ids[t]) ADD_FAILURE() << "sender " << t << " changed session at " << i;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(s.open_sessions(), 8u);
}

}  // namespace
}  // namespace ca::ingest
