#pragma once

#include <cstddef>
#include <cstdint>

#include "base/status.h"
#include "store/column_batch.h"
#include "store/granule_cache.h"
#include "store/part_format.h"

namespace ca::store {

/// Reads the rows of one user from granule `g` of a part. Rows are sorted by (user, timestamp),
/// so a user's rows in a granule are one run: the user column is decoded (or taken from `cache`)
/// and binary searched, and the other columns are decoded (or taken from `cache`) only when the
/// run is not empty, and copied for the run alone. `out` gets the columns in `columns` (kTimestamp
/// and kUser always), the others empty, and 0 rows when the user has none in the granule. `cache`
/// may be null; when set, the decoded columns of the granule are kept in it.
Status ReadUserRows(const PartReader& reader, size_t g, ColumnSet columns, uint32_t user,
                    GranuleCache* cache, ColumnBatch* out);

}  // namespace ca::store
