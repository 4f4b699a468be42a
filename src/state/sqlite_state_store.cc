#include "state/sqlite_state_store.h"

#include <openssl/crypto.h>
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "state/api_key.h"

namespace ca::state {
namespace {

/// One schema step. Versions are dense and increasing; a shipped migration is never edited.
/// The SQL sticks to what SQLite and PostgreSQL both accept, except for `INTEGER PRIMARY KEY`
/// (a PostgreSQL backend uses BIGSERIAL/identity columns for the same ids).
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE tenants ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE,"
     "  created_at_ms BIGINT NOT NULL);"
     "CREATE TABLE api_keys ("
     "  id INTEGER PRIMARY KEY,"
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  kind TEXT NOT NULL CHECK (kind IN ('write', 'secret')),"
     "  key_id TEXT NOT NULL,"
     "  key_hash TEXT NOT NULL,"
     "  created_at_ms BIGINT NOT NULL,"
     "  revoked_at_ms BIGINT);"
     "CREATE INDEX api_keys_by_key_id ON api_keys (key_id);"
     "CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);"
     "CREATE TABLE custom_event_types ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  name TEXT NOT NULL,"
     "  required_properties_json TEXT NOT NULL,"
     "  created_at_ms BIGINT NOT NULL,"
     "  PRIMARY KEY (tenant_id, name));"},
    {2, "ALTER TABLE tenants ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 0;"},
    // Space-separated browser origins a write key accepts; '' = any.
    {3, "ALTER TABLE api_keys ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '';"},
    {4,
     "CREATE TABLE dead_letters ("
     "  id INTEGER PRIMARY KEY,"
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  received_at_ms BIGINT NOT NULL,"
     "  code TEXT NOT NULL,"
     "  message TEXT NOT NULL,"
     "  format TEXT NOT NULL,"
     "  raw TEXT NOT NULL);"
     "CREATE INDEX dead_letters_by_tenant ON dead_letters (tenant_id, id);"},
    // The ingest policy (IngestPolicy; keep_raw_ip NULL = the server's setting; allowed keys
    // space-separated), the suppression list, late days to recompute, identify traits.
    {5,
     "ALTER TABLE tenants ADD COLUMN consent_policy TEXT NOT NULL DEFAULT 'drop';"
     "ALTER TABLE tenants ADD COLUMN late_days INTEGER NOT NULL DEFAULT 7;"
     "ALTER TABLE tenants ADD COLUMN keep_raw_ip INTEGER;"
     "ALTER TABLE tenants ADD COLUMN pii_allowed_keys TEXT NOT NULL DEFAULT '';"
     "CREATE TABLE suppressed_users ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  user_id TEXT NOT NULL,"
     "  added_at_ms BIGINT NOT NULL,"
     "  PRIMARY KEY (tenant_id, user_id));"
     "CREATE TABLE recompute_days ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  day BIGINT NOT NULL,"
     "  marked_at_ms BIGINT NOT NULL,"
     "  PRIMARY KEY (tenant_id, day));"
     "CREATE TABLE user_traits ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  user_id TEXT NOT NULL,"
     "  traits_json TEXT NOT NULL,"
     "  updated_at_ms BIGINT NOT NULL,"
     "  PRIMARY KEY (tenant_id, user_id));"},
    // Rollups (docs/rollups.md) and the positions of the consumers that keep them.
    {6,
     "CREATE TABLE daily_user_metrics ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  user_id TEXT NOT NULL,"
     "  day BIGINT NOT NULL,"
     "  page_views BIGINT NOT NULL DEFAULT 0,"
     "  job_views BIGINT NOT NULL DEFAULT 0,"
     "  saves BIGINT NOT NULL DEFAULT 0,"
     "  applications BIGINT NOT NULL DEFAULT 0,"
     "  responses BIGINT NOT NULL DEFAULT 0,"
     "  interviews BIGINT NOT NULL DEFAULT 0,"
     "  offers BIGINT NOT NULL DEFAULT 0,"
     "  seconds_spent DOUBLE PRECISION NOT NULL DEFAULT 0,"
     "  PRIMARY KEY (tenant_id, user_id, day));"
     "CREATE INDEX daily_user_metrics_by_day ON daily_user_metrics (tenant_id, day);"
     "CREATE TABLE consumer_positions ("
     "  name TEXT PRIMARY KEY,"
     "  position BIGINT NOT NULL,"
     "  updated_at_ms BIGINT NOT NULL);"
     // Imported external data (docs/api/market-data.md); *_key columns hold NormaliseKey.
     "CREATE TABLE job_market_trends ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  day BIGINT NOT NULL,"
     "  industry TEXT NOT NULL,"
     "  location TEXT NOT NULL,"
     "  industry_key TEXT NOT NULL,"
     "  location_key TEXT NOT NULL,"
     "  average_salary DOUBLE PRECISION NOT NULL,"
     "  postings BIGINT NOT NULL,"
     "  competition DOUBLE PRECISION NOT NULL,"
     "  PRIMARY KEY (tenant_id, industry_key, location_key, day));"
     "CREATE TABLE industry_benchmarks ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  day BIGINT NOT NULL,"
     "  scope TEXT NOT NULL,"
     "  name TEXT NOT NULL,"
     "  scope_key TEXT NOT NULL,"
     "  name_key TEXT NOT NULL,"
     "  value DOUBLE PRECISION NOT NULL,"
     "  PRIMARY KEY (tenant_id, scope_key, name_key, day));"
     "CREATE TABLE economic_indicators ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  day BIGINT NOT NULL,"
     "  scope TEXT NOT NULL,"
     "  name TEXT NOT NULL,"
     "  scope_key TEXT NOT NULL,"
     "  name_key TEXT NOT NULL,"
     "  value DOUBLE PRECISION NOT NULL,"
     "  PRIMARY KEY (tenant_id, scope_key, name_key, day));"
     // Runs of scheduled jobs (docs/scheduler.md), server-wide.
     "CREATE TABLE job_runs ("
     "  id INTEGER PRIMARY KEY,"
     "  job TEXT NOT NULL,"
     "  started_ms BIGINT NOT NULL,"
     "  finished_ms BIGINT NOT NULL,"
     "  ok INTEGER NOT NULL,"
     "  message TEXT NOT NULL);"
     "CREATE INDEX job_runs_by_job ON job_runs (job, id);"},
    // The rest of DESIGN.md's relational state, for the services that fill them: people and
    // their preferences, the jobs catalogue, applications with their current stage, alerting,
    // reports, webhooks, exports and deletion receipts. JSON columns hold objects as text.
    {7,
     "CREATE TABLE users ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  user_id TEXT NOT NULL,"
     "  profile_json TEXT NOT NULL DEFAULT '{}',"
     "  goals_json TEXT NOT NULL DEFAULT '{}',"
     "  report_preferences_json TEXT NOT NULL DEFAULT '{}',"
     "  timezone TEXT NOT NULL DEFAULT 'UTC',"
     "  updated_at_ms BIGINT NOT NULL,"
     "  PRIMARY KEY (tenant_id, user_id));"
     "CREATE TABLE jobs ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  job_id TEXT NOT NULL,"
     "  title TEXT NOT NULL DEFAULT '',"
     "  company TEXT NOT NULL DEFAULT '',"
     "  industry TEXT NOT NULL DEFAULT '',"
     "  location TEXT NOT NULL DEFAULT '',"
     "  attributes_json TEXT NOT NULL DEFAULT '{}',"
     "  updated_at_ms BIGINT NOT NULL,"
     "  PRIMARY KEY (tenant_id, job_id));"
     "CREATE TABLE applications ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  application_id TEXT NOT NULL,"
     "  user_id TEXT NOT NULL,"
     "  job_id TEXT NOT NULL DEFAULT '',"
     "  stage TEXT NOT NULL,"
     "  applied_at_ms BIGINT,"
     "  first_response_at_ms BIGINT,"
     "  updated_at_ms BIGINT NOT NULL,"
     "  PRIMARY KEY (tenant_id, application_id));"
     "CREATE INDEX applications_by_user ON applications (tenant_id, user_id);"
     "CREATE TABLE alert_rules ("
     "  id INTEGER PRIMARY KEY,"
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  name TEXT NOT NULL,"
     "  definition_json TEXT NOT NULL,"
     "  enabled INTEGER NOT NULL DEFAULT 1,"
     "  created_at_ms BIGINT NOT NULL);"
     "CREATE TABLE alerts ("
     "  id INTEGER PRIMARY KEY,"
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  rule_id BIGINT NOT NULL REFERENCES alert_rules(id),"
     "  fired_at_ms BIGINT NOT NULL,"
     "  resolved_at_ms BIGINT,"
     "  details_json TEXT NOT NULL);"
     "CREATE TABLE notifications ("
     "  id INTEGER PRIMARY KEY,"
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  user_id TEXT NOT NULL,"
     "  kind TEXT NOT NULL,"
     "  body_json TEXT NOT NULL,"
     "  created_at_ms BIGINT NOT NULL,"
     "  read_at_ms BIGINT);"
     "CREATE INDEX notifications_by_user ON notifications (tenant_id, user_id, id);"
     "CREATE TABLE report_schedules ("
     "  id INTEGER PRIMARY KEY,"
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  user_id TEXT NOT NULL,"
     "  report TEXT NOT NULL,"
     "  cron TEXT NOT NULL,"
     "  timezone TEXT NOT NULL,"
     "  format TEXT NOT NULL,"
     "  recipients TEXT NOT NULL,"
     "  created_at_ms BIGINT NOT NULL);"
     "CREATE TABLE report_runs ("
     "  id INTEGER PRIMARY KEY,"
     "  schedule_id BIGINT NOT NULL REFERENCES report_schedules(id),"
     "  started_ms BIGINT NOT NULL,"
     "  finished_ms BIGINT,"
     "  status TEXT NOT NULL,"
     "  message TEXT NOT NULL DEFAULT '');"
     "CREATE TABLE webhooks ("
     "  id INTEGER PRIMARY KEY,"
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  url TEXT NOT NULL,"
     "  events TEXT NOT NULL,"
     "  secret_hash TEXT NOT NULL,"
     "  enabled INTEGER NOT NULL DEFAULT 1,"
     "  created_at_ms BIGINT NOT NULL);"
     "CREATE TABLE webhook_deliveries ("
     "  id INTEGER PRIMARY KEY,"
     "  webhook_id BIGINT NOT NULL REFERENCES webhooks(id),"
     "  payload_json TEXT NOT NULL,"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  status TEXT NOT NULL,"
     "  next_attempt_ms BIGINT,"
     "  last_error TEXT NOT NULL DEFAULT '',"
     "  created_at_ms BIGINT NOT NULL);"
     "CREATE TABLE export_jobs ("
     "  id TEXT PRIMARY KEY,"
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  request_json TEXT NOT NULL,"
     "  status TEXT NOT NULL,"
     "  rows BIGINT NOT NULL DEFAULT 0,"
     "  bytes BIGINT NOT NULL DEFAULT 0,"
     "  file TEXT NOT NULL DEFAULT '',"
     "  error TEXT NOT NULL DEFAULT '',"
     "  created_at_ms BIGINT NOT NULL,"
     "  finished_at_ms BIGINT);"
     "CREATE TABLE deletion_receipts ("
     "  id INTEGER PRIMARY KEY,"
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  user_id TEXT NOT NULL,"
     "  requested_at_ms BIGINT NOT NULL,"
     "  receipt_json TEXT NOT NULL);"},
    // A job seeker's search and application activity, from the rollups' consumer (UserActivityRow):
    // the cold dashboard reads it by key. Clustered by its key (WITHOUT ROWID).
    {8,
     "CREATE TABLE user_activity ("
     "  tenant_id BIGINT NOT NULL REFERENCES tenants(id),"
     "  user_id TEXT NOT NULL,"
     "  ts_ms BIGINT NOT NULL,"
     "  event_id TEXT NOT NULL,"
     "  type TEXT NOT NULL,"
     "  application_id TEXT NOT NULL DEFAULT '',"
     "  status TEXT NOT NULL DEFAULT '',"
     "  properties_json TEXT NOT NULL DEFAULT '{}',"
     "  PRIMARY KEY (tenant_id, user_id, ts_ms, event_id)) WITHOUT ROWID;"},
};

