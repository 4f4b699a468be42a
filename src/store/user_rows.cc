#include "store/user_rows.h"

#include <algorithm>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"

namespace ca::store {
namespace {

/// Column `c` of granule `g`, decoded: from the cache, else decoded now (and cached).
Result<GranuleCache::Entry> DecodedColumn(const PartReader& reader, size_t g, Column c,
                                          std::span<const int64_t> timestamps,
                                          GranuleCache* cache) {
  const auto granule = static_cast<uint32_t>(g);
  if (cache != nullptr) {
    if (auto hit = cache->Find(reader.uid(), granule, c)) return hit;
  }
  auto decoded = std::make_shared<ColumnBatch>();
  CA_RETURN_IF_ERROR(reader.ReadColumn(g, c, timestamps, decoded.get()));
  if (cache != nullptr) cache->Insert(reader.uid(), granule, c, decoded);
  return GranuleCache::Entry(std::move(decoded));
}

template <typename T>
void CopyRows(const std::vector<T>& from, size_t lo, size_t hi, std::vector<T>* to) {
  to->assign(from.begin() + static_cast<ptrdiff_t>(lo), from.begin() + static_cast<ptrdiff_t>(hi));
}

/// Copies rows [lo, hi) of column `c` of `from` into `out`.
void CopyColumn(const ColumnBatch& from, Column c, size_t lo, size_t hi, ColumnBatch* out) {
  switch (c) {
    case Column::kTimestamp:
      return CopyRows(from.timestamp, lo, hi, &out->timestamp);
    case Column::kReceivedAt:
      return CopyRows(from.received_at, lo, hi, &out->received_at);
    case Column::kFlags:
      return CopyRows(from.flags, lo, hi, &out->flags);
    case Column::kValue:
      return CopyRows(from.value, lo, hi, &out->value);
    case Column::kEventId:
      return CopyRows(from.event_id, lo, hi, &out->event_id);
    case Column::kProperties:
      return CopyRows(from.properties, lo, hi, &out->properties);
    case Column::kContext:
      return CopyRows(from.context, lo, hi, &out->context);
    default:
      return CopyRows(from.Ids(c), lo, hi, &out->Ids(c));
  }
}

void ClearRows(ColumnBatch* b) {
  b->timestamp.clear();
  b->received_at.clear();
  b->flags.clear();
  for (auto& ids : b->ids) ids.clear();
  b->value.clear();
  b->event_id.clear();
  b->properties.clear();
  b->context.clear();
}

}  // namespace

Status ReadUserRows(const PartReader& reader, size_t g, ColumnSet columns, uint32_t user,
                    GranuleCache* cache, ColumnBatch* out) {
  ClearRows(out);
  CA_ASSIGN_OR_RETURN(GranuleCache::Entry users,
                      DecodedColumn(reader, g, Column::kUser, {}, cache));
  const std::vector<uint32_t>& ids = users->Ids(Column::kUser);
  const auto [first, last] = std::equal_range(ids.begin(), ids.end(), user);
  if (first == last) return Status::Ok();
  const auto lo = static_cast<size_t>(first - ids.begin());
  const auto hi = static_cast<size_t>(last - ids.begin());
  CA_ASSIGN_OR_RETURN(GranuleCache::Entry ts,
                      DecodedColumn(reader, g, Column::kTimestamp, {}, cache));
  CopyColumn(*ts, Column::kTimestamp, lo, hi, out);
  out->Ids(Column::kUser).assign(hi - lo, user);
  for (size_t i = 0; i < kColumnCount; ++i) {
    const auto c = static_cast<Column>(i);
    if (c == Column::kTimestamp || c == Column::kUser || !columns.Has(c)) continue;
    CA_ASSIGN_OR_RETURN(GranuleCache::Entry decoded,
                        DecodedColumn(reader, g, c, ts->timestamp, cache));
    CopyColumn(*decoded, c, lo, hi, out);
  }
  return Status::Ok();
}

}  // namespace ca::store
