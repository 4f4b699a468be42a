#include "store/dictionary.h"

#include <gtest/gtest.h>

#include <string>

#include "io/env.h"
#include "wal/wal_test_util.h"

namespace ca::store {
namespace {

using wal::testing::TempDir;

TEST(DictionaryTest, AssignsDenseIdsInOrderOfFirstSight) {
  Dictionary d;
  EXPECT_EQ(d.GetOrAdd(""), 0u);
  EXPECT_EQ(d.GetOrAdd("alice"), 1u);
  EXPECT_EQ(d.GetOrAdd("bob"), 2u);
  EXPECT_EQ(d.GetOrAdd("alice"), 1u);
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.Name(2), "bob");
  EXPECT_EQ(d.Name(0), "");
  EXPECT_EQ(d.Find("bob"), 2u);
  EXPECT_EQ(d.Find("carol"), std::nullopt);
}

TEST(DictionaryTest, ManyEntriesSurviveGrowthAndReopen) {
  TempDir dir;
  const std::string path = dir.path() + "/users.dict";
  {
    auto d = Dictionary::Open(io::Env::Default(), path);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    for (int i = 0; i < 100000; ++i) ASSERT_EQ((*d)->GetOrAdd("user-" + std::to_string(i)), i + 1);
    ASSERT_TRUE((*d)->Persist().ok());
    (*d)->GetOrAdd("not-persisted");
  }
  auto d = Dictionary::Open(io::Env::Default(), path);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)->size(), 100001u);
  EXPECT_EQ((*d)->Find("user-4242"), 4243u);
  EXPECT_EQ((*d)->Name(100000), "user-99999");
  EXPECT_EQ((*d)->Find("not-persisted"), std::nullopt);
}

TEST(DictionaryTest, TornLastRecordIsCutAndEarlierDamageRefused) {
  TempDir dir;
  const std::string path = dir.path() + "/t.dict";
  io::Env* env = io::Env::Default();
  {
    auto d = std::move(Dictionary::Open(env, path)).value();
    d->GetOrAdd("a");
    ASSERT_TRUE(d->Persist().ok());
    d->GetOrAdd("b");
    ASSERT_TRUE(d->Persist().ok());
  }
  auto size = *env->GetFileSize(path);
  ASSERT_TRUE(env->TruncateFile(path, size - 1).ok());  // tear the second record
  {
    auto d = Dictionary::Open(env, path);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ((*d)->size(), 2u);
    EXPECT_EQ((*d)->GetOrAdd("c"), 2u);
    ASSERT_TRUE((*d)->Persist().ok());
    (*d)->GetOrAdd("d");
    ASSERT_TRUE((*d)->Persist().ok());
  }
  // Damage the first record's payload: a later record follows, so this is corruption.
  std::string data = *io::ReadFileToString(env, path);
  data[8 + 12] ^= 0x40;
  ASSERT_TRUE(io::WriteFileAtomically(env, path, data).ok());
  auto d = Dictionary::Open(env, path);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), ErrorCode::kCorruption);
}

}  // namespace
}  // namespace ca::store
