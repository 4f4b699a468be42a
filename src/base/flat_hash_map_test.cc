#include "base/flat_hash_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace ca {
namespace {

TEST(FlatHashMapTest, FindsWhatWasInsertedAcrossGrowth) {
  FlatHashMap<std::string> map(2);
  bool inserted = false;
  for (uint64_t h = 0; h < 1000; ++h) {
    map.FindOrInsert(h * 0x9E3779B97F4A7C15ULL, &inserted) = std::to_string(h);
    EXPECT_TRUE(inserted);
  }
  EXPECT_EQ(map.size(), 1000u);
  for (uint64_t h = 0; h < 1000; ++h) {
    const std::string* value = map.Find(h * 0x9E3779B97F4A7C15ULL);
    ASSERT_NE(value, nullptr) << h;
    EXPECT_EQ(*value, std::to_string(h));
  }
  EXPECT_EQ(map.Find(12345), nullptr);
  EXPECT_EQ(*map.Find(0), "0");  // 0 is kept as 1 (one key), which the loop did not use
}

TEST(FlatHashMapTest, EraseIfKeepsTheRestFindableAndAgreesWithAMap) {
  // Colliding hashes (same low bits) make long probe runs for EraseIf to rebuild.
  FlatHashMap<int> map;
  std::map<uint64_t, int> expected;
  std::mt19937_64 random(7);
  bool inserted;
  for (int i = 0; i < 5000; ++i) {
    const uint64_t hash = (1 + random() % 300) << 20 | (random() % 4);
    map.FindOrInsert(hash, &inserted) = i;
    expected[hash] = i;
  }
  EXPECT_EQ(map.size(), expected.size());
  const size_t dropped = map.EraseIf([](int v) { return v % 3 == 0; });
  size_t expected_dropped =
      std::erase_if(expected, [](const auto& kv) { return kv.second % 3 == 0; });
  EXPECT_EQ(dropped, expected_dropped);
  EXPECT_EQ(map.size(), expected.size());
  for (const auto& [hash, value] : expected) {
    const int* found = map.Find(hash);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(*found, value);
  }
  size_t visited = 0;
  map.ForEachEntry([&](uint64_t, int v) {
    EXPECT_NE(v % 3, 0);
    ++visited;
  });
  EXPECT_EQ(visited, expected.size());
  map.clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.Find(expected.begin()->first), nullptr);
}

}  // namespace
}  // namespace ca
