#include "store/user_rows.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "store/granule_cache.h"
#include "store/part_format.h"

namespace ca::store {
namespace {

// Rows of users 1..12 (user 5 has none; user 7 spans several granules), sorted by (user, time).
ColumnBatch Rows() {
  std::mt19937 rng(7);
  ColumnBatch b;
  for (uint32_t user = 1; user <= 12; ++user) {
    const int rows = user == 5 ? 0 : user == 7 ? 40 : static_cast<int>(rng() % 9) + 1;
    for (int i = 0; i < rows; ++i) {
      b.timestamp.push_back(1735689600000 + i * 1000 + static_cast<int64_t>(user));
      b.received_at.push_back(b.timestamp.back() + static_cast<int64_t>(rng() % 5000));
      b.flags.push_back(0);
      for (size_t d = 0; d < b.ids.size(); ++d) b.ids[d].push_back(rng() % 30);
      b.Ids(Column::kUser).back() = user;
      b.value.push_back(static_cast<double>(rng() % 100));
      b.event_id.push_back("evt-" + std::to_string(user) + "-" + std::to_string(i));
      b.properties.push_back("{\"i\":" + std::to_string(i) + "}");
      b.context.push_back("{}");
    }
  }
  return b;
}

std::unique_ptr<PartReader> Part(const ColumnBatch& rows) {
  PartMeta meta;
  meta.tenant = "acme";
  meta.day = 20089;
  auto bytes = EncodePart(meta, rows, /*granule_rows=*/16);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto reader = PartReader::FromBuffer(std::move(bytes).value());
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  return std::move(reader).value();
}

// What ReadUserRows must return: the granule's rows of `user`, read the slow way.
ColumnBatch Expected(const PartReader& reader, size_t g, ColumnSet columns, uint32_t user) {
  ColumnBatch all, out;
  columns.Add(Column::kUser);
  EXPECT_TRUE(reader.ReadGranule(g, columns, &all).ok());
  for (size_t r = 0; r < all.size(); ++r) {
    if (all.Ids(Column::kUser)[r] != user) continue;
    out.timestamp.push_back(all.timestamp[r]);
    if (columns.Has(Column::kReceivedAt)) out.received_at.push_back(all.received_at[r]);
    out.Ids(Column::kUser).push_back(user);
    if (columns.Has(Column::kType)) out.Ids(Column::kType).push_back(all.Ids(Column::kType)[r]);
    if (columns.Has(Column::kValue)) out.value.push_back(all.value[r]);
    if (columns.Has(Column::kEventId)) out.event_id.push_back(all.event_id[r]);
  }
  return out;
}

void ExpectSame(const ColumnBatch& got, const ColumnBatch& want) {
  EXPECT_EQ(got.timestamp, want.timestamp);
  EXPECT_EQ(got.received_at, want.received_at);
  EXPECT_EQ(got.ids, want.ids);
  EXPECT_EQ(got.value, want.value);
  EXPECT_EQ(got.event_id, want.event_id);
  EXPECT_TRUE(got.flags.empty());
  EXPECT_TRUE(got.properties.empty());
  EXPECT_TRUE(got.context.empty());
}

TEST(UserRowsTest, ReturnsExactlyTheUsersRowsOfEachGranuleWithAndWithoutCache) {
  auto reader = Part(Rows());
  ASSERT_GT(reader->granules().size(), 4u);
  const ColumnSet columns{Column::kReceivedAt, Column::kType, Column::kValue, Column::kEventId};
  GranuleCache cache(1 << 20);
  for (GranuleCache* c : {static_cast<GranuleCache*>(nullptr), &cache, &cache}) {
    size_t rows_of_7 = 0;
    for (size_t g = 0; g < reader->granules().size(); ++g) {
      for (uint32_t user = 0; user <= 13; ++user) {
        ColumnBatch got;
        got.context.push_back("left over from an earlier read");
        ASSERT_TRUE(ReadUserRows(*reader, g, columns, user, c, &got).ok());
        ExpectSame(got, Expected(*reader, g, columns, user));
        if (user == 5 || user == 0 || user == 13) {
          EXPECT_EQ(got.size(), 0u);
        }
        if (user == 7) rows_of_7 += got.size();
      }
    }
    EXPECT_EQ(rows_of_7, 40u);
  }
  const GranuleCache::Stats stats = cache.stats();
  EXPECT_GT(stats.hits, stats.misses);  // the second pass over the cache only hits
  EXPECT_GT(stats.entries, 0u);
}

TEST(UserRowsTest, DamagedBlockIsAnErrorNotRows) {
  const ColumnBatch rows = Rows();
  PartMeta meta;
  meta.tenant = "acme";
  auto bytes = EncodePart(meta, rows, 16);
  ASSERT_TRUE(bytes.ok());
  auto clean = PartReader::FromBuffer(*bytes);
  ASSERT_TRUE(clean.ok());
  std::string damaged = *bytes;
  damaged[(*clean)->block(0, Column::kUser).offset] ^= 0x5a;
  auto reader = PartReader::FromBuffer(damaged);
  ASSERT_TRUE(reader.ok());
  ColumnBatch out;
  GranuleCache cache(1 << 20);
  EXPECT_EQ(ReadUserRows(**reader, 0, ColumnSet{}, 1, &cache, &out).code(), ErrorCode::kCorruption);
  EXPECT_EQ(cache.stats().entries, 0u);  // nothing damaged is cached
}

TEST(GranuleCacheTest, EvictsLeastRecentlyUsedToStayWithinBudget) {
  auto entry = [](size_t n) {
    auto b = std::make_shared<ColumnBatch>();
    b->timestamp.assign(n, 1);
    return GranuleCache::Entry(std::move(b));
  };
  // Each entry of 1000 timestamps is charged 8000 bytes plus bookkeeping.
  GranuleCache cache(3 * 8000 + 3 * 1024);
  cache.Insert(1, 0, Column::kTimestamp, entry(1000));
  cache.Insert(1, 1, Column::kTimestamp, entry(1000));
  cache.Insert(1, 2, Column::kTimestamp, entry(1000));
  ASSERT_NE(cache.Find(1, 0, Column::kTimestamp), nullptr);  // granule 0 is now the most recent
  cache.Insert(2, 0, Column::kTimestamp, entry(1000));       // evicts granule 1
  EXPECT_EQ(cache.Find(1, 1, Column::kTimestamp), nullptr);
  EXPECT_NE(cache.Find(1, 0, Column::kTimestamp), nullptr);
  EXPECT_NE(cache.Find(1, 2, Column::kTimestamp), nullptr);
  EXPECT_NE(cache.Find(2, 0, Column::kTimestamp), nullptr);
  EXPECT_EQ(cache.Find(2, 0, Column::kType), nullptr);  // other column, other key
  EXPECT_LE(cache.stats().bytes, 3 * 8000u + 3 * 1024u);
  EXPECT_EQ(cache.stats().entries, 3u);

  cache.Insert(1, 0, Column::kTimestamp, entry(10));  // replacing frees the old entry's bytes
  EXPECT_EQ(cache.Find(1, 0, Column::kTimestamp)->timestamp.size(), 10u);
  EXPECT_EQ(cache.stats().entries, 3u);

  cache.Insert(3, 0, Column::kTimestamp, entry(100000));  // larger than the budget: not kept
  EXPECT_EQ(cache.Find(3, 0, Column::kTimestamp), nullptr);
  EXPECT_EQ(cache.stats().entries, 3u);
}

}  // namespace
}  // namespace ca::store
