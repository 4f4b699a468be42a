#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "state/state_store.h"

namespace ca::state {

/// How long a statement waits for another connection's write lock before failing kUnavailable.
inline constexpr int kSqliteBusyTimeoutMs = 5000;

/// Opens (creating if needed) the SQLite database at `path` and brings its schema up to date
/// (versioned migrations in `schema_migrations`, each in its own transaction; re-running is a
/// no-op). The connection uses WAL journal mode, synchronous=FULL, foreign keys, and a busy
/// timeout of kSqliteBusyTimeoutMs, so the CLI can write while a server has the file open.
///
/// Errors: kIoError when the file cannot be opened, kCorruption when it is not a database,
/// kConfigInvalid when its schema is newer than this binary knows.
Result<std::unique_ptr<StateStore>> OpenSqliteStateStore(const std::string& path);

}  // namespace ca::state
