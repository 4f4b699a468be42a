#include "store/manifest.h"

#include <gtest/gtest.h>

#include "wal/wal_test_util.h"

namespace ca::store {
namespace {

using wal::testing::TempDir;

TEST(ManifestTest, RoundTripsAndAbsentIsEmpty) {
  TempDir dir;
  io::Env* env = io::Env::Default();
  auto empty = ReadManifest(env, dir.path());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, ManifestData{});
  ManifestData m;
  m.checkpoint_lsn = 12345;
  m.next_part_id = 7;
  m.parts = {{"demo", "demo/parts/00020000-000000000001.part"}};
  m.tombstones = {{"del-1", "demo", "user-7", 1234, 42, 0}};
  ASSERT_TRUE(WriteManifest(env, dir.path(), m).ok());
  auto back = ReadManifest(env, dir.path());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, m);
}

TEST(ManifestTest, DamageAndEscapingPathsAreCorruption) {
  TempDir dir;
  io::Env* env = io::Env::Default();
  ManifestData m;
  m.parts = {{"demo", "demo/parts/a.part"}};
  ASSERT_TRUE(WriteManifest(env, dir.path(), m).ok());
  std::string data = *io::ReadFileToString(env, dir.path() + "/MANIFEST");
  for (size_t i : {size_t{0}, size_t{9}, data.size() - 3}) {
    std::string bad = data;
    bad[i] ^= 1;
    ASSERT_TRUE(io::WriteFileAtomically(env, dir.path() + "/MANIFEST", bad).ok());
    auto r = ReadManifest(env, dir.path());
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().code(), ErrorCode::kCorruption);
  }
  m.parts = {{"demo", "demo/parts/../../etc/passwd"}};
  ASSERT_TRUE(WriteManifest(env, dir.path(), m).ok());
  EXPECT_EQ(ReadManifest(env, dir.path()).status().code(), ErrorCode::kCorruption);
}

}  // namespace
}  // namespace ca::store
