#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "io/env.h"

/// Verification and cutting of a whole log directory, shared by Wal::Open, Repair and Reader.
/// Internal to src/wal.
namespace ca::wal::internal {

struct SegmentInfo {
  uint64_t start = 0;
  std::string path;
};

/// Segment files of `dir` in LSN order (other names are ignored).
Result<std::vector<SegmentInfo>> ListSegments(io::Env* env, const std::string& dir);

enum class DamageKind {
  kNone,
  kTornHeader,  ///< header partial or zeros (a creation that never completed)
  kTornTail,    ///< interrupted write at the end of a segment
  kBadHeader,   ///< wrong magic, version, checksum or start LSN
  kGap,         ///< a segment does not start where the previous one ends
  kBadRecord,   ///< a damaged record followed by valid data
};

/// The valid prefix of a log and its first damage.
struct LogCheck {
  std::vector<SegmentInfo> segments;
  uint64_t records = 0;  ///< valid records before the first damage
  uint64_t end_lsn = 0;  ///< end of the valid prefix
  DamageKind damage = DamageKind::kNone;
  size_t damaged_index = 0;    ///< index into segments
  uint64_t damage_offset = 0;  ///< file offset of the damage (0 for header and gap damage)
  uint64_t file_size = 0;      ///< size of the damaged segment
  std::string reason;
};

/// Reads and verifies every segment in order, stopping at the first damage.
Result<LogCheck> CheckLog(io::Env* env, const std::string& dir);

/// True when the damage is what a crash leaves (torn header or torn tail) in the last segment.
bool IsTolerableOnOpen(const LogCheck& check);

/// kCorruption "<file>: offset <n>: <reason>".
Status DamageError(const LogCheck& check);

/// Cuts the log at its first damage (see Repair in wal.h), syncs the directory and updates
/// `check` (segments, damage = kNone). Returns a summary; `*cut_bytes` = bytes removed from the
/// damaged segment itself.
Result<std::string> CutAtDamage(io::Env* env, const std::string& dir, LogCheck* check,
                                uint64_t* cut_bytes);

/// Creates the segment starting at `start` durably and atomically (temporary name, header,
/// fdatasync, rename, directory sync); returns it open for appending.
Result<std::unique_ptr<io::WritableFile>> CreateSegmentFile(io::Env* env, const std::string& dir,
                                                            uint64_t start);

}  // namespace ca::wal::internal
