#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ca::store {

/// Encoding::kJsonShred ("shredded JSON", docs/formats/part.md): a string block whose values are
/// mostly minified JSON objects is split into a per-block dictionary of shapes (the text of each
/// object without its leaf values: braces, keys, colons, commas) and one sub-column of leaf texts
/// per key path, each sub-column encoded on its own (dictionary with integer-coded ids, plain or
/// prefix_number). Decoding concatenates shape pieces and leaf texts, so every value round-trips
/// byte for byte. Values that are not minified JSON objects (or exceed the limits below) are kept
/// whole in a "raw" sub-column, so every string block can be encoded.

/// What EncodeJsonShred did, for tests and statistics.
struct JsonShredStats {
  size_t shredded_rows = 0;  ///< rows split into shape + leaves
  size_t raw_rows = 0;       ///< rows stored whole
  size_t shapes = 0;         ///< distinct shapes, the raw shape included
  size_t sub_columns = 0;    ///< sub-columns, the raw one included
};

/// Limits shared by encoder and decoder; they bound a decoder's memory on hostile input.
inline constexpr size_t kMaxJsonDepth = 64;                ///< nesting of objects
inline constexpr size_t kMaxJsonSubColumnValues = 65536;   ///< values of one sub-column
inline constexpr size_t kMaxJsonBlockValues = 65536 * 64;  ///< values of all sub-columns

/// True when `value` would be shredded: a JSON object without whitespace outside strings, nested
/// at most kMaxJsonDepth deep, whose leaves are strings, numbers, true/false/null or arrays.
bool IsShreddableJson(std::string_view value);

/// Appends the kJsonShred encoding of `values` (at most kMaxBlockRows) to `out`. Always succeeds;
/// rows that cannot be shredded are stored raw. `stats` may be null.
void EncodeJsonShred(std::span<const std::string> values, std::string* out,
                     JsonShredStats* stats = nullptr);

/// Decodes exactly `n` values (n <= kMaxBlockRows) into `out` (resized; capacity reused).
/// kCorruption on any malformed input, including bytes left over; never reads outside `data`.
Status DecodeJsonShred(std::string_view data, size_t n, std::vector<std::string>* out);

}  // namespace ca::store
