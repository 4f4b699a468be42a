#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "base/status.h"
#include "store/part_format.h"

namespace ca::store {

/// Appends the rows of `inputs` (parts of one partition, each sorted by (user, timestamp,
/// event_id)) to `builder` in that order, leaving out the rows for which `drop(user,
/// received_at)` is true (deleted users); `drop` may be empty. Reads one granule of each input
/// at a time and hands the builder `batch_rows` rows at a time, so memory does not grow with the
/// partition. Errors of the readers and the builder are returned as they are.
Status MergeParts(const std::vector<const PartReader*>& inputs,
                  const std::function<bool(uint32_t user, int64_t received_at)>& drop,
                  size_t batch_rows, PartBuilder* builder);

}  // namespace ca::store
