#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/column_batch.h"

namespace ca::store {

/// How the values of one block are laid out before compression. The numbers are part of the part
/// format (docs/formats/part.md): never renumber, only append. Which encodings apply to which
/// ColumnKind is listed there and checked by EncodingValidFor.
enum class Encoding : uint8_t {
  kPlain = 0,          ///< int64/double: 8 bytes LE each; uint32: 4 bytes; string: lengths + bytes
  kConstant = 1,       ///< one value repeated
  kFor = 2,            ///< int64/uint32: frame-of-reference bit-packing in chunks of 128
  kDelta = 3,          ///< int64/uint32: first value + bit-packed deltas
  kRle = 4,            ///< int64/uint32: runs (value, length), both bit-packed
  kDictionary = 5,     ///< uint32/string: distinct values + bit-packed indices
  kDiffTimestamp = 6,  ///< int64 (received_at): bit-packed value - timestamp of the same row
  kScaled = 7,         ///< double: presence bitmap + value * 10^k as bit-packed integers
  kXor = 8,            ///< double: bits XOR previous bits, 8 bytes LE each
  kPrefixNumber = 9,   ///< string: common prefix + decimal suffix, suffixes delta bit-packed
  kJsonShred = 10,     ///< string: JSON objects as shapes + per-key-path leaf sub-columns
};
inline constexpr uint8_t kEncodingCount = 11;

/// General-purpose compression applied to an encoded block. Part of the format: never renumber.
enum class Compression : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };
inline constexpr uint8_t kCompressionCount = 3;

std::string_view EncodingName(Encoding e);
std::string_view CompressionName(Compression c);
/// True when `e` is a valid encoding for columns of kind `kind`.
bool EncodingValidFor(Encoding e, ColumnKind kind);

/// Limits that keep a reader's allocations bounded on hostile input.
inline constexpr size_t kMaxBlockRows = 65536;
inline constexpr uint32_t kMaxRawBlockBytes = 1u << 30;

/// Choices for EncodeBlock; the defaults pick the smallest candidate. Tests force one.
struct CodecOptions {
  /// Use only this encoding (EncodeBlock fails with kInvalidArgument when it does not apply).
  std::optional<Encoding> force_encoding;
  /// Use only this compression.
  std::optional<Compression> force_compression;
};

/// The values of one column for one block, as views into a ColumnBatch. Exactly the member that
/// matches the column's kind is used; `timestamps` (same length) lets received_at be encoded as a
/// difference to the timestamp (Encoding::kDiffTimestamp) and may be empty.
struct BlockValues {
  ColumnKind kind = ColumnKind::kInt64;
  std::span<const int64_t> i64;
  std::span<const uint32_t> u32;
  std::span<const double> f64;
  std::span<const std::string> str;
  std::span<const int64_t> timestamps;
  /// The strings are expected to be minified JSON objects: EncodeBlock also tries
  /// Encoding::kJsonShred (json_shred.h).
  bool json_objects = false;
  size_t size() const;
};

/// An encoded (and possibly compressed) block: `data` is what goes on disk.
struct EncodedBlock {
  Encoding encoding = Encoding::kPlain;
  Compression compression = Compression::kNone;
  /// Size of the encoded bytes before compression (== data.size() for kNone).
  uint32_t raw_size = 0;
  std::string data;
};

/// Encodes `values` with the candidate encoding and compression that give the fewest bytes (see
/// docs/formats/part.md for the candidates and the compression rule), or with the forced ones.
/// kInvalidArgument when a forced encoding does not apply or a block exceeds kMaxRawBlockBytes.
Status EncodeBlock(const BlockValues& values, const CodecOptions& options, EncodedBlock* out);

/// Encodes with exactly `encoding`, no compression. Returns false (and leaves `out` unspecified)
/// when the encoding cannot represent the values. Appends to `out`.
bool EncodeWith(Encoding encoding, const BlockValues& values, std::string* out);

/// Undoes compression: `raw_size` is the size recorded at encoding. Writes into `*out` (resized;
/// its capacity is reused). kCorruption when the data does not decompress to exactly raw_size.
Status Decompress(Compression compression, std::string_view data, uint32_t raw_size,
                  std::string* out);

/// Decoders of encoded (uncompressed) bytes into exactly `n` values (n <= kMaxBlockRows). `out` is
/// resized to n (capacity reused). kCorruption on any malformed input, including bytes left over;
/// they never read outside `data`. DecodeInt64 needs the block's timestamps (n values) for
/// kDiffTimestamp and otherwise ignores them.
Status DecodeInt64(Encoding e, std::string_view data, size_t n, std::span<const int64_t> timestamps,
                   std::vector<int64_t>* out);
Status DecodeUInt32(Encoding e, std::string_view data, size_t n, std::vector<uint32_t>* out);
Status DecodeDouble(Encoding e, std::string_view data, size_t n, std::vector<double>* out);
Status DecodeString(Encoding e, std::string_view data, size_t n, std::vector<std::string>* out);

}  // namespace ca::store