/// The columns of an ExportJobRow, in the order ExportJobFromRow reads them (`e` is export_jobs,
/// `t` tenants).
constexpr const char* kExportJobColumns =
    "SELECT e.id, t.name, e.request_json, e.status, e.rows, e.bytes, e.file, e.error,"
    " e.created_at_ms, e.finished_at_ms FROM export_jobs e JOIN tenants t ON t.id = e.tenant_id";

/// The counters of a daily_user_metrics row, in the order the statements below use them.
constexpr const char* kDailyColumns =
    "page_views, job_views, saves, applications, responses, interviews, offers, seconds_spent";
/// The sums of kDailyColumns of the rows `m` of one group, in the same order.
constexpr const char* kWeeklyColumns =
    "CAST(SUM(m.page_views) AS BIGINT), CAST(SUM(m.job_views) AS BIGINT),"
    " CAST(SUM(m.saves) AS BIGINT), CAST(SUM(m.applications) AS BIGINT),"
    " CAST(SUM(m.responses) AS BIGINT), CAST(SUM(m.interviews) AS BIGINT),"
    " CAST(SUM(m.offers) AS BIGINT), SUM(m.seconds_spent)";

/// The columns of a tenant row, in the order TenantFromRow reads them.
constexpr const char* kTenantColumns =
    "SELECT id, name, created_at_ms, retention_days, consent_policy, late_days, keep_raw_ip,"
    " pii_allowed_keys FROM tenants";

std::vector<std::string> SplitOrigins(const std::string& stored) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < stored.size()) {
    size_t end = stored.find(' ', start);
    if (end == std::string::npos) end = stored.size();
    if (end > start) out.push_back(stored.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

constexpr size_t kMaxEventTypeNameBytes = 128;

ErrorCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kUnavailable;
    case SQLITE_FULL:
      return ErrorCode::kDiskFull;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kCorruption;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return ErrorCode::kIoError;
    default:
      return ErrorCode::kInternal;
  }
}

/// A prepared statement, finalized when it goes out of scope, or, when it came from the
/// connection's StatementCache, reset and handed back for the next use.
class Statement {
 public:
  Statement(Statement&& other) noexcept
      : db_(other.db_),
        stmt_(std::exchange(other.stmt_, nullptr)),
        path_(other.path_),
        lent_(std::exchange(other.lent_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (lent_ == nullptr) {
      sqlite3_finalize(stmt_);
      return;
    }
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *lent_ = false;
  }

  /// Prepares `sql` for this statement alone. `path` names the store in errors and must
  /// outlive the statement.
  static Result<Statement> Prepare(sqlite3* db, std::string_view sql, std::string_view path) {
    CA_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, PrepareRaw(db, sql, path));
    return Statement(db, stmt, path, nullptr);
  }

  /// Wraps a cached statement; `lent` is set while this object uses it.
  static Statement Borrow(sqlite3* db, sqlite3_stmt* stmt, std::string_view path, bool* lent) {
    *lent = true;
    return Statement(db, stmt, path, lent);
  }

  static Result<sqlite3_stmt*> PrepareRaw(sqlite3* db, std::string_view sql,
                                          std::string_view path) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Status(CodeFor(rc), std::string("state store ") + std::string(path) +
                                     ": prepare failed: " + sqlite3_errmsg(db));
    }
    return stmt;
  }

  void BindText(int index, std::string_view value) {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  }
  void BindInt64(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void BindNull(int index) { sqlite3_bind_null(stmt_, index); }
  void BindDouble(int index, double value) { sqlite3_bind_double(stmt_, index, value); }
  /// Makes the statement ready to run again (bindings are kept until rebound).
  void Reset() { sqlite3_reset(stmt_); }

  /// True when a row is available, false when the statement is done.
  Result<bool> Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Status(CodeFor(rc), "state store " + std::string(path_) + ": " + sqlite3_errmsg(db_));
  }

  int64_t ColumnInt64(int index) { return sqlite3_column_int64(stmt_, index); }
  bool ColumnIsNull(int index) { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
  double ColumnDouble(int index) { return sqlite3_column_double(stmt_, index); }
  std::string ColumnText(int index) {
    const unsigned char* text = sqlite3_column_text(stmt_, index);
    int size = sqlite3_column_bytes(stmt_, index);
    return text ? std::string(reinterpret_cast<const char*>(text), size) : std::string();
  }

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string_view path, bool* lent)
      : db_(db), stmt_(stmt), path_(path), lent_(lent) {}

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string_view path_;
  bool* lent_ = nullptr;  // The cache entry's in-use flag, or null for an own statement.
};

