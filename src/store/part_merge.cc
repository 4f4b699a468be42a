#include "store/part_merge.h"

#include <queue>
#include <string_view>
#include <tuple>

namespace ca::store {
namespace {

/// Where one input stands: its current granule, decoded, and the row within it.
struct Cursor {
  const PartReader* reader = nullptr;
  size_t granule = 0;
  size_t row = 0;
  ColumnBatch batch;

  bool done() const { return granule >= reader->granules().size(); }
  auto Key() const {
    return std::tuple(batch.Ids(Column::kUser)[row], batch.timestamp[row],
                      std::string_view(batch.event_id[row]));
  }
  /// Moves to the next row, reading the next non-empty granule when this one is used up.
  Status Advance() {
    if (++row < batch.size()) return Status::Ok();
    return ReadFrom(granule + 1);
  }
  Status Start() { return ReadFrom(0); }

 private:
  /// Reads the first non-empty granule at or after `g` (done() when there is none).
  Status ReadFrom(size_t g) {
    row = 0;
    for (granule = g; granule < reader->granules().size(); ++granule) {
      CA_RETURN_IF_ERROR(reader->ReadGranule(granule, ColumnSet::All(), &batch));
      if (batch.size() > 0) break;
    }
    return Status::Ok();
  }
};

}  // namespace

Status MergeParts(const std::vector<const PartReader*>& inputs,
                  const std::function<bool(uint32_t, int64_t)>& drop, size_t batch_rows,
                  PartBuilder* builder) {
  std::vector<Cursor> cursors(inputs.size());
  // Smallest key on top; equal keys keep the inputs' order.
  auto later = [&](size_t a, size_t b) {
    const auto ka = cursors[a].Key(), kb = cursors[b].Key();
    return ka != kb ? kb < ka : b < a;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t i = 0; i < inputs.size(); ++i) {
    cursors[i].reader = inputs[i];
    CA_RETURN_IF_ERROR(cursors[i].Start());
    if (!cursors[i].done()) heap.push(i);
  }
  ColumnBatch out;
  while (!heap.empty()) {
    const size_t i = heap.top();
    heap.pop();
    Cursor& c = cursors[i];
    if (!drop || !drop(c.batch.Ids(Column::kUser)[c.row], c.batch.received_at[c.row])) {
      CopyRow(c.batch, c.row, &out);
      if (out.size() >= batch_rows) {
        CA_RETURN_IF_ERROR(builder->Append(out));
        out = ColumnBatch{};
      }
    }
    CA_RETURN_IF_ERROR(c.Advance());
    if (!c.done()) heap.push(i);
  }
  if (out.size() > 0) CA_RETURN_IF_ERROR(builder->Append(out));
  return Status::Ok();
}

}  // namespace ca::store
