#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/status.h"
#include "io/env.h"
#include "store/column_batch.h"
#include "store/column_codec.h"

namespace ca::store {

/// Format version written by EncodePart and the only one PartReader accepts.
inline constexpr uint32_t kPartFormatVersion = 1;
/// Default number of rows per granule.
inline constexpr size_t kDefaultGranuleRows = 8192;

/// What a part file says about itself (docs/formats/part.md, "Footer").
struct PartMeta {
  std::string tenant;
  int32_t day = 0;  ///< days since 1970-01-01 UTC
  uint64_t part_id = 0;
  uint32_t level = 0;  ///< merge level (0 = flushed from a memtable)
  // Derived from the rows by EncodePart (ignored on input):
  uint64_t rows = 0;
  int64_t min_ts = 0, max_ts = 0;  ///< 0 when rows == 0
  int64_t min_received = 0, max_received = 0;
  uint64_t distinct_users = 0;  ///< distinct non-zero user ids
  /// (type id, rows), ascending by type id, one entry per type present.
  std::vector<std::pair<uint32_t, uint64_t>> type_counts;
};

/// The sparse index entry of one granule: rows and min/max (inclusive) of its sort keys.
struct GranuleInfo {
  uint32_t rows = 0;
  int64_t min_ts = 0, max_ts = 0;
  int64_t min_received = 0, max_received = 0;
  uint32_t min_user = 0, max_user = 0;
};

/// Where one block lives in the file and how it is encoded.
struct BlockInfo {
  uint64_t offset = 0;
  uint32_t size = 0;      ///< stored bytes
  uint32_t raw_size = 0;  ///< encoded bytes before compression
  uint32_t crc = 0;       ///< masked CRC-32C of the stored bytes
  Encoding encoding = Encoding::kPlain;
  Compression compression = Compression::kNone;
};

/// Options of EncodePart; the defaults are for production.
struct PartWriteOptions {
  size_t granule_rows = kDefaultGranuleRows;  ///< 1..kMaxBlockRows
  CodecOptions codec;                         ///< forced encodings, for tests
};

/// Builds the bytes of a part holding `rows`. `rows` must have every column with size() entries
/// and be sorted by (user, timestamp); `meta_in` supplies tenant, day, part_id and level, the
/// other fields are computed. kInvalidArgument on a missing/missized column, unsorted rows, a
/// tenant longer than 65535 bytes or bad options.
Result<std::string> EncodePart(const PartMeta& meta_in, const ColumnBatch& rows,
                               const PartWriteOptions& options);
Result<std::string> EncodePart(const PartMeta& meta_in, const ColumnBatch& rows,
                               size_t granule_rows = kDefaultGranuleRows);

/// Builds the bytes of a part from rows appended in (user, timestamp) order, encoding each granule
/// as soon as it is full, so that a merge holds a granule of rows rather than a whole partition.
/// EncodePart is a builder fed once. Not thread-safe.
class PartBuilder {
 public:
  /// `meta_in` supplies tenant, day, part_id and level. kInvalidArgument on bad options or a
  /// tenant longer than 65535 bytes.
  static Result<std::unique_ptr<PartBuilder>> Create(const PartMeta& meta_in,
                                                     const PartWriteOptions& options);
  /// Appends `rows` (every column with size() entries), which must continue the (user, timestamp)
  /// order of the rows appended before. kInvalidArgument otherwise, and after Finish.
  Status Append(const ColumnBatch& rows);
  /// Encodes the rows still waiting and the footer; returns the whole part. Once only.
  Result<std::string> Finish();
  uint64_t rows() const { return meta_.rows; }

 private:
  PartBuilder() = default;
  Status EncodeGranule(const ColumnBatch& rows, size_t start, size_t count);

