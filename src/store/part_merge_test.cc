#include "store/part_merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <tuple>

namespace ca::store {
namespace {

// `n` rows of users 1..30 over one day, sorted by (user, timestamp, event_id) as parts are.
ColumnBatch SortedRows(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::tuple<uint32_t, int64_t, std::string>> keys;
  for (size_t i = 0; i < n; ++i) {
    keys.emplace_back(static_cast<uint32_t>(rng() % 30 + 1),
                      1735689600000 + static_cast<int64_t>(rng() % 1000),  // many equal times
                      "e" + std::to_string(seed) + "-" + std::to_string(i));
  }
  std::sort(keys.begin(), keys.end());
  ColumnBatch b;
  for (const auto& [user, ts, id] : keys) {
    b.timestamp.push_back(ts);
    b.received_at.push_back(ts + 5);
    b.flags.push_back(0);
    for (auto& ids : b.ids) ids.push_back(static_cast<uint32_t>(rng() % 5));
    b.Ids(Column::kUser).back() = user;
    b.value.push_back(1.5);
    b.event_id.push_back(id);
    b.properties.push_back("{\"n\":" + std::to_string(rng() % 100) + "}");
    b.context.push_back("{}");
  }
  return b;
}

std::unique_ptr<PartReader> Part(const ColumnBatch& rows, size_t granule_rows) {
  PartMeta meta;
  meta.tenant = "acme";
  auto bytes = EncodePart(meta, rows, granule_rows);
  EXPECT_TRUE(bytes.ok());
  return std::move(PartReader::FromBuffer(std::move(*bytes))).value();
}

std::vector<std::string> EventIds(const PartReader& reader) {
  std::vector<std::string> ids;
  ColumnBatch b;
  for (size_t g = 0; g < reader.granules().size(); ++g) {
    EXPECT_TRUE(reader.ReadGranule(g, ColumnSet::All(), &b).ok());
    ids.insert(ids.end(), b.event_id.begin(), b.event_id.end());
  }
  return ids;
}

TEST(PartMergeTest, MergesSortedPartsIntoOneSortedPartDroppingMaskedRows) {
  std::vector<ColumnBatch> inputs = {SortedRows(1000, 1), SortedRows(37, 2), SortedRows(0, 3),
                                     SortedRows(2500, 4)};
  std::vector<std::unique_ptr<PartReader>> parts;
  std::vector<const PartReader*> readers;
  std::vector<std::tuple<uint32_t, int64_t, std::string>> want;
  for (size_t i = 0; i < inputs.size(); ++i) {
    parts.push_back(Part(inputs[i], 64 + 100 * i));  // different granule sizes
    readers.push_back(parts.back().get());
    for (size_t r = 0; r < inputs[i].size(); ++r) {
      const uint32_t user = inputs[i].Ids(Column::kUser)[r];
      if (user == 7) continue;  // dropped below
      want.emplace_back(user, inputs[i].timestamp[r], inputs[i].event_id[r]);
    }
  }
  std::sort(want.begin(), want.end());

  PartMeta meta;
  meta.tenant = "acme";
  PartWriteOptions options;
  options.granule_rows = 128;
  auto builder = PartBuilder::Create(meta, options);
  ASSERT_TRUE(builder.ok());
  auto drop = [](uint32_t user, int64_t) { return user == 7; };
  ASSERT_TRUE(MergeParts(readers, drop, 128, builder->get()).ok());
  auto bytes = (*builder)->Finish();
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto merged = PartReader::FromBuffer(std::move(*bytes));
  ASSERT_TRUE(merged.ok());
  ASSERT_TRUE((*merged)->Verify().ok());  // sorted, checksums, histogram
  std::vector<std::string> want_ids;
  for (const auto& k : want) want_ids.push_back(std::get<2>(k));
  EXPECT_EQ(EventIds(**merged), want_ids);
}

TEST(PartMergeTest, NoInputsOrEverythingDroppedAppendsNothing) {
  PartMeta meta;
  auto builder = PartBuilder::Create(meta, PartWriteOptions{});
  ASSERT_TRUE(builder.ok());
  ASSERT_TRUE(MergeParts({}, {}, 100, builder->get()).ok());
  auto part = Part(SortedRows(50, 9), 16);
  ASSERT_TRUE(MergeParts(
                  {part.get()}, [](uint32_t, int64_t) { return true; }, 100, builder->get())
                  .ok());
  EXPECT_EQ((*builder)->rows(), 0u);
}

}  // namespace
}  // namespace ca::store
