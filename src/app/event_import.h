#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "app/config.h"
#include "base/result.h"

namespace ca::app {

struct ImportOptions {
  Config config;       ///< data directory, WAL segment size, dedup window and cap, limits
  std::string tenant;  ///< must exist (`keys create`)
  std::string path;    ///< JSON lines file, "-" for stdin
  /// Lines per decoded batch.
  size_t batch_lines = 1000;
};

/// What an import did; received = accepted + duplicates + rejected.
struct ImportReceipt {
  uint64_t received = 0;
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  struct LineError {
    uint64_t line;  ///< 1-based
    std::string code;
    std::string message;
  };
  std::vector<LineError> errors;  ///< the first 100 rejections
  double seconds = 0;

  /// {"received","accepted","duplicates","rejected","seconds","errors":[{"line","code","message"}]}
  std::string ToJson() const;
};

/// `career-analytics import events`: loads native events, one JSON object per line, through the
/// ingest decoder (validation, the tenant's catalogue) and the ingest pipeline (deduplication,
/// WAL) into the event store of a data directory no server is using. Empty lines are skipped.
/// Everything accepted is in the store's parts when it returns OK. Progress lines go to `log`.
Result<ImportReceipt> ImportEvents(const ImportOptions& options, std::ostream& log);

}  // namespace ca::app