  PartWriteOptions options_;
  PartMeta meta_;
  std::string out_;      // header and the blocks so far
  ColumnBatch pending_;  // fewer rows than a granule, waiting for more
  std::vector<GranuleInfo> granules_;
  std::vector<BlockInfo> blocks_;  // granule-major
  std::map<uint32_t, uint64_t> types_;
  uint32_t last_user_ = 0;
  std::pair<uint32_t, int64_t> last_key_{0, 0};
  bool finished_ = false;
};

/// EncodePart, then io::WriteFileAtomically (temporary name, fsync, rename, directory fsync).
Status WritePart(io::Env* env, const std::string& path, const PartMeta& meta_in,
                 const ColumnBatch& rows, size_t granule_rows = kDefaultGranuleRows);

/// Reads a part file. Open reads and checks the header, tail and footer and keeps the footer in
/// memory; blocks are read on demand with positional reads. Every const method is thread-safe.
/// Errors are kCorruption naming the file, and where it applies the granule, column and offset
/// (kIoError for failed reads).
class PartReader {
 public:
  /// Opens `path` through `env` (which must outlive the reader).
  static Result<std::unique_ptr<PartReader>> Open(io::Env* env, const std::string& path);
  /// A reader over the bytes of a part held in memory; `name` is used in error messages.
  static Result<std::unique_ptr<PartReader>> FromBuffer(std::string bytes,
                                                        std::string name = "<memory>");

  const PartMeta& meta() const { return meta_; }
  const std::vector<GranuleInfo>& granules() const { return granules_; }
  /// The block of column `c` in granule `granule` (< granules().size()).
  const BlockInfo& block(size_t granule, Column c) const {
    return blocks_[granule * kColumnCount + static_cast<size_t>(c)];
  }
  /// Stored bytes of column `c` over all granules.
  uint64_t column_bytes(Column c) const;
  uint64_t file_size() const { return file_size_; }
  const std::string& path() const { return path_; }
  /// Unique among the readers of this process (never reused): a cache key for decoded blocks.
  uint64_t uid() const { return uid_; }

  /// Decodes the columns in `columns` (kTimestamp always) of granule `i` into `out`; the other
  /// columns of `out` are cleared. `out`'s vectors are resized, so their capacity is reused.
  /// kInvalidArgument when i is out of range.
  Status ReadGranule(size_t i, ColumnSet columns, ColumnBatch* out) const;
  /// Decodes only column `c` of granule `i` into `out`, leaving its other columns as they are.
  /// kReceivedAt needs the granule's `timestamps` (it may be coded as a difference to them).
  Status ReadColumn(size_t i, Column c, std::span<const int64_t> timestamps,
                    ColumnBatch* out) const;
  /// Reads, checks the CRC of and decodes every block, and checks the granule index against the
  /// decoded values (row counts, min/max, type histogram, distinct users).
  Status Verify() const;

 private:
  PartReader() = default;
  Status Init();
  Status ParseFooter(std::string_view footer, uint64_t footer_offset);
  Result<std::string_view> ReadAt(uint64_t offset, size_t n, std::string* scratch) const;
  Status DecodeBlock(size_t granule, Column c, std::span<const int64_t> timestamps,
                     ColumnBatch* out, std::string* read_buf, std::string* raw_buf) const;
  Status BlockError(size_t granule, Column c, std::string_view what) const;

  std::string path_;
  uint64_t uid_ = 0;
  std::unique_ptr<io::RandomAccessFile> file_;  ///< null for FromBuffer
  std::string buffer_;                          ///< the bytes, for FromBuffer
  uint64_t file_size_ = 0;
  PartMeta meta_;
  uint32_t granule_rows_ = 0;
  std::vector<GranuleInfo> granules_;
  std::vector<BlockInfo> blocks_;             ///< granule-major, kColumnCount per granule
  std::array<bool, kColumnCount> present_{};  ///< known columns listed in the column table
  /// Blocks of columns this reader does not know (written by a newer writer): CRC-checked by
  /// Verify, never decoded. (granule, column id, block).
  struct OtherBlock {
    size_t granule;
    uint8_t column;
    BlockInfo info;
  };
  std::vector<OtherBlock> other_blocks_;
};

}  // namespace ca::store