/// The connection's prepared statements by SQL text. Preparing parses and plans the SQL, which
/// costs more than running a point query: a profile lookup at ingest spent two thirds of its
/// time there. A statement in use (a nested use of the same SQL) is prepared afresh.
class StatementCache {
 public:
  StatementCache() = default;
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  ~StatementCache() { Clear(); }

  Result<Statement> Prepare(sqlite3* db, std::string_view sql, std::string_view path) {
    auto it = entries_.find(sql);
    if (it == entries_.end()) {
      if (entries_.size() >= kMaxEntries) return Statement::Prepare(db, sql, path);
      CA_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Statement::PrepareRaw(db, sql, path));
      it = entries_.emplace(std::string(sql), Entry{stmt, false}).first;
    }
    if (it->second.lent) return Statement::Prepare(db, sql, path);
    return Statement::Borrow(db, it->second.stmt, path, &it->second.lent);
  }

  /// Finalizes every statement; none may be in use.
  void Clear() {
    for (auto& [sql, entry] : entries_) sqlite3_finalize(entry.stmt);
    entries_.clear();
  }

 private:
  // SQL built from parameters (IN lists, column lists) could grow the cache without end; past
  // this many texts, statements are prepared for one use.
  static constexpr size_t kMaxEntries = 256;

  struct Entry {
    sqlite3_stmt* stmt;
    bool lent;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Node-based, so an entry's `lent` flag stays put while the map grows.
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
};

class SqliteStateStore final : public StateStore {
 public:
  SqliteStateStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteStateStore() override {
    statements_.Clear();
    sqlite3_close_v2(db_);
  }

  SqliteStateStore(const SqliteStateStore&) = delete;
  SqliteStateStore& operator=(const SqliteStateStore&) = delete;

  Status Init() {
    std::lock_guard lock(mu_);
    sqlite3_busy_timeout(db_, kSqliteBusyTimeoutMs);
    sqlite3_extended_result_codes(db_, 1);
    CA_ASSIGN_OR_RETURN(std::string mode, QueryText("PRAGMA journal_mode=WAL"));
    if (mode != "wal" && !(path_ == ":memory:" && mode == "memory")) {
      return IoError("state store " + path_ + ": cannot enable WAL journal mode (got '" + mode +
                     "')");
    }
    CA_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
    return Migrate();
  }

  Result<Tenant> GetOrCreateTenant(std::string_view name) override {
    CA_RETURN_IF_ERROR(CheckTenantName(name));
    std::lock_guard lock(mu_);
    Tenant tenant;
    CA_RETURN_IF_ERROR(InWriteTransaction([&]() -> Status {
      CA_ASSIGN_OR_RETURN(tenant, GetOrCreateTenantLocked(name));
      return Status::Ok();
    }));
    return tenant;
  }

  Result<std::optional<Tenant>> FindTenant(std::string_view name) override {
    CA_RETURN_IF_ERROR(CheckTenantName(name));
    std::lock_guard lock(mu_);
    return FindTenantLocked(name);
  }

