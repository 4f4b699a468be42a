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
  /// Every WAL record below this LSN is in the listed parts.
  uint64_t checkpoint_lsn = 0;
  uint64_t next_part_id = 1;
  std::vector<PartEntry> parts;
  friend bool operator==(const ManifestData&, const ManifestData&) = default;
};

/// Reads DIR/MANIFEST; an absent file is an empty store. kCorruption (naming the file) for a bad
/// magic, version or checksum, or a part path outside the store.
Result<ManifestData> ReadManifest(io::Env* env, const std::string& dir);

/// Replaces DIR/MANIFEST atomically (temporary file, fsync, rename, directory fsync).
Status WriteManifest(io::Env* env, const std::string& dir, const ManifestData& manifest);

}  // namespace ca::store
