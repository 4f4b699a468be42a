#include "ingest/ingest_fence.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <thread>
#include <vector>

namespace ca::ingest {
namespace {

using namespace std::chrono_literals;

TEST(IngestFenceTest, DrainWaitsForTheTicketsTakenBeforeIt) {
  IngestFence fence;
  std::optional<IngestFence::Ticket> first(fence.Enter());
  std::optional<IngestFence::Ticket> second(fence.Enter());
  EXPECT_EQ(fence.held(), 2u);
  auto drained = std::async(std::launch::async, [&] { return fence.Drain(10'000); });
  EXPECT_EQ(drained.wait_for(100ms), std::future_status::timeout);
  first.reset();
  EXPECT_EQ(drained.wait_for(100ms), std::future_status::timeout);  // one is still held
  second.reset();
  EXPECT_TRUE(drained.get());
  EXPECT_EQ(fence.held(), 0u);
}

TEST(IngestFenceTest, TicketsTakenDuringADrainAreNotWaitedFor) {
  IngestFence fence;
  std::optional<IngestFence::Ticket> before(fence.Enter());
  std::atomic<bool> started{false};
  auto drained = std::async(std::launch::async, [&] {
    started = true;
    return fence.Drain(10'000);
  });
  while (!started.load()) std::this_thread::yield();
  std::this_thread::sleep_for(50ms);  // the drain is waiting now
  // New requests come in and stay: the drain ends when `before` goes all the same.
  IngestFence::Ticket during = fence.Enter();
  EXPECT_EQ(drained.wait_for(50ms), std::future_status::timeout);
  before.reset();
  ASSERT_EQ(drained.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(drained.get());
  EXPECT_EQ(fence.held(), 1u);
}

TEST(IngestFenceTest, ADrainThatTimesOutLeavesTheNextOneWaitingForTheSameTickets) {
  IngestFence fence;
  std::optional<IngestFence::Ticket> old(fence.Enter());
  EXPECT_FALSE(fence.Drain(20));
  std::optional<IngestFence::Ticket> newer(fence.Enter());
  EXPECT_FALSE(fence.Drain(20));  // `old` still holds it, whatever came since
  old.reset();
  EXPECT_FALSE(fence.Drain(20));  // `newer` was taken before this drain
  newer.reset();
  EXPECT_TRUE(fence.Drain(20));
}

TEST(IngestFenceTest, AMovedTicketIsReleasedOnce) {
  IngestFence fence;
  {
    IngestFence::Ticket a = fence.Enter();
    IngestFence::Ticket b(std::move(a));
    EXPECT_EQ(fence.held(), 1u);
  }
  EXPECT_EQ(fence.held(), 0u);
  EXPECT_TRUE(fence.Drain(0));
}

// Many requests and drains at once: every drain returns only after the tickets of the requests
// that were inside when it began are gone.
TEST(IngestFenceTest, UnderConcurrentRequestsEachDrainOutlivesTheRequestsBeforeIt) {
  IngestFence fence;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> next{1};
  // Each request publishes its number while it holds its ticket, 0 when it has none.
  std::vector<std::atomic<uint64_t>> inside(4);
  std::vector<std::thread> requests;
  for (size_t r = 0; r < inside.size(); ++r) {
    requests.emplace_back([&, r] {
      while (!stop.load()) {
        IngestFence::Ticket ticket = fence.Enter();
        inside[r].store(next.fetch_add(1));
        std::this_thread::yield();
        inside[r].store(0);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    std::vector<uint64_t> seen;
    for (auto& n : inside) seen.push_back(n.load());
    ASSERT_TRUE(fence.Drain(10'000));
    for (size_t r = 0; r < inside.size(); ++r) {
      // The request seen inside before the drain has left: its slot now holds 0 or a later one.
      const uint64_t now = inside[r].load();
      if (seen[r] != 0) {
        EXPECT_TRUE(now == 0 || now > seen[r]) << seen[r] << " still inside";
      }
    }
  }
  stop = true;
  for (auto& t : requests) t.join();
}

}  // namespace
}  // namespace ca::ingest