  Result<std::vector<Tenant>> ListTenants() override {
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt, Prepare(std::string(kTenantColumns) + " ORDER BY name"));
    std::vector<Tenant> tenants;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      tenants.push_back(TenantFromRow(stmt));
    }
    return tenants;
  }

  Status SetTenantRetention(std::string_view tenant_name, int days) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    if (days < 0 || days > 36500) {
      return InvalidArgument("retention must be 0 (forever) to 36500 days, not " +
                             std::to_string(days));
    }
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("UPDATE tenants SET retention_days = ?1 WHERE name = ?2"));
    stmt.BindInt64(1, days);
    stmt.BindText(2, tenant_name);
    CA_RETURN_IF_ERROR(stmt.Step().status());
    if (sqlite3_changes(db_) == 0) {
      return NotFound("no tenant '" + std::string(tenant_name) + "'");
    }
    return Status::Ok();
  }

  Result<CreatedKeys> CreateKeys(std::string_view tenant_name) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CreatedKeys keys;
    keys.tenant = std::string(tenant_name);
    keys.write_key = GenerateApiKey(KeyKind::kWrite);
    keys.secret_key = GenerateApiKey(KeyKind::kSecret);
    CA_RETURN_IF_ERROR(InWriteTransaction([&]() -> Status {
      CA_ASSIGN_OR_RETURN(Tenant tenant, GetOrCreateTenantLocked(tenant_name));
      CA_RETURN_IF_ERROR(InsertKeyLocked(tenant.id, KeyKind::kWrite, keys.write_key));
      return InsertKeyLocked(tenant.id, KeyKind::kSecret, keys.secret_key);
    }));
    return keys;
  }

  Result<std::optional<KeyMatch>> LookupKey(std::string_view presented_key) override {
    std::optional<ParsedKey> parsed = ParseApiKey(presented_key);
    if (!parsed) return std::optional<KeyMatch>();
    std::string hash = Sha256Hex(presented_key);
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare("SELECT k.key_hash, k.tenant_id, t.name, k.allowed_origins FROM api_keys k"
                " JOIN tenants t ON t.id = k.tenant_id"
                " WHERE k.key_id = ?1 AND k.kind = ?2 AND k.revoked_at_ms IS NULL"));
    stmt.BindText(1, parsed->key_id);
    stmt.BindText(2, KeyKindName(parsed->kind));
    std::optional<KeyMatch> match;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      std::string stored = stmt.ColumnText(0);
      if (stored.size() == hash.size() &&
          CRYPTO_memcmp(stored.data(), hash.data(), hash.size()) == 0) {
        match = KeyMatch{stmt.ColumnInt64(1), stmt.ColumnText(2), parsed->kind,
                         SplitOrigins(stmt.ColumnText(3))};
      }
    }
    return match;
  }

  Status SetAllowedOrigins(std::string_view presented_key,
                           const std::vector<std::string>& origins) override {
    if (origins.size() > 100) return InvalidArgument("at most 100 allowed origins per key");
    std::string joined;
    for (const std::string& origin : origins) {
      if (!IsValidOrigin(origin)) {
        return InvalidArgument("'" + origin +
                               "' is not an origin like https://jobs.example.com or "
                               "http://localhost:3000 (lower case, no path)");
      }
      if (!joined.empty()) joined += ' ';
      joined += origin;
    }
    CA_ASSIGN_OR_RETURN(std::optional<KeyMatch> match, LookupKey(presented_key));
    if (!match || match->kind != KeyKind::kWrite) return NotFound("no such write key");
    const std::optional<ParsedKey> parsed = ParseApiKey(presented_key);
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("UPDATE api_keys SET allowed_origins = ?1"
                                " WHERE key_id = ?2 AND key_hash = ?3 AND kind = 'write'"));
    stmt.BindText(1, joined);
    stmt.BindText(2, parsed->key_id);
    stmt.BindText(3, Sha256Hex(presented_key));
    CA_RETURN_IF_ERROR(stmt.Step().status());
    if (sqlite3_changes(db_) == 0) return NotFound("no such write key");
    return Status::Ok();
  }

  Status AddCustomEventType(std::string_view tenant_name, const CustomEventTypeRow& row) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    CA_RETURN_IF_ERROR(CheckEventTypeName(row.name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(
        std::string json_type,
        QueryText("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) ELSE 'invalid' END",
                  row.required_properties_json));
    if (json_type != "object") {
      return InvalidArgument("required properties of event type '" + row.name +
                             "' must be a JSON object");
    }
    return InWriteTransaction([&]() -> Status {
      CA_ASSIGN_OR_RETURN(std::optional<Tenant> tenant, FindTenantLocked(tenant_name));
      if (!tenant) return NotFound("unknown tenant '" + std::string(tenant_name) + "'");
      CA_ASSIGN_OR_RETURN(
          Statement stmt,
          Prepare("INSERT INTO custom_event_types"
                  " (tenant_id, name, required_properties_json, created_at_ms)"
                  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, name)"
                  " DO UPDATE SET required_properties_json = excluded.required_properties_json"));
      stmt.BindInt64(1, tenant->id);
      stmt.BindText(2, row.name);
      stmt.BindText(3, row.required_properties_json);
      stmt.BindInt64(4, NowMillis());
      return stmt.Step().status();
    });
  }

  Result<std::vector<CustomEventTypeRow>> ListCustomEventTypes(
      std::string_view tenant_name) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("SELECT e.name, e.required_properties_json"
                                " FROM custom_event_types e JOIN tenants t ON t.id = e.tenant_id"
                                " WHERE t.name = ?1 ORDER BY e.name"));
    stmt.BindText(1, tenant_name);
    std::vector<CustomEventTypeRow> rows;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      rows.push_back({stmt.ColumnText(0), stmt.ColumnText(1)});
    }
    return rows;
  }

  Status AddDeadLetters(std::string_view tenant_name, const std::vector<DeadLetter>& letters,
                        uint64_t keep_at_most) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    return InWriteTransaction([&]() -> Status {
      CA_ASSIGN_OR_RETURN(std::optional<Tenant> tenant, FindTenantLocked(tenant_name));
      if (!tenant) return NotFound("unknown tenant '" + std::string(tenant_name) + "'");
      for (const DeadLetter& letter : letters) {
        CA_ASSIGN_OR_RETURN(Statement stmt,
                            Prepare("INSERT INTO dead_letters"
                                    " (tenant_id, received_at_ms, code, message, format, raw)"
                                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
        stmt.BindInt64(1, tenant->id);
        stmt.BindInt64(2, letter.received_at_ms);
        stmt.BindText(3, letter.code);
        stmt.BindText(4, letter.message);
        stmt.BindText(5, letter.format);
        stmt.BindText(6, letter.raw);
        CA_RETURN_IF_ERROR(stmt.Step().status());
      }
      CA_ASSIGN_OR_RETURN(
          Statement trim,
          Prepare("DELETE FROM dead_letters WHERE tenant_id = ?1 AND id <= (SELECT id FROM"
                  " dead_letters WHERE tenant_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)"));
      trim.BindInt64(1, tenant->id);
      trim.BindInt64(2, static_cast<int64_t>(keep_at_most));
      return trim.Step().status();
    });
  }

  Result<std::vector<DeadLetter>> ListDeadLetters(std::string_view tenant_name, int64_t after_id,
                                                  size_t limit) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("SELECT d.id, d.received_at_ms, d.code, d.message, d.format, d.raw"
                                " FROM dead_letters d JOIN tenants t ON t.id = d.tenant_id"
                                " WHERE t.name = ?1 AND d.id > ?2 ORDER BY d.id LIMIT ?3"));
    stmt.BindText(1, tenant_name);
    stmt.BindInt64(2, after_id);
    stmt.BindInt64(3, static_cast<int64_t>(limit));
    std::vector<DeadLetter> letters;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      letters.push_back({stmt.ColumnInt64(0), stmt.ColumnInt64(1), stmt.ColumnText(2),
                         stmt.ColumnText(3), stmt.ColumnText(4), stmt.ColumnText(5)});
    }
    return letters;
  }

  Result<uint64_t> CountDeadLetters(std::string_view tenant_name) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt, Prepare("SELECT COUNT(*) FROM dead_letters d JOIN tenants t"
                                                " ON t.id = d.tenant_id WHERE t.name = ?1"));
    stmt.BindText(1, tenant_name);
    CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    return has_row ? static_cast<uint64_t>(stmt.ColumnInt64(0)) : 0;
  }

  Result<DeadLetterOverview> OverviewDeadLetters(std::string_view tenant_name,
                                                 size_t recent) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    DeadLetterOverview overview;
    {
      CA_ASSIGN_OR_RETURN(Statement stmt,
                          Prepare("SELECT d.code, COUNT(*) AS n FROM dead_letters d JOIN tenants t"
                                  " ON t.id = d.tenant_id WHERE t.name = ?1 GROUP BY d.code"
                                  " ORDER BY n DESC, d.code"));
      stmt.BindText(1, tenant_name);
      while (true) {
        CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
        if (!has_row) break;
        const auto n = static_cast<uint64_t>(stmt.ColumnInt64(1));
        overview.by_code.emplace_back(stmt.ColumnText(0), n);
        overview.total += n;
      }
    }
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("SELECT d.id, d.received_at_ms, d.code, d.message, d.format"
                                " FROM dead_letters d JOIN tenants t ON t.id = d.tenant_id"
                                " WHERE t.name = ?1 ORDER BY d.id DESC LIMIT ?2"));
    stmt.BindText(1, tenant_name);
    stmt.BindInt64(2, static_cast<int64_t>(std::min<uint64_t>(recent, INT64_MAX)));
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      overview.recent.push_back({stmt.ColumnInt64(0), stmt.ColumnInt64(1), stmt.ColumnText(2),
                                 stmt.ColumnText(3), stmt.ColumnText(4), ""});
    }
    return overview;
  }

  Status DeleteDeadLetters(std::string_view tenant_name, const std::vector<int64_t>& ids) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    return InWriteTransaction([&]() -> Status {
      for (int64_t id : ids) {
        CA_ASSIGN_OR_RETURN(Statement stmt,
                            Prepare("DELETE FROM dead_letters WHERE id = ?1 AND tenant_id ="
                                    " (SELECT id FROM tenants WHERE name = ?2)"));
        stmt.BindInt64(1, id);
        stmt.BindText(2, tenant_name);
        CA_RETURN_IF_ERROR(stmt.Step().status());
      }
      return Status::Ok();
    });
  }

  Status SetIngestPolicy(std::string_view tenant_name, const IngestPolicy& policy) override {
    if (policy.consent != "drop" && policy.consent != "anonymize") {
      return InvalidArgument("consent policy must be drop or anonymize, not '" +
                             policy.consent.substr(0, 40) + "'");
    }
    if (policy.late_days < 1 || policy.late_days > 3650) {
      return InvalidArgument("late events bound must be 1 to 3650 days, not " +
                             std::to_string(policy.late_days));
    }
    if (policy.pii_allowed_keys.size() > 100) {
      return InvalidArgument("at most 100 allowed keys per tenant");
    }
    std::string keys;
    for (const std::string& key : policy.pii_allowed_keys) {
      bool ok = !key.empty() && key.size() <= 128;
      for (char c : key) ok = ok && static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
      if (!ok) {
        return InvalidArgument("allowed key '" + key.substr(0, 40) +
                               "': must be 1 to 128 bytes without spaces or control characters");
      }
      keys += (keys.empty() ? "" : " ") + key;
    }
    return WithTenant(tenant_name, [&](int64_t tenant_id) -> Status {
      CA_ASSIGN_OR_RETURN(Statement stmt,
                          Prepare("UPDATE tenants SET consent_policy = ?1, late_days = ?2,"
                                  " keep_raw_ip = ?3, pii_allowed_keys = ?4 WHERE id = ?5"));
      stmt.BindText(1, policy.consent);
      stmt.BindInt64(2, policy.late_days);
      if (policy.keep_raw_ip) {
        stmt.BindInt64(3, *policy.keep_raw_ip ? 1 : 0);
      } else {
        stmt.BindNull(3);
      }
      stmt.BindText(4, keys);
      stmt.BindInt64(5, tenant_id);
      return stmt.Step().status();
    });
  }

  Status SuppressUsers(std::string_view tenant_name, const std::vector<std::string>& user_ids,
                       int64_t now_ms) override {
    return WithTenant(tenant_name, [&](int64_t tenant_id) -> Status {
      for (const std::string& user : user_ids) {
        CA_ASSIGN_OR_RETURN(Statement stmt,
                            Prepare("INSERT INTO suppressed_users (tenant_id, user_id, added_at_ms)"
                                    " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"));
        stmt.BindInt64(1, tenant_id);
        stmt.BindText(2, user);
        stmt.BindInt64(3, now_ms);
        CA_RETURN_IF_ERROR(stmt.Step().status());
      }
      return Status::Ok();
    });
  }

  Result<std::vector<std::string>> ListSuppressedUsers(std::string_view tenant_name) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("SELECT s.user_id FROM suppressed_users s JOIN tenants t"
                                " ON t.id = s.tenant_id WHERE t.name = ?1 ORDER BY s.user_id"));
    stmt.BindText(1, tenant_name);
    std::vector<std::string> users;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      users.push_back(stmt.ColumnText(0));
    }
    return users;
  }

  Status MarkRecomputeDays(std::string_view tenant_name, const std::vector<int64_t>& days,
                           int64_t now_ms) override {
    return WithTenant(tenant_name, [&](int64_t tenant_id) -> Status {
      for (int64_t day : days) {
        CA_ASSIGN_OR_RETURN(Statement stmt,
                            Prepare("INSERT INTO recompute_days (tenant_id, day, marked_at_ms)"
                                    " VALUES (?1, ?2, ?3) ON CONFLICT (tenant_id, day)"
                                    " DO UPDATE SET marked_at_ms = excluded.marked_at_ms"));
        stmt.BindInt64(1, tenant_id);
        stmt.BindInt64(2, day);
        stmt.BindInt64(3, now_ms);
        CA_RETURN_IF_ERROR(stmt.Step().status());
      }
      return Status::Ok();
    });
  }

  Result<std::vector<int64_t>> ListRecomputeDays(std::string_view tenant_name) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("SELECT r.day FROM recompute_days r JOIN tenants t"
                                " ON t.id = r.tenant_id WHERE t.name = ?1 ORDER BY r.day"));
    stmt.BindText(1, tenant_name);
    std::vector<int64_t> days;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      days.push_back(stmt.ColumnInt64(0));
    }
    return days;
  }

  Status MergeUserTraits(std::string_view tenant_name, std::string_view user_id,
                         std::string_view traits_json, int64_t now_ms) override {
    if (user_id.empty()) return InvalidArgument("user id must not be empty");
    auto traits = nlohmann::json::parse(traits_json, nullptr, /*allow_exceptions=*/false);
    if (!traits.is_object()) return InvalidArgument("traits must be a JSON object");
    return WithTenant(tenant_name, [&](int64_t tenant_id) -> Status {
      CA_ASSIGN_OR_RETURN(Statement read, Prepare("SELECT traits_json FROM user_traits"
                                                  " WHERE tenant_id = ?1 AND user_id = ?2"));
      read.BindInt64(1, tenant_id);
      read.BindText(2, user_id);
      CA_ASSIGN_OR_RETURN(bool has_row, read.Step());
      nlohmann::json merged = nlohmann::json::object();
      if (has_row) {
        merged = nlohmann::json::parse(read.ColumnText(0), nullptr, false);
        if (!merged.is_object()) merged = nlohmann::json::object();
      }
      merged.update(traits);
      CA_ASSIGN_OR_RETURN(
          Statement write,
          Prepare(
              "INSERT INTO user_traits (tenant_id, user_id, traits_json, updated_at_ms)"
              " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, user_id) DO UPDATE"
              " SET traits_json = excluded.traits_json, updated_at_ms = excluded.updated_at_ms"));
      write.BindInt64(1, tenant_id);
      write.BindText(2, user_id);
      write.BindText(3, merged.dump());
      write.BindInt64(4, now_ms);
      return write.Step().status();
    });
  }

  Result<std::optional<std::string>> GetUserTraits(std::string_view tenant_name,
                                                   std::string_view user_id) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("SELECT u.traits_json FROM user_traits u JOIN tenants t"
                                " ON t.id = u.tenant_id WHERE t.name = ?1 AND u.user_id = ?2"));
    stmt.BindText(1, tenant_name);
    stmt.BindText(2, user_id);
    CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return std::optional<std::string>();
    return std::optional<std::string>(stmt.ColumnText(0));
  }

  Status ForgetUser(std::string_view tenant_name, std::string_view user_id) override {
    return WithTenant(tenant_name, [&](int64_t tenant_id) -> Status {
      for (const char* sql : {"DELETE FROM user_traits WHERE tenant_id = ?1 AND user_id = ?2",
                              "DELETE FROM daily_user_metrics"
                              " WHERE tenant_id = ?1 AND user_id = ?2",
                              "DELETE FROM user_activity WHERE tenant_id = ?1 AND user_id = ?2"}) {
        CA_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
        stmt.BindInt64(1, tenant_id);
        stmt.BindText(2, user_id);
        CA_RETURN_IF_ERROR(stmt.Step().status());
      }
      return Status::Ok();
    });
  }

  Status AddRollups(std::string_view consumer, int64_t position,
                    const std::vector<DailyUserMetricsRow>& deltas,
                    const std::vector<UserActivityRow>& activity) override {
    for (const DailyUserMetricsRow& row : deltas) {
      CA_RETURN_IF_ERROR(CheckTenantName(row.tenant));
      if (row.user_id.empty()) return InvalidArgument("daily metrics: empty user id");
    }
    CA_RETURN_IF_ERROR(CheckUserActivityRows(activity));
    std::lock_guard lock(mu_);
    return InWriteTransaction([&]() -> Status {
      std::map<std::string, int64_t, std::less<>> tenant_ids;
      CA_RETURN_IF_ERROR(InsertActivityLocked(activity, &tenant_ids));
      CA_ASSIGN_OR_RETURN(
          Statement add,
          Prepare(std::string("INSERT INTO daily_user_metrics (tenant_id, user_id, day, ") +
                  kDailyColumns +
                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                  " ON CONFLICT (tenant_id, user_id, day) DO UPDATE SET"
                  " page_views = page_views + excluded.page_views,"
                  " job_views = job_views + excluded.job_views,"
                  " saves = saves + excluded.saves,"
                  " applications = applications + excluded.applications,"
                  " responses = responses + excluded.responses,"
                  " interviews = interviews + excluded.interviews,"
                  " offers = offers + excluded.offers,"
                  " seconds_spent = seconds_spent + excluded.seconds_spent"));
      for (const DailyUserMetricsRow& row : deltas) {
        auto it = tenant_ids.find(row.tenant);
        if (it == tenant_ids.end()) {
          CA_ASSIGN_OR_RETURN(Tenant tenant, GetOrCreateTenantLocked(row.tenant));
          it = tenant_ids.emplace(row.tenant, tenant.id).first;
        }
        add.Reset();
        add.BindInt64(1, it->second);
        add.BindText(2, row.user_id);
        add.BindInt64(3, row.day);
        BindDaily(add, 4, row.metrics);
        CA_RETURN_IF_ERROR(add.Step().status());
      }
      CA_ASSIGN_OR_RETURN(Statement record,
                          Prepare("INSERT INTO consumer_positions (name, position, updated_at_ms)"
                                  " VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET"
                                  " position = excluded.position,"
                                  " updated_at_ms = excluded.updated_at_ms"));
      record.BindText(1, consumer);
      record.BindInt64(2, position);
      record.BindInt64(3, NowMillis());
      return record.Step().status();
    });
  }

  Status AddUserActivity(const std::vector<UserActivityRow>& activity) override {
    CA_RETURN_IF_ERROR(CheckUserActivityRows(activity));
    std::lock_guard lock(mu_);
    return InWriteTransaction([&]() -> Status {
      std::map<std::string, int64_t, std::less<>> tenant_ids;
      return InsertActivityLocked(activity, &tenant_ids);
    });
  }

  Result<std::vector<UserActivityRow>> ListUserActivity(std::string_view tenant_name,
                                                        std::string_view user_id, int64_t from_ms,
                                                        int64_t to_ms, size_t limit) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare("SELECT a.ts_ms, a.event_id, a.type, a.application_id, a.status,"
                " a.properties_json FROM user_activity a JOIN tenants t ON t.id = a.tenant_id"
                " WHERE t.name = ?1 AND a.user_id = ?2 AND a.ts_ms >= ?3 AND a.ts_ms < ?4"
                " ORDER BY a.ts_ms DESC, a.event_id DESC LIMIT ?5"));
    stmt.BindText(1, tenant_name);
    stmt.BindText(2, user_id);
    stmt.BindInt64(3, from_ms);
    stmt.BindInt64(4, to_ms);
    stmt.BindInt64(5, limit == 0 ? -1 : static_cast<int64_t>(limit));
    std::vector<UserActivityRow> out;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      UserActivityRow& row = out.emplace_back();
      row.tenant = std::string(tenant_name);
      row.user_id = std::string(user_id);
      row.timestamp_ms = stmt.ColumnInt64(0);
      row.event_id = stmt.ColumnText(1);
      row.type = stmt.ColumnText(2);
      row.application_id = stmt.ColumnText(3);
      row.status = stmt.ColumnText(4);
      row.properties_json = stmt.ColumnText(5);
    }
    return out;
  }

  Result<int64_t> PruneUserActivity(int64_t before_ms) override {
    std::lock_guard lock(mu_);
    int64_t deleted = 0;
    CA_RETURN_IF_ERROR(InWriteTransaction([&]() -> Status {
      CA_ASSIGN_OR_RETURN(Statement stmt, Prepare("DELETE FROM user_activity WHERE ts_ms < ?1"));
      stmt.BindInt64(1, before_ms);
      CA_RETURN_IF_ERROR(stmt.Step().status());
      deleted = sqlite3_changes(db_);
      return Status::Ok();
    }));
    return deleted;
  }

  Result<std::optional<int64_t>> ConsumerPosition(std::string_view consumer) override {
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("SELECT position FROM consumer_positions WHERE name = ?1"));
    stmt.BindText(1, consumer);
    CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return std::optional<int64_t>();
    return std::optional<int64_t>(stmt.ColumnInt64(0));
  }

  Result<std::vector<DailyUserMetricsRow>> ListDailyUserMetrics(std::string_view tenant_name,
                                                                std::string_view user_id,
                                                                int64_t first_day,
                                                                int64_t last_day) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    return MetricsRows(std::string("m.day, ") + kDailyColumns, " ORDER BY m.day, m.user_id",
                       tenant_name, user_id, first_day, last_day);
  }

  Status UpsertMarketTrends(std::string_view tenant_name,
                            const std::vector<MarketTrendRow>& rows) override {
    for (const MarketTrendRow& row : rows) {
      if (NormaliseKey(row.industry).empty() || NormaliseKey(row.location).empty()) {
        return InvalidArgument("market trends: empty industry or location");
      }
    }
    return WithTenant(tenant_name, [&](int64_t tenant_id) -> Status {
      CA_ASSIGN_OR_RETURN(
          Statement stmt,
          Prepare("INSERT INTO job_market_trends (tenant_id, day, industry, location,"
                  " industry_key, location_key, average_salary, postings, competition)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                  " ON CONFLICT (tenant_id, industry_key, location_key, day) DO UPDATE SET"
                  " industry = excluded.industry, location = excluded.location,"
                  " average_salary = excluded.average_salary, postings = excluded.postings,"
                  " competition = excluded.competition"));
      for (const MarketTrendRow& row : rows) {
        stmt.Reset();
        stmt.BindInt64(1, tenant_id);
        stmt.BindInt64(2, row.day);
        stmt.BindText(3, row.industry);
        stmt.BindText(4, row.location);
        stmt.BindText(5, NormaliseKey(row.industry));
        stmt.BindText(6, NormaliseKey(row.location));
        stmt.BindDouble(7, row.average_salary);
        stmt.BindInt64(8, row.postings);
        stmt.BindDouble(9, row.competition);
        CA_RETURN_IF_ERROR(stmt.Step().status());
      }
      return Status::Ok();
    });
  }

  Result<std::vector<MarketTrendRow>> ListMarketTrends(std::string_view tenant_name,
                                                       std::string_view industry,
                                                       std::string_view location, int64_t first_day,
                                                       int64_t last_day) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    const std::string industry_key = NormaliseKey(industry);
    const std::string location_key = NormaliseKey(location);
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare("SELECT m.day, m.industry, m.location, m.average_salary, m.postings,"
                " m.competition FROM job_market_trends m JOIN tenants t ON t.id = m.tenant_id"
                " WHERE t.name = ?1 AND m.day BETWEEN ?2 AND ?3" +
                // Equalities the primary key can serve (an OR would hide it from the planner).
                std::string(industry_key.empty() ? " AND ?4 = ''" : " AND m.industry_key = ?4") +
                std::string(location_key.empty() ? " AND ?5 = ''" : " AND m.location_key = ?5") +
                " ORDER BY m.day, m.industry_key, m.location_key"));
    stmt.BindText(1, tenant_name);
    stmt.BindInt64(2, first_day);
    stmt.BindInt64(3, last_day);
    stmt.BindText(4, industry_key);
    stmt.BindText(5, location_key);
    std::vector<MarketTrendRow> rows;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      rows.push_back({stmt.ColumnInt64(0), stmt.ColumnText(1), stmt.ColumnText(2),
                      stmt.ColumnDouble(3), stmt.ColumnInt64(4), stmt.ColumnDouble(5)});
    }
    return rows;
  }

  Status UpsertExternalValues(std::string_view tenant_name, ExternalSeries series,
                              const std::vector<ExternalValueRow>& rows) override {
    for (const ExternalValueRow& row : rows) {
      if (NormaliseKey(row.scope).empty() || NormaliseKey(row.name).empty()) {
        return InvalidArgument("external values: empty scope or name");
      }
    }
    return WithTenant(tenant_name, [&](int64_t tenant_id) -> Status {
      CA_ASSIGN_OR_RETURN(
          Statement stmt,
          Prepare(std::string("INSERT INTO ") + ExternalTable(series) +
                  " (tenant_id, day, scope, name, scope_key, name_key, value)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                  " ON CONFLICT (tenant_id, scope_key, name_key, day) DO UPDATE SET"
                  " scope = excluded.scope, name = excluded.name, value = excluded.value"));
      for (const ExternalValueRow& row : rows) {
        stmt.Reset();
        stmt.BindInt64(1, tenant_id);
        stmt.BindInt64(2, row.day);
        stmt.BindText(3, row.scope);
        stmt.BindText(4, row.name);
        stmt.BindText(5, NormaliseKey(row.scope));
        stmt.BindText(6, NormaliseKey(row.name));
        stmt.BindDouble(7, row.value);
        CA_RETURN_IF_ERROR(stmt.Step().status());
      }
      return Status::Ok();
    });
  }

  Result<std::vector<ExternalValueRow>> ListExternalValues(std::string_view tenant_name,
                                                           ExternalSeries series,
                                                           std::string_view scope,
                                                           std::string_view name, int64_t first_day,
                                                           int64_t last_day) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare(std::string("SELECT v.day, v.scope, v.name, v.value FROM ") +
                ExternalTable(series) +
                " v JOIN tenants t ON t.id = v.tenant_id"
                " WHERE t.name = ?1 AND v.day BETWEEN ?2 AND ?3"
                " AND (?4 = '' OR v.scope_key = ?4) AND (?5 = '' OR v.name_key = ?5)"
                " ORDER BY v.day, v.scope_key, v.name_key"));
    stmt.BindText(1, tenant_name);
    stmt.BindInt64(2, first_day);
    stmt.BindInt64(3, last_day);
    stmt.BindText(4, NormaliseKey(scope));
    stmt.BindText(5, NormaliseKey(name));
    std::vector<ExternalValueRow> rows;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      rows.push_back(
          {stmt.ColumnInt64(0), stmt.ColumnText(1), stmt.ColumnText(2), stmt.ColumnDouble(3)});
    }
    return rows;
  }

  Result<std::vector<DailyUserMetricsRow>> ListWeeklyUserMetrics(std::string_view tenant_name,
                                                                 std::string_view user_id,
                                                                 int64_t first_day,
                                                                 int64_t last_day) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    // Day 0 (1970-01-01) was a Thursday: (day + 3) / 7 counts Monday-to-Sunday weeks.
    return MetricsRows(std::string("((m.day + 3) / 7) * 7 - 3 AS week, ") + kWeeklyColumns,
                       " GROUP BY week, m.user_id ORDER BY week, m.user_id", tenant_name, user_id,
                       first_day, last_day);
  }

  Status ReplaceDailyUserMetrics(std::string_view tenant_name, int64_t day,
                                 const std::vector<DailyUserMetricsRow>& rows) override {
    for (const DailyUserMetricsRow& row : rows) {
      if (row.tenant != tenant_name || row.day != day) {
        return InvalidArgument("replace daily metrics: a row of another tenant or day");
      }
      if (row.user_id.empty()) return InvalidArgument("daily metrics: empty user id");
    }
    return WithTenant(tenant_name, [&](int64_t tenant_id) -> Status {
      for (const char* sql : {"DELETE FROM daily_user_metrics WHERE tenant_id = ?1 AND day = ?2",
                              "DELETE FROM recompute_days WHERE tenant_id = ?1 AND day = ?2"}) {
        CA_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
        stmt.BindInt64(1, tenant_id);
        stmt.BindInt64(2, day);
        CA_RETURN_IF_ERROR(stmt.Step().status());
      }
      CA_ASSIGN_OR_RETURN(
          Statement insert,
          Prepare(std::string("INSERT INTO daily_user_metrics (tenant_id, user_id, day, ") +
                  kDailyColumns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
      for (const DailyUserMetricsRow& row : rows) {
        insert.Reset();
        insert.BindInt64(1, tenant_id);
        insert.BindText(2, row.user_id);
        insert.BindInt64(3, day);
        BindDaily(insert, 4, row.metrics);
        CA_RETURN_IF_ERROR(insert.Step().status());
      }
      return Status::Ok();
    });
  }

  Status CreateExportJob(const ExportJobRow& row) override {
    if (row.id.empty()) return InvalidArgument("export job: empty id");
    return WithTenant(row.tenant, [&](int64_t tenant_id) -> Status {
      CA_ASSIGN_OR_RETURN(
          Statement stmt,
          Prepare("INSERT INTO export_jobs (id, tenant_id, request_json, status, rows, bytes, file,"
                  " error, created_at_ms, finished_at_ms)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO NOTHING"));
      stmt.BindText(1, row.id);
      stmt.BindInt64(2, tenant_id);
      stmt.BindText(3, row.request_json);
      stmt.BindText(4, row.status);
      stmt.BindInt64(5, row.rows);
      stmt.BindInt64(6, row.bytes);
      stmt.BindText(7, row.file);
      stmt.BindText(8, row.error);
      stmt.BindInt64(9, row.created_at_ms);
      if (row.finished_at_ms) {
        stmt.BindInt64(10, *row.finished_at_ms);
      } else {
        stmt.BindNull(10);
      }
      CA_RETURN_IF_ERROR(stmt.Step().status());
      if (sqlite3_changes(db_) == 0) {
        return Status(ErrorCode::kAlreadyExists, "export job '" + row.id + "' already exists");
      }
      return Status::Ok();
    });
  }

  Status UpdateExportJob(const ExportJobRow& row) override {
    CA_RETURN_IF_ERROR(CheckTenantName(row.tenant));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare("UPDATE export_jobs SET status = ?1, rows = ?2, bytes = ?3, file = ?4, error = ?5,"
                " finished_at_ms = ?6 WHERE id = ?7"
                " AND tenant_id = (SELECT id FROM tenants WHERE name = ?8)"));
    stmt.BindText(1, row.status);
    stmt.BindInt64(2, row.rows);
    stmt.BindInt64(3, row.bytes);
    stmt.BindText(4, row.file);
    stmt.BindText(5, row.error);
    if (row.finished_at_ms) {
      stmt.BindInt64(6, *row.finished_at_ms);
    } else {
      stmt.BindNull(6);
    }
    stmt.BindText(7, row.id);
    stmt.BindText(8, row.tenant);
    CA_RETURN_IF_ERROR(stmt.Step().status());
    if (sqlite3_changes(db_) == 0) {
      return NotFound("no export job '" + row.id + "' of tenant '" + row.tenant + "'");
    }
    return Status::Ok();
  }

  Result<std::optional<ExportJobRow>> GetExportJob(std::string_view tenant_name,
                                                   std::string_view id) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt, Prepare(std::string(kExportJobColumns) +
                                                " WHERE t.name = ?1 AND e.id = ?2"));
    stmt.BindText(1, tenant_name);
    stmt.BindText(2, id);
    CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return std::optional<ExportJobRow>();
    return std::optional<ExportJobRow>(ExportJobFromRow(stmt));
  }

  Result<std::vector<ExportJobRow>> ListExportJobs(std::string_view status) override {
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare(std::string(kExportJobColumns) +
                                " WHERE ?1 = '' OR e.status = ?1 ORDER BY e.created_at_ms, e.id"));
    stmt.BindText(1, status);
    std::vector<ExportJobRow> jobs;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      jobs.push_back(ExportJobFromRow(stmt));
    }
    return jobs;
  }

  Status DeleteExportJob(std::string_view tenant_name, std::string_view id) override {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("DELETE FROM export_jobs WHERE id = ?1"
                                " AND tenant_id = (SELECT id FROM tenants WHERE name = ?2)"));
    stmt.BindText(1, id);
    stmt.BindText(2, tenant_name);
    return stmt.Step().status();
  }

 private:
  /// Inserts activity rows, keeping rows already there; `tenant_ids` caches tenant ids by name.
  /// Requires mu_ and a write transaction.
  Status InsertActivityLocked(const std::vector<UserActivityRow>& activity,
                              std::map<std::string, int64_t, std::less<>>* tenant_ids) {
    if (activity.empty()) return Status::Ok();
    CA_ASSIGN_OR_RETURN(
        Statement add,
        Prepare("INSERT INTO user_activity (tenant_id, user_id, ts_ms, event_id, type,"
                " application_id, status, properties_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                " ON CONFLICT (tenant_id, user_id, ts_ms, event_id) DO NOTHING"));
    for (const UserActivityRow& row : activity) {
      auto it = tenant_ids->find(row.tenant);
      if (it == tenant_ids->end()) {
        CA_ASSIGN_OR_RETURN(Tenant tenant, GetOrCreateTenantLocked(row.tenant));
        it = tenant_ids->emplace(row.tenant, tenant.id).first;
      }
      add.Reset();
      add.BindInt64(1, it->second);
      add.BindText(2, row.user_id);
      add.BindInt64(3, row.timestamp_ms);
      add.BindText(4, row.event_id);
      add.BindText(5, row.type);
      add.BindText(6, row.application_id);
      add.BindText(7, row.status);
      add.BindText(8, row.properties_json.empty() ? "{}" : row.properties_json);
      CA_RETURN_IF_ERROR(add.Step().status());
    }
    return Status::Ok();
  }

  static Status CheckTenantName(std::string_view name) {
    if (IsValidTenantName(name)) return Status::Ok();
    return InvalidArgument("invalid tenant name '" + std::string(name.substr(0, 80)) +
                           "': expected [a-z0-9][a-z0-9_-]{0,63}");
  }

  static Status CheckEventTypeName(std::string_view name) {
    if (name.empty() || name.size() > kMaxEventTypeNameBytes) {
      return InvalidArgument("event type name must be 1 to 128 bytes");
    }
    for (char c : name) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        return InvalidArgument("event type name must not contain control characters");
      }
    }
    return Status::Ok();
  }

  Result<Statement> Prepare(std::string_view sql) { return statements_.Prepare(db_, sql, path_); }

  Status RecordJobRun(std::string_view job, const JobRunRow& run) override {
    if (job.empty()) return InvalidArgument("job run: empty job name");
    std::lock_guard lock(mu_);
    return InWriteTransaction([&]() -> Status {
      CA_ASSIGN_OR_RETURN(Statement insert,
                          Prepare("INSERT INTO job_runs (job, started_ms, finished_ms, ok, message)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5)"));
      insert.BindText(1, job);
      insert.BindInt64(2, run.started_ms);
      insert.BindInt64(3, run.finished_ms);
      insert.BindInt64(4, run.ok ? 1 : 0);
      insert.BindText(5, run.message);
      CA_RETURN_IF_ERROR(insert.Step().status());
      CA_ASSIGN_OR_RETURN(Statement trim,
                          Prepare("DELETE FROM job_runs WHERE job = ?1 AND id NOT IN"
                                  " (SELECT id FROM job_runs WHERE job = ?1"
                                  " ORDER BY id DESC LIMIT 100)"));
      trim.BindText(1, job);
      return trim.Step().status();
    });
  }

  Result<std::vector<JobRunRow>> ListJobRuns(std::string_view job, size_t limit) override {
    std::lock_guard lock(mu_);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("SELECT started_ms, finished_ms, ok, message FROM job_runs"
                                " WHERE job = ?1 ORDER BY id DESC LIMIT ?2"));
    stmt.BindText(1, job);
    stmt.BindInt64(2, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
    std::vector<JobRunRow> runs;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      runs.push_back(
          {stmt.ColumnInt64(0), stmt.ColumnInt64(1), stmt.ColumnInt64(2) != 0, stmt.ColumnText(3)});
    }
    return runs;
  }

  static const char* ExternalTable(ExternalSeries series) {
    return series == ExternalSeries::kBenchmarks ? "industry_benchmarks" : "economic_indicators";
  }

  /// Rows of daily_user_metrics `m` of `tenant` (of `user_id`; every user when empty) for days
  /// first..last: `SELECT m.user_id, <columns> ... <tail>`, the columns a day and the counters.
  /// Requires mu_.
  Result<std::vector<DailyUserMetricsRow>> MetricsRows(const std::string& columns,
                                                       std::string_view tail,
                                                       std::string_view tenant,
                                                       std::string_view user_id, int64_t first_day,
                                                       int64_t last_day) {
    CA_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare("SELECT m.user_id, " + columns +
                " FROM daily_user_metrics m JOIN tenants t ON t.id = m.tenant_id"
                " WHERE t.name = ?1 AND m.day BETWEEN ?2 AND ?3" +
                // Two shapes, so that one user's rows are read by the primary key rather than
                // every user's rows of the days (an OR here hides the index from the planner).
                std::string(user_id.empty() ? " AND ?4 = ''" : " AND m.user_id = ?4") +
                std::string(tail)));
    stmt.BindText(1, tenant);
    stmt.BindInt64(2, first_day);
    stmt.BindInt64(3, last_day);
    stmt.BindText(4, user_id);
    std::vector<DailyUserMetricsRow> rows;
    while (true) {
      CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) break;
      rows.push_back(MetricsRowFrom(stmt, tenant));
    }
    return rows;
  }

  /// The row at `stmt` of a query selecting user_id, day, then kDailyColumns (or their sums).
  static DailyUserMetricsRow MetricsRowFrom(Statement& stmt, std::string_view tenant) {
    DailyUserMetricsRow row{std::string(tenant), stmt.ColumnText(0), stmt.ColumnInt64(1)};
    UserDayMetrics& m = row.metrics;
    m.page_views = stmt.ColumnInt64(2);
    m.job_views = stmt.ColumnInt64(3);
    m.saves = stmt.ColumnInt64(4);
    m.applications = stmt.ColumnInt64(5);
    m.responses = stmt.ColumnInt64(6);
    m.interviews = stmt.ColumnInt64(7);
    m.offers = stmt.ColumnInt64(8);
    m.seconds_spent = stmt.ColumnDouble(9);
    return row;
  }

  /// Binds the counters of `m` to ?first.. in kDailyColumns order.
  static void BindDaily(Statement& stmt, int first, const UserDayMetrics& m) {
    const int64_t counts[] = {m.page_views, m.job_views,  m.saves, m.applications,
                              m.responses,  m.interviews, m.offers};
    for (int64_t count : counts) stmt.BindInt64(first++, count);
    stmt.BindDouble(first, m.seconds_spent);
  }

  /// The first column of the first row of `sql` as text ("" when there is no row), with `arg`
  /// bound to ?1 when given. The statement is finished before returning.
  Result<std::string> QueryText(std::string_view sql,
                                std::optional<std::string_view> arg = std::nullopt) {
    CA_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
    if (arg) stmt.BindText(1, *arg);
    CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    return has_row ? stmt.ColumnText(0) : std::string();
  }

  Status Exec(const char* sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string message = "state store " + path_ + ": " + (error ? error : sqlite3_errstr(rc));
    sqlite3_free(error);
    return Status(CodeFor(rc), message);
  }

  /// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back when it fails. IMMEDIATE takes
  /// the write lock up front (waiting up to the busy timeout), so a read followed by a write never
  /// fails on a stale snapshot when another process wrote in between.
  template <typename Body>
  Status InWriteTransaction(Body&& body) {
    CA_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status status = body();
    if (status.ok()) status = Exec("COMMIT");
    if (!status.ok()) Exec("ROLLBACK").IgnoreError();  // The body's error is the one to report.
    return status;
  }

  Result<std::optional<Tenant>> FindTenantLocked(std::string_view name) {
    CA_ASSIGN_OR_RETURN(Statement stmt, Prepare(std::string(kTenantColumns) + " WHERE name = ?1"));
    stmt.BindText(1, name);
    CA_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return std::optional<Tenant>();
    return std::optional<Tenant>(TenantFromRow(stmt));
  }

  static ExportJobRow ExportJobFromRow(Statement& stmt) {
    ExportJobRow row{stmt.ColumnText(0), stmt.ColumnText(1),  stmt.ColumnText(2),
                     stmt.ColumnText(3), stmt.ColumnInt64(4), stmt.ColumnInt64(5),
                     stmt.ColumnText(6), stmt.ColumnText(7),  stmt.ColumnInt64(8)};
    if (!stmt.ColumnIsNull(9)) row.finished_at_ms = stmt.ColumnInt64(9);
    return row;
  }

  static Tenant TenantFromRow(Statement& stmt) {
    Tenant t{stmt.ColumnInt64(0), stmt.ColumnText(1), stmt.ColumnInt64(2),
             static_cast<int>(stmt.ColumnInt64(3))};
    t.policy.consent = stmt.ColumnText(4);
    t.policy.late_days = static_cast<int>(stmt.ColumnInt64(5));
    if (!stmt.ColumnIsNull(6)) t.policy.keep_raw_ip = stmt.ColumnInt64(6) != 0;
    t.policy.pii_allowed_keys = SplitOrigins(stmt.ColumnText(7));
    return t;
  }

  /// Runs `body(tenant_id)` in a write transaction; kNotFound for an unknown tenant.
  template <typename Body>
  Status WithTenant(std::string_view tenant_name, Body&& body) {
    CA_RETURN_IF_ERROR(CheckTenantName(tenant_name));
    std::lock_guard lock(mu_);
    return InWriteTransaction([&]() -> Status {
      CA_ASSIGN_OR_RETURN(std::optional<Tenant> tenant, FindTenantLocked(tenant_name));
      if (!tenant) return NotFound("unknown tenant '" + std::string(tenant_name) + "'");
      return body(tenant->id);
    });
  }

  /// Must run inside a write transaction.
  Result<Tenant> GetOrCreateTenantLocked(std::string_view name) {
    CA_ASSIGN_OR_RETURN(std::optional<Tenant> existing, FindTenantLocked(name));
    if (existing) return *std::move(existing);
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("INSERT INTO tenants (name, created_at_ms) VALUES (?1, ?2)"));
    Tenant tenant{0, std::string(name), NowMillis()};
    stmt.BindText(1, name);
    stmt.BindInt64(2, tenant.created_at_ms);
    CA_RETURN_IF_ERROR(stmt.Step().status());
    tenant.id = sqlite3_last_insert_rowid(db_);
    return tenant;
  }

  Status InsertKeyLocked(int64_t tenant_id, KeyKind kind, std::string_view key) {
    std::optional<ParsedKey> parsed = ParseApiKey(key);
    if (!parsed) return Internal("generated API key has an unexpected format");
    CA_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("INSERT INTO api_keys (tenant_id, kind, key_id, key_hash,"
                                " created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)"));
    stmt.BindInt64(1, tenant_id);
    stmt.BindText(2, KeyKindName(kind));
    stmt.BindText(3, parsed->key_id);
    stmt.BindText(4, Sha256Hex(key));
    stmt.BindInt64(5, NowMillis());
    return stmt.Step().status();
  }

  Status Migrate() {
    CA_RETURN_IF_ERROR(
        Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
             "  version BIGINT PRIMARY KEY,"
             "  applied_at_ms BIGINT NOT NULL)"));
    constexpr int kLatest = kMigrations[std::size(kMigrations) - 1].version;
    for (const Migration& migration : kMigrations) {
      CA_RETURN_IF_ERROR(InWriteTransaction([&]() -> Status {
        CA_ASSIGN_OR_RETURN(std::string newest,
                            QueryText("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
        int64_t current = 0;
        std::from_chars(newest.data(), newest.data() + newest.size(), current);
        if (current > kLatest) {
          return Status(ErrorCode::kConfigInvalid,
                        "state store " + path_ + " has schema version " + std::to_string(current) +
                            ", newer than this binary supports (" + std::to_string(kLatest) + ")");
        }
        if (current >= migration.version) return Status::Ok();
        CA_RETURN_IF_ERROR(Exec(migration.sql));
        CA_ASSIGN_OR_RETURN(
            Statement record,
            Prepare("INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?1, ?2)"));
        record.BindInt64(1, migration.version);
        record.BindInt64(2, NowMillis());
        return record.Step().status();
      }));
    }
    return Status::Ok();
  }

  std::mutex mu_;  // Serialises use of db_ (statements, transactions).
  sqlite3* const db_;
  const std::string path_;
  StatementCache statements_;  // Guarded by mu_.
};

}  // namespace

Result<std::unique_ptr<StateStore>> OpenSqliteStateStore(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message =
        "cannot open state store " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return Status(CodeFor(rc), message);
  }
  auto store = std::make_unique<SqliteStateStore>(db, path);
  CA_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<StateStore>(std::move(store));
}

}  // namespace ca::state
