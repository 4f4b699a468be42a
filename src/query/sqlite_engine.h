#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "event/event.h"
#include "query/spec.h"

struct sqlite3;

namespace ca::query {

/// Runs query specs with SQLite: events are kept in a plain `events` table (EventsTableSql), the
/// derived core fields come from the `ev` view (EventsViewSql) and every spec is compiled by
/// CompileSql. The reference implementation of docs/api/query.md for the differential test.
/// Not thread-safe: one caller at a time.
class SqliteEngine {
 public:
  /// Opens (creating if needed) the database at `path`; ":memory:" for a private in-memory one.
  /// Errors: kIoError when SQLite cannot open or set up the schema.
  static Result<std::unique_ptr<SqliteEngine>> Open(const std::string& path);

  ~SqliteEngine();
  SqliteEngine(const SqliteEngine&) = delete;
  SqliteEngine& operator=(const SqliteEngine&) = delete;

  /// Appends `events` (each under its own `tenant`) in one transaction. Errors: kIoError.
  Status Insert(const std::vector<event::Event>& events);

  /// Runs a validated spec over `tenant`'s events; returns the result JSON of docs/api/query.md.
  /// Errors: kQueryTimeout past spec.timeout_ms; kInternal / kIoError from SQLite.
  Result<nlohmann::json> Run(const std::string& tenant, const QuerySpec& spec);

 private:
  explicit SqliteEngine(sqlite3* db) : db_(db) {}

  sqlite3* db_;
};

}  // namespace ca::query
