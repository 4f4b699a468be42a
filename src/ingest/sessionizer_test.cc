#include "ingest/sessionizer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include <string>
#include <thread>
#include <vector>

namespace ca::ingest {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kT0 = 1'795'838'400'000;

SessionSeed Entry(std::string_view path) { return SessionSeed{path, "", "search"}; }

// The entry page of a rendered session.
std::string EntryPath(const Sessionizer::Rendered& session) {
  const std::string key = R"(,"entry_path":")";
  const size_t at = session.members_after_id.find(key);
  if (at == std::string::npos) return "";
  const size_t begin = at + key.size();
  return session.members_after_id.substr(begin, session.members_after_id.find('"', begin) - begin);
}

TEST(SessionizerTest, ThirtyMinutesOfInactivityStartANewSession) {
  Sessionizer s;
  Sessionizer::Rendered a = s.Assign("acme", "u1", kT0, kT0, Entry("/jobs"));
  Sessionizer::Rendered b = s.Assign("acme", "u1", kT0 + 29 * kMinute, kT0, Entry("/other"));
  Sessionizer::Rendered c = s.Assign("acme", "u1", kT0 + 58 * kMinute, kT0, Entry("/later"));
  Sessionizer::Rendered d = s.Assign("acme", "u1", kT0 + 88 * kMinute + 1, kT0, Entry("/next"));
  EXPECT_FALSE(a.id.empty());
  EXPECT_EQ(b.id, a.id);
  EXPECT_EQ(EntryPath(b), "/jobs");  // the session's context is its first event's
  EXPECT_EQ(c.id, a.id);             // 29 minutes after the previous event
  EXPECT_NE(d.id, a.id);             // 30 minutes and 1 ms after it
  EXPECT_EQ(EntryPath(d), "/next");
}

TEST(SessionizerTest, TheFirstPageIsTheEntryEvenAfterAnEventWithoutOne) {
  Sessionizer s;
  Sessionizer::Rendered login = s.Assign("acme", "u1", kT0, kT0);
  Sessionizer::Rendered page = s.Assign("acme", "u1", kT0 + kMinute, kT0, Entry("/jobs"));
  Sessionizer::Rendered later = s.Assign("acme", "u1", kT0 + 2 * kMinute, kT0, Entry("/other"));
  EXPECT_EQ(login.members_after_id, "");
  EXPECT_EQ(page.id, login.id);
  EXPECT_EQ(EntryPath(page), "/jobs");
  EXPECT_EQ(later.members_after_id, R"(,"entry_path":"/jobs","channel":"search")");
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
  out = s.Assign("acme", "u1", kT0, kT0, seed);
  EXPECT_EQ(out.members_after_id,
            R"(,"entry_path":"/jobs","referrer_host":"google.com","channel":"search",)"
            R"("utm_campaign":"w48")");
  const std::string id = out.id;
  EXPECT_EQ(id, s.Assign("acme", "u1", kT0, kT0).id);
  // A later event of the session gets the same, whatever its own page.
  out = s.Assign("acme", "u1", kT0 + kMinute, kT0, SessionSeed{"/other", "", "direct"});
  EXPECT_EQ(out.id, id);
  EXPECT_EQ(out.members_after_id.substr(0, 22), R"(,"entry_path":"/jobs",)");
  // A session without a page has nothing after its id.
  s.Assign(Sessionizer::KeyOf("acme", "u2"), kT0, kT0, SessionSeed{}, &out);
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

class SessionizerFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "ca_sessions_XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    path_ = dir_ + "/sessions";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  io::Env* env_ = io::Env::Default();
  std::string dir_, path_;
};

TEST_F(SessionizerFileTest, VisitsGoingOnAcrossARestartStayOneSession) {
  Sessionizer before;
  const Sessionizer::Rendered going_on = before.Assign("acme", "u1", kT0, kT0, Entry("/jobs"));
  const Sessionizer::Rendered idle =
      before.Assign("acme", "u2", kT0 - 120 * kMinute, kT0 - 120 * kMinute, Entry("/old"));
  ASSERT_TRUE(before.Save(env_, path_, kT0 + kMinute).ok());

  Sessionizer after;
  ASSERT_TRUE(after.Load(env_, path_, kT0 + 5 * kMinute).ok());
  EXPECT_EQ(after.open_sessions(), 1u);  // u2's was idle longer than the gap
  const Sessionizer::Rendered next =
      after.Assign("acme", "u1", kT0 + 10 * kMinute, kT0 + 10 * kMinute, Entry("/other"));
  EXPECT_EQ(next.id, going_on.id);
  EXPECT_EQ(EntryPath(next), "/jobs");
  const Sessionizer::Rendered fresh =
      after.Assign("acme", "u2", kT0 + 10 * kMinute, kT0 + 10 * kMinute, Entry("/new"));
  EXPECT_NE(fresh.id, idle.id);
  EXPECT_EQ(EntryPath(fresh), "/new");

  // Loaded long after the stop: nothing is still going on.
  Sessionizer much_later;
  ASSERT_TRUE(much_later.Load(env_, path_, kT0 + 60 * kMinute).ok());
  EXPECT_EQ(much_later.open_sessions(), 0u);
}

TEST_F(SessionizerFileTest, AMissingFileIsNoErrorAndADamagedOneTakesNothingIn) {
  Sessionizer s;
  EXPECT_TRUE(s.Load(env_, path_, kT0).ok());
  Sessionizer saved;
  saved.Assign("acme", "u1", kT0, kT0, Entry("/jobs"));
  ASSERT_TRUE(saved.Save(env_, path_, kT0).ok());
  auto file = io::ReadFileToString(env_, path_);
  ASSERT_TRUE(file.ok());
  for (size_t at : {size_t{0}, size_t{9}, file->size() / 2, file->size() - 1}) {
    std::string damaged = *file;
    damaged[at] ^= 0x20;
    ASSERT_TRUE(io::WriteFileAtomically(env_, path_, damaged).ok());
    const Status loaded = s.Load(env_, path_, kT0);
    EXPECT_EQ(loaded.code(), ErrorCode::kCorruption) << at;
    EXPECT_NE(loaded.message().find(path_), std::string::npos);
    EXPECT_EQ(s.open_sessions(), 0u);
  }
  ASSERT_TRUE(io::WriteFileAtomically(env_, path_, file->substr(0, file->size() - 3)).ok());
  EXPECT_EQ(s.Load(env_, path_, kT0).code(), ErrorCode::kCorruption);
}

}  // namespace
}  // namespace ca::ingest
