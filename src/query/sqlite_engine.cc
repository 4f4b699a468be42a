#include "query/sqlite_engine.h"

#include <chrono>

#include <sqlite3.h>

#include "query/sql_compiler.h"

namespace ca::query {
namespace {

Status SqliteError(sqlite3* db, std::string_view what) {
  return Status(ErrorCode::kIoError, std::string(what) + ": " + sqlite3_errmsg(db));
}

/// Finalizes a prepared statement on scope exit.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt** out() { return &stmt_; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Status Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return Status(ErrorCode::kIoError, "sqlite: " + m);
  }
  return Status::Ok();
}

int BindText(sqlite3_stmt* s, int i, const std::string& v) {
  return sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

int Bind(sqlite3_stmt* s, int i, const SqlValue& v) {
  if (const auto* x = std::get_if<int64_t>(&v)) return sqlite3_bind_int64(s, i, *x);
  if (const auto* x = std::get_if<double>(&v)) return sqlite3_bind_double(s, i, *x);
  if (const auto* x = std::get_if<std::string>(&v)) return BindText(s, i, *x);
  return sqlite3_bind_null(s, i);
}

SqlValue Column(sqlite3_stmt* s, int i) {
  switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER:
      return static_cast<int64_t>(sqlite3_column_int64(s, i));
    case SQLITE_FLOAT:
      return sqlite3_column_double(s, i);
    case SQLITE_NULL:
      return std::monostate();
    default: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
      return std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s, i)));
    }
  }
}

using Clock = std::chrono::steady_clock;

/// Interrupts a statement once the deadline has passed.
int CheckDeadline(void* arg) {
  const auto* deadline = static_cast<const Clock::time_point*>(arg);
  return Clock::now() > *deadline ? 1 : 0;
}

}  // namespace

Result<std::unique_ptr<SqliteEngine>> SqliteEngine::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<SqliteEngine> engine(new SqliteEngine(db));
  if (rc != SQLITE_OK) return SqliteError(db, "sqlite open " + path);
  CA_RETURN_IF_ERROR(Exec(db, EventsTableSql(Dialect::kSqlite)));
  CA_RETURN_IF_ERROR(Exec(db, EventsViewSql(Dialect::kSqlite)));
  return engine;
}

SqliteEngine::~SqliteEngine() { sqlite3_close(db_); }

Status SqliteEngine::Insert(const std::vector<event::Event>& events) {
  CA_RETURN_IF_ERROR(Exec(db_, "BEGIN"));
  Stmt stmt;
  const char* sql =
      "INSERT INTO events(tenant, event_id, type, user_id, anonymous_id, session_id, ts, "
      "received_at, properties, context) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
  Status status;
  if (sqlite3_prepare_v2(db_, sql, -1, stmt.out(), nullptr) != SQLITE_OK) {
    status = SqliteError(db_, "sqlite prepare insert");
  }
  for (size_t i = 0; status.ok() && i < events.size(); ++i) {
    const event::Event& e = events[i];
    sqlite3_stmt* s = stmt.get();
    sqlite3_reset(s);
    BindText(s, 1, e.tenant);
    BindText(s, 2, e.event_id);
    BindText(s, 3, e.type);
    BindText(s, 4, e.user_id);
    BindText(s, 5, e.anonymous_id);
    BindText(s, 6, e.session_id);
    sqlite3_bind_int64(s, 7, e.timestamp_ms);
    sqlite3_bind_int64(s, 8, e.received_at_ms);
    BindText(s, 9, e.properties_json.empty() ? std::string("{}") : e.properties_json);
    BindText(s, 10, e.context_json.empty() ? std::string("{}") : e.context_json);
    if (sqlite3_step(s) != SQLITE_DONE) status = SqliteError(db_, "sqlite insert");
  }
  if (!status.ok()) {
    Exec(db_, "ROLLBACK").IgnoreError();
    return status;
  }
  return Exec(db_, "COMMIT");
}

Result<nlohmann::json> SqliteEngine::Run(const std::string& tenant, const QuerySpec& spec) {
  CA_ASSIGN_OR_RETURN(SqlPlan plan, CompileSql(spec, tenant, Dialect::kSqlite));
  Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(spec.timeout_ms);
  sqlite3_progress_handler(db_, 1000, &CheckDeadline, &deadline);
  std::vector<SqlRows> results;
  Status status;
  for (const SqlStatement& st : plan.statements) {
    Stmt stmt;
    if (sqlite3_prepare_v2(db_, st.sql.c_str(), static_cast<int>(st.sql.size()), stmt.out(),
                           nullptr) != SQLITE_OK) {
      status = Status(ErrorCode::kInternal,
                      std::string("sqlite prepare: ") + sqlite3_errmsg(db_) + " in: " + st.sql);
      break;
    }
    for (size_t i = 0; i < st.params.size() && status.ok(); ++i) {
      if (Bind(stmt.get(), static_cast<int>(i + 1), st.params[i]) != SQLITE_OK) {
        status = SqliteError(db_, "sqlite bind");
      }
    }
    SqlRows rows;
    while (status.ok()) {
      int rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_DONE) break;
      if (rc == SQLITE_ROW) {
        int n = sqlite3_column_count(stmt.get());
        std::vector<SqlValue> row;
        row.reserve(static_cast<size_t>(n));
        for (int c = 0; c < n; ++c) row.push_back(Column(stmt.get(), c));
        rows.push_back(std::move(row));
        continue;
      }
      if (rc == SQLITE_INTERRUPT) {
        status = Status(ErrorCode::kQueryTimeout,
                        "the query ran past " + std::to_string(spec.timeout_ms) + " ms");
      } else {
        status = Status(ErrorCode::kInternal, std::string("sqlite step: ") + sqlite3_errmsg(db_));
      }
    }
    if (!status.ok()) break;
    results.push_back(std::move(rows));
  }
  sqlite3_progress_handler(db_, 0, nullptr, nullptr);
  CA_RETURN_IF_ERROR(status);
  return AssembleSqlResult(spec, plan, results);
}

}  // namespace ca::query
