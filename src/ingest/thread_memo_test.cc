#include "ingest/thread_memo.h"

#include <gtest/gtest.h>

#include <string>

namespace ca::ingest {
namespace {

TEST(ThreadMemoTest, KeepsValuesPerOwnerAndKey) {
  ThreadMemo<std::string> memo(16);
  const uint64_t a = NewMemoOwner(), b = NewMemoOwner();
  EXPECT_NE(a, b);
  EXPECT_EQ(memo.Find(a, "k"), nullptr);
  EXPECT_EQ(memo.Put(a, "k", "for a"), "for a");
  ASSERT_NE(memo.Find(a, "k"), nullptr);
  EXPECT_EQ(*memo.Find(a, "k"), "for a");
  EXPECT_EQ(memo.Find(b, "k"), nullptr);  // another owner's entry is not seen
  EXPECT_EQ(memo.Find(a, "K"), nullptr);
  EXPECT_EQ(memo.Find(a, ""), nullptr);
  memo.Put(a, "", "empty key");
  EXPECT_EQ(*memo.Find(a, ""), "empty key");
}

TEST(ThreadMemoTest, AFullMemoForgetsWhatWasUsedLongestAgo) {
  ThreadMemo<int> memo(64);
  const uint64_t owner = NewMemoOwner();
  // A key used all along survives thousands of others passing through.
  memo.Put(owner, "hot", 1);
  int found = 0;
  for (int i = 0; i < 5000; ++i) {
    memo.Put(owner, "cold-" + std::to_string(i), i);
    if (const int* hot = memo.Find(owner, "hot")) found += *hot;
  }
  EXPECT_EQ(found, 5000);
  // The memo holds at most its slots: most cold keys are gone, the last one is there.
  int kept = 0;
  for (int i = 0; i < 5000; ++i) kept += memo.Find(owner, "cold-" + std::to_string(i)) != nullptr;
  EXPECT_LE(kept, 64);
  EXPECT_NE(memo.Find(owner, "cold-4999"), nullptr);
}

}  // namespace
}  // namespace ca::ingest
