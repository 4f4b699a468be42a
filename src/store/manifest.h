#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/status.h"
#include "io/env.h"

namespace ca::store {

/// The store's list of live parts and its WAL checkpoint (docs/formats/store-manifest.md).
struct ManifestData {
  struct PartEntry {
    std::string tenant;
    std::string path;  ///< relative to the store directory: "<tenant>/parts/<file>"
    friend bool operator==(const PartEntry&, const PartEntry&) = default;
  };
  /// A deleted user (GDPR): their events received up to `deleted_at_ms` are masked from every
  /// read at once and left out of every part written after the deletion.
  struct Tombstone {
    std::string receipt_id;
    std::string tenant;
    std::string user_id;
    int64_t deleted_at_ms = 0;
    uint64_t masked_events = 0;  ///< events the deletion masked when it was made
    int64_t removed_at_ms = 0;   ///< when no part held them any more (0: not yet)
    friend bool operator==(const Tombstone&, const Tombstone&) = default;
  };
  /// Every WAL record below this LSN is in the listed parts.
  uint64_t checkpoint_lsn = 0;
  uint64_t next_part_id = 1;
  std::vector<PartEntry> parts;
  std::vector<Tombstone> tombstones;
  friend bool operator==(const ManifestData&, const ManifestData&) = default;
};

/// Reads DIR/MANIFEST; an absent file is an empty store. kCorruption (naming the file) for a bad
/// magic, version or checksum, or a part path outside the store.
Result<ManifestData> ReadManifest(io::Env* env, const std::string& dir);

/// Replaces DIR/MANIFEST atomically (temporary file, fsync, rename, directory fsync).
Status WriteManifest(io::Env* env, const std::string& dir, const ManifestData& manifest);

}  // namespace ca::store
