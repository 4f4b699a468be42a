#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/error_code.h"
#include "base/result.h"
#include "state/state_store.h"

namespace ca::state {

struct PostgresStateStoreOptions {
  /// Most connections the store opens at once. Connections are opened when a caller finds none
  /// idle, kept for reuse, and a caller waits when this many are in use.
  size_t max_connections = 4;
  /// Seconds to wait for a connection to be established; a `connect_timeout` in the URL wins.
  int connect_timeout_s = 10;
  /// Longest a statement may run before the server cancels it (the call fails kCancelled), so
  /// that a stuck lock or an overloaded server cannot hold a caller, such as an ingest request
  /// waiting for a profile, without end. 0: no limit. A `statement_timeout` among the URL's
  /// `options` (`-c statement_timeout=...`) wins.
  int statement_timeout_ms = 30'000;
};

/// Opens the PostgreSQL database at `url` (a libpq URL, `postgresql://user[:password]@host[:port]
/// /dbname[?param=value...]`, or any other libpq connection string) and brings its schema up to
/// date: the same tables and migration versions as the SQLite store (`schema_migrations`), each
/// migration in its own transaction under a transaction-scoped advisory lock, so that two servers
/// starting at once never both migrate. Re-opening an up-to-date database changes nothing. The user
/// needs the right to create tables in the first schema of its search_path (the first open) and to
/// read and write them.
///
/// A server that stops answering altogether (a host gone from the network) is found by TCP
/// keepalives within about a minute; the call then fails kUnavailable.
///
/// Thread-safe. The store keeps a small pool of connections (options.max_connections), so
/// concurrent callers do not wait for each other's round trips; each call runs on one connection,
/// writes in one transaction. A connection found broken is reset (PQreset) once; a call that lost
/// its connection before committing is run again once on the reset connection; otherwise the call
/// fails kUnavailable. Writes to one tenant's rows are serialised by a row lock on the tenant, so
/// read-modify-write operations (MergeUserTraits, the dead-letter cap) never lose an update.
///
/// Text is UTF-8 and cannot hold NUL bytes in PostgreSQL: a string that has one or is not valid
/// UTF-8 fails kInvalidArgument (the SQLite store stores such bytes as they are).
///
/// Errors: kConfigInvalid when `url` cannot be parsed or the schema is newer than this binary,
/// kUnavailable when the server cannot be reached (the message names host:port and database, never
/// the password), kDiskFull (SQLSTATE 53100), kIoError, kCorruption, kInternal with the server's
/// message.
Result<std::unique_ptr<StateStore>> OpenPostgresStateStore(const std::string& url,
                                                           PostgresStateStoreOptions options = {});

/// Where `url` points, for messages and logs: "host:port/dbname" (several hosts comma-separated),
/// without user or password; a missing host reads "local socket", a missing port 5432, a missing
/// database the user's name (libpq's default), else "default". "(invalid PostgreSQL URL)" when
/// libpq cannot parse it.
std::string DescribePostgresUrl(std::string_view url);

/// The error code for a PostgreSQL SQLSTATE: 53100 (disk full) kDiskFull; connection exceptions,
/// shutdowns, too many connections, serialization failures, deadlocks and lock timeouts
/// kUnavailable; data exceptions (class 22, e.g. a NUL byte in text) kInvalidArgument; I/O and
/// permission errors kIoError; data or index corruption kCorruption; anything else kInternal.
ErrorCode ErrorCodeForSqlState(std::string_view sqlstate);

}  // namespace ca::state
