#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

/// The on-disk encoding of WAL segments, kept apart from the writer so that recovery, the reader,
/// repair and the fuzzer share one parser. Byte layout: docs/formats/wal.md.
namespace ca::wal::format {

inline constexpr char kSegmentMagic[8] = {'C', 'A', 'W', 'A', 'L', 'S', 'E', 'G'};
inline constexpr uint32_t kSegmentVersion = 1;
inline constexpr uint64_t kSegmentHeaderSize = 32;
inline constexpr uint64_t kRecordHeaderSize = 8;
/// Larger lengths are treated as damage, never allocated.
inline constexpr uint32_t kMaxPayload = 16u << 20;
inline constexpr std::string_view kSegmentSuffix = ".wal";

/// leveldb-style CRC masking: a CRC stored in data that is itself CRC-ed stays meaningful.
uint32_t MaskCrc(uint32_t crc);
uint32_t UnmaskCrc(uint32_t masked);

void PutFixed32(std::string* dst, uint32_t v);
void PutFixed64(std::string* dst, uint64_t v);
uint32_t DecodeFixed32(const char* p);
uint64_t DecodeFixed64(const char* p);

/// "<20-digit start LSN>.wal".
std::string SegmentFileName(uint64_t start_lsn);
/// The start LSN encoded in a segment file name, or nullopt for any other name.
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

/// The 32-byte header of a segment starting at `start_lsn`.
std::string EncodeSegmentHeader(uint64_t start_lsn);

/// Appends one record (length, masked CRC32C of the payload, payload) to `dst`.
void AppendRecord(std::string* dst, std::string_view payload);

/// What a segment's bytes hold: the result of ScanSegment.
struct SegmentScan {
  /// The header is missing, partial or all zeros: a segment whose creation never completed.
  bool header_torn = false;
  /// The header is present but has a wrong magic, version or CRC.
  bool header_bad = false;
  uint64_t start_lsn = 0;
  uint64_t records = 0;
  /// File offset just past the last valid record (kSegmentHeaderSize when none; 0 when the header
  /// is torn or bad).
  uint64_t valid_end = 0;
  /// Bytes after valid_end that are not valid records.
  bool damaged = false;
  /// When damaged: true if it looks like an interrupted write (partial record, length past the
  /// end, trailing zeros, or a bad record with no valid record anywhere after it); false if a
  /// valid record follows the damage, i.e. data in the middle of the log is broken.
  bool torn_tail = false;
  uint64_t damage_offset = 0;
  std::string damage_reason;
};

/// Parses a whole segment held in memory, calling `on_record(file_offset, payload)` for every
/// valid record in order up to the first damage. Never fails and never reads outside `data`.
SegmentScan ScanSegment(std::string_view data,
                        const std::function<void(uint64_t, std::string_view)>& on_record = {});

/// Classifies damage found at `offset` of a segment's bytes: true when it is a torn tail (see
/// SegmentScan::torn_tail). `offset` must be at least kSegmentHeaderSize.
bool IsTornTail(std::string_view data, uint64_t offset);

/// Result of decoding one record at a position.
enum class RecordStatus { kOk, kTruncatedHeader, kPastEnd, kTooLarge, kBadCrc };
std::string_view RecordStatusName(RecordStatus s);
/// Decodes the record at `offset` of `data`; on kOk sets `*payload` and `*next`.
RecordStatus DecodeRecord(std::string_view data, uint64_t offset, std::string_view* payload,
                          uint64_t* next);

}  // namespace ca::wal::format
