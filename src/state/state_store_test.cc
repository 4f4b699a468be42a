#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/random.h"
#include "state/api_key.h"
#include "state/postgres_state_store.h"
#include "state/sqlite_state_store.h"
#include "state/state_store_factory.h"

namespace ca::state {
namespace {

/// The PostgreSQL server the PostgreSQL cases run against: a URL whose user may create databases,
/// e.g. postgresql://postgres@127.0.0.1:5432/postgres. scripts/test starts a private cluster and
/// sets it; when it is unset, the PostgreSQL cases are skipped.
constexpr const char* kPostgresUrlVariable = "STATE_TEST_POSTGRES_URL";

enum class Backend { kSqlite, kPostgres };

std::string PostgresAdminUrl() {
  const char* url = getenv(kPostgresUrlVariable);
  return url ? url : "";
}

/// `url` with its database replaced by `dbname` (query parameters kept).
std::string WithDatabase(const std::string& url, const std::string& dbname) {
  const size_t authority = url.find("://") + 3;
  const size_t path = url.find_first_of("/?", authority);
  std::string query;
  if (path != std::string::npos) {
    if (size_t q = url.find('?', path); q != std::string::npos) query = url.substr(q);
  }
  return url.substr(0, path) + "/" + dbname + query;
}

/// Runs `sql` (no parameters: test code only) on a new connection to `url` and returns the first
/// column of each row, "NULL" for NULL.
std::vector<std::string> PostgresQuery(const std::string& url, const std::string& sql) {
  std::vector<std::string> rows;
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect to " << DescribePostgresUrl(url) << ": "
                  << PQerrorMessage(conn);
    PQfinish(conn);
    return rows;
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  PGresult* result = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_TUPLES_OK) {
    for (int i = 0; i < PQntuples(result); ++i) {
      rows.push_back(PQgetisnull(result, i, 0) ? "NULL" : PQgetvalue(result, i, 0));
    }
  } else if (status != PGRES_COMMAND_OK) {
    ADD_FAILURE() << sql << ": " << PQerrorMessage(conn);
  }
  PQclear(result);
  PQfinish(conn);
  return rows;
}

/// Runs `sql` on a new SQLite connection to `path`; the first column of each row.
std::vector<std::string> SqliteQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  std::vector<std::string> rows;
  char* error = nullptr;
  int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int, char** values, char**) {
        static_cast<std::vector<std::string>*>(out)->push_back(values[0] ? values[0] : "NULL");
        return 0;
      },
      &rows, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
  return rows;
}

/// A fresh, empty state store location for one test: a SQLite file in a new temporary directory,
/// or a new PostgreSQL database (created on the server of kPostgresUrlVariable, dropped at the
/// end), so that tests are independent of each other and of the order they run in.
class TestLocation {
 public:
  TestLocation() = default;
  TestLocation(const TestLocation&) = delete;
  TestLocation& operator=(const TestLocation&) = delete;
  ~TestLocation() { Destroy(); }

  /// Empty when the location is ready; otherwise why this backend cannot be tested (a skip).
  std::string Create(Backend backend) {
    backend_ = backend;
    if (backend == Backend::kSqlite) {
      std::string tmpl = ::testing::TempDir() + "state_test_XXXXXX";
      if (mkdtemp(tmpl.data()) == nullptr) return "mkdtemp failed";
      dir_ = tmpl;
      location_ = dir_ + "/state.db";
      return "";
    }
    admin_url_ = PostgresAdminUrl();
    if (admin_url_.empty()) {
      return std::string("PostgreSQL cases need ") + kPostgresUrlVariable +
             "=postgresql://USER@HOST:PORT/DB (a user that may create databases); scripts/test "
             "starts a private cluster and sets it";
    }
    database_ = "ca_state_test_" + RandomHex(8);
    PostgresQuery(admin_url_, "CREATE DATABASE " + database_);
    location_ = WithDatabase(admin_url_, database_);
    return "";
  }

  void Destroy() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    dir_.clear();
    if (!database_.empty()) {
      PostgresQuery(admin_url_, "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
    }
    database_.clear();
  }

  Backend backend() const { return backend_; }
  const std::string& location() const { return location_; }
  const std::string& database() const { return database_; }
  const std::string& admin_url() const { return admin_url_; }

  std::unique_ptr<StateStore> Open() const {
    auto store = OpenStateStore(location_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  /// Runs `sql` on a separate raw connection and returns the first column of each row.
  std::vector<std::string> RawQuery(const std::string& sql) const {
    return backend_ == Backend::kSqlite ? SqliteQuery(location_, sql)
                                        : PostgresQuery(location_, sql);
  }

  /// The tables of the store, by name.
  std::vector<std::string> Tables() const {
    return RawQuery(backend_ == Backend::kSqlite
                        ? "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                        : "SELECT table_name FROM information_schema.tables WHERE table_schema ="
                          " current_schema() ORDER BY table_name COLLATE \"C\"");
  }

 private:
  Backend backend_ = Backend::kSqlite;
  std::string dir_;
  std::string admin_url_;
  std::string database_;
  std::string location_;
};

/// The tests every backend must pass alike.
class StateStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string skip = db_.Create(GetParam());
    if (!skip.empty()) GTEST_SKIP() << skip;
  }

  std::unique_ptr<StateStore> Open() { return db_.Open(); }
  std::vector<std::string> RawQuery(const std::string& sql) { return db_.RawQuery(sql); }

  TestLocation db_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StateStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kSqlite ? "sqlite" : "postgresql";
                         });

TEST_P(StateStoreTest, RecordsMigrationsAndCreatesTheTables) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // Versions are dense from 1 (SchemaMatchesSqlite checks that both backends have the same).
  const std::vector<std::string> versions =
      RawQuery("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_GE(versions.size(), 7u);
  for (size_t i = 0; i < versions.size(); ++i) EXPECT_EQ(versions[i], std::to_string(i + 1));
  const std::vector<std::string> tables = db_.Tables();
  for (const char* table :
       {"api_keys", "consumer_positions", "custom_event_types", "daily_user_metrics",
        "dead_letters", "economic_indicators", "industry_benchmarks", "job_market_trends",
        "job_runs", "recompute_days", "schema_migrations", "suppressed_users", "tenants",
        "user_activity", "user_traits", "users"}) {
    EXPECT_NE(std::find(tables.begin(), tables.end(), table), tables.end()) << table;
  }
}

TEST_P(StateStoreTest, ReopeningKeepsDataAndDoesNotRerunMigrations) {
  const std::string kApplied =
      "SELECT version || ':' || applied_at_ms FROM schema_migrations ORDER BY version";
  std::vector<std::string> applied;
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
    applied = RawQuery(kApplied);
  }
  ASSERT_FALSE(applied.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (int i = 0; i < 3; ++i) {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    auto tenants = store->ListTenants();
    ASSERT_TRUE(tenants.ok());
    ASSERT_EQ(tenants->size(), 1u);
    EXPECT_EQ((*tenants)[0].name, "acme");
  }
  EXPECT_EQ(RawQuery(kApplied), applied);
}

TEST_P(StateStoreTest, RefusesSchemaNewerThanBinary) {
  ASSERT_NE(Open(), nullptr);
  RawQuery("INSERT INTO schema_migrations (version, applied_at_ms) VALUES (999, 0)");
  auto store = OpenStateStore(db_.location());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kConfigInvalid);
}

TEST_P(StateStoreTest, TenantsAreCreatedOnceAndListedByName) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto beta = store->GetOrCreateTenant("beta");
  ASSERT_TRUE(beta.ok());
  auto alpha = store->GetOrCreateTenant("alpha");
  ASSERT_TRUE(alpha.ok());
  EXPECT_NE(alpha->id, beta->id);
  EXPECT_GT(alpha->created_at_ms, 0);

  auto again = store->GetOrCreateTenant("beta");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, beta->id);
  EXPECT_EQ(again->created_at_ms, beta->created_at_ms);

  auto found = store->FindTenant("alpha");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, alpha->id);
  auto missing = store->FindTenant("gamma");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto list = store->ListTenants();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alpha");
  EXPECT_EQ((*list)[1].name, "beta");
  // A new tenant reads back the same with every default.
  EXPECT_EQ((*list)[0].policy, IngestPolicy{});
  EXPECT_EQ((*list)[0].retention_days, 0);
  EXPECT_EQ((*list)[0].created_at_ms, alpha->created_at_ms);
}

TEST_P(StateStoreTest, TenantRetentionIsStoredAndChecked) {
  auto store = Open();
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  EXPECT_EQ((*store->FindTenant("acme"))->retention_days, 0);
  ASSERT_TRUE(store->SetTenantRetention("acme", 30).ok());
  EXPECT_EQ((*store->FindTenant("acme"))->retention_days, 30);
  EXPECT_EQ((*store->ListTenants())[0].retention_days, 30);
  EXPECT_EQ(store->SetTenantRetention("acme", -1).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->SetTenantRetention("acme", 36501).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->SetTenantRetention("nobody", 5).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store->SetTenantRetention("No Body", 5).code(), ErrorCode::kInvalidArgument);
}

TEST_P(StateStoreTest, IngestPolicyHasDefaultsAndIsChecked) {
  auto store = Open();
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  const IngestPolicy defaults = (*store->FindTenant("acme"))->policy;
  EXPECT_EQ(defaults.consent, "drop");
  EXPECT_EQ(defaults.late_days, 7);
  EXPECT_FALSE(defaults.keep_raw_ip.has_value());
  EXPECT_TRUE(defaults.pii_allowed_keys.empty());

  IngestPolicy policy{"anonymize", 30, true, {"contact_email", "ref.token"}};
  ASSERT_TRUE(store->SetIngestPolicy("acme", policy).ok());
  EXPECT_EQ((*store->FindTenant("acme"))->policy, policy);
  EXPECT_EQ((*store->ListTenants())[0].policy, policy);
  policy.keep_raw_ip = false;
  ASSERT_TRUE(store->SetIngestPolicy("acme", policy).ok());
  EXPECT_EQ((*store->FindTenant("acme"))->policy.keep_raw_ip, std::optional<bool>(false));
  policy.keep_raw_ip = std::nullopt;
  ASSERT_TRUE(store->SetIngestPolicy("acme", policy).ok());
  EXPECT_EQ((*store->FindTenant("acme"))->policy.keep_raw_ip, std::nullopt);

  EXPECT_EQ(store->SetIngestPolicy("acme", {"keep", 7, {}, {}}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->SetIngestPolicy("acme", {"drop", 0, {}, {}}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->SetIngestPolicy("acme", {"drop", 7, {}, {"two words"}}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->SetIngestPolicy("acme", {"drop", 7, {}, {""}}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->SetIngestPolicy("nobody", {}).code(), ErrorCode::kNotFound);
  EXPECT_EQ((*store->FindTenant("acme"))->policy.consent, "anonymize");
}

TEST_P(StateStoreTest, SuppressionListIsPerTenantAndIdempotent) {
  auto store = Open();
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store->GetOrCreateTenant("beta").ok());
  ASSERT_TRUE(store->SuppressUsers("acme", {"u2", "u1"}, 1000).ok());
  ASSERT_TRUE(store->SuppressUsers("acme", {"u1"}, 2000).ok());
  EXPECT_EQ(*store->ListSuppressedUsers("acme"), (std::vector<std::string>{"u1", "u2"}));
  EXPECT_TRUE(store->ListSuppressedUsers("beta")->empty());
  EXPECT_TRUE(store->ListSuppressedUsers("nobody")->empty());
  EXPECT_EQ(store->SuppressUsers("nobody", {"u1"}, 0).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store->SuppressUsers("nobody", {}, 0).code(), ErrorCode::kNotFound);
  EXPECT_EQ(RawQuery("SELECT added_at_ms FROM suppressed_users WHERE user_id = 'u1'"),
            std::vector<std::string>{"1000"});
}

TEST_P(StateStoreTest, LargeBatchesWithDuplicatesAreStoredOnce) {
  auto store = Open();
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  std::vector<std::string> users;
  std::vector<int64_t> days;
  for (int i = 0; i < 450; ++i) {
    users.push_back("user-" + std::to_string(1000 + i % 300));
    days.push_back(20000 + i % 250);
  }
  ASSERT_TRUE(store->SuppressUsers("acme", users, 7).ok());
  auto listed = store->ListSuppressedUsers("acme");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 300u);
  EXPECT_EQ(listed->front(), "user-1000");
  EXPECT_EQ(listed->back(), "user-1299");

  ASSERT_TRUE(store->MarkRecomputeDays("acme", days, 1).ok());
  ASSERT_TRUE(store->MarkRecomputeDays("acme", {20001, 20001, 19999}, 2).ok());
  auto marked = store->ListRecomputeDays("acme");
  ASSERT_TRUE(marked.ok());
  ASSERT_EQ(marked->size(), 251u);
  EXPECT_EQ(marked->front(), 19999);
  EXPECT_EQ(marked->back(), 20249);
  EXPECT_EQ(RawQuery("SELECT marked_at_ms FROM recompute_days WHERE day = 20001"),
            std::vector<std::string>{"2"});

  std::vector<DeadLetter> letters;
  for (int i = 0; i < 450; ++i) {
    letters.push_back({0, i, "unknown_event_type", "m", "native", std::to_string(i)});
  }
  ASSERT_TRUE(store->AddDeadLetters("acme", letters, 1000).ok());
  auto all = store->ListDeadLetters("acme", 0, 1000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 450u);
  for (size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].raw, std::to_string(i));
    if (i > 0) {
      EXPECT_GT((*all)[i].id, (*all)[i - 1].id);
    }
  }
  ASSERT_TRUE(store->DeleteDeadLetters("acme", {(*all)[0].id, (*all)[449].id}).ok());
  std::vector<int64_t> ids;
  for (size_t i = 1; i < 300; ++i) ids.push_back((*all)[i].id);
  ASSERT_TRUE(store->DeleteDeadLetters("acme", ids).ok());
  EXPECT_EQ(*store->CountDeadLetters("acme"), 149u);
  EXPECT_EQ((*store->ListDeadLetters("acme", 0, 1))[0].raw, "300");
}

TEST_P(StateStoreTest, TextIsOrderedBytewise) {
  auto store = Open();
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  // Byte order (SQLite's BINARY collation), not a locale's: upper case first, then '_', then
  // lower case, then multi-byte UTF-8.
  ASSERT_TRUE(store
                  ->SuppressUsers("acme",
                                  {"\xc3\xa9"
                                   "clair",
                                   "alpha", "Zeta", "_x", "Beta", "a b"},
                                  1)
                  .ok());
  EXPECT_EQ(*store->ListSuppressedUsers("acme"),
            (std::vector<std::string>{"Beta", "Zeta", "_x", "a b", "alpha",
                                      "\xc3\xa9"
                                      "clair"}));
  for (const char* name : {"zoom", "Apply", "apply", "Zebra"}) {
    ASSERT_TRUE(store->AddCustomEventType("acme", {name, "{}"}).ok());
  }
  std::vector<std::string> names;
  auto rows = store->ListCustomEventTypes("acme");
  ASSERT_TRUE(rows.ok());
  for (const auto& row : *rows) names.push_back(row.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Apply", "Zebra", "apply", "zoom"}));
}

TEST_P(StateStoreTest, RecomputeDaysAreMarkedOnce) {
  auto store = Open();
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store->MarkRecomputeDays("acme", {20420, 20418}, 1).ok());
  ASSERT_TRUE(store->MarkRecomputeDays("acme", {20420}, 2).ok());
  EXPECT_EQ(*store->ListRecomputeDays("acme"), (std::vector<int64_t>{20418, 20420}));
  EXPECT_EQ(store->MarkRecomputeDays("nobody", {1}, 0).code(), ErrorCode::kNotFound);
}

TEST_P(StateStoreTest, UserTraitsMergeAndAreForgotten) {
  auto store = Open();
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  EXPECT_FALSE(store->GetUserTraits("acme", "u1")->has_value());
  ASSERT_TRUE(store->MergeUserTraits("acme", "u1", R"({"industry":"tech","plan":"free"})", 1).ok());
  ASSERT_TRUE(
      store->MergeUserTraits("acme", "u1", R"({"plan":"pro","seniority":"senior"})", 2).ok());
  EXPECT_EQ(**store->GetUserTraits("acme", "u1"),
            R"({"industry":"tech","plan":"pro","seniority":"senior"})");
  EXPECT_EQ(store->MergeUserTraits("acme", "u1", "[1]", 3).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->MergeUserTraits("acme", "", "{}", 3).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->MergeUserTraits("nobody", "u1", "{}", 3).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store->MergeUserTraits("No Body", "u1", "{}", 3).code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(store->ForgetUser("acme", "u1").ok());
  EXPECT_FALSE(store->GetUserTraits("acme", "u1")->has_value());
  EXPECT_EQ(store->ForgetUser("nobody", "u1").code(), ErrorCode::kNotFound);
}

TEST_P(StateStoreTest, ConcurrentTraitMergesFromTwoStoresLoseNothing) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->GetOrCreateTenant("acme").ok());
  constexpr int kThreads = 4, kMerges = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      StateStore* store = t % 2 ? b.get() : a.get();
      for (int i = 0; i < kMerges; ++i) {
        std::string traits = "{\"k" + std::to_string(t) + "_" + std::to_string(i) + "\":1}";
        Status status = store->MergeUserTraits("acme", "u1", traits, i);
        EXPECT_TRUE(status.ok()) << status.ToString();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto traits = a->GetUserTraits("acme", "u1");
  ASSERT_TRUE(traits.ok() && traits->has_value());
  size_t keys = 0;
  for (char c : **traits) keys += c == ':';
  EXPECT_EQ(keys, static_cast<size_t>(kThreads * kMerges)) << **traits;
}

TEST_P(StateStoreTest, InvalidTenantNamesAreRejected) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  for (const std::string& name :
       std::vector<std::string>{"", "Acme", "-acme", "_acme", "ac me", "acme!", "acm\xc3\xa9",
                                std::string(65, 'a'), std::string("ac\0me", 5)}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(store->GetOrCreateTenant(name).status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(store->FindTenant(name).status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(store->CreateKeys(name).status().code(), ErrorCode::kInvalidArgument);
  }
  for (const std::string& name :
       std::vector<std::string>{"a", "0", "acme", "acme-corp_2", std::string(64, 'z')}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(store->GetOrCreateTenant(name).ok());
  }
  auto list = store->ListTenants();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 5u);
}

TEST_P(StateStoreTest, CreatedKeysAreFoundWithTheirKind) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto keys = store->CreateKeys("acme");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->tenant, "acme");
  EXPECT_EQ(keys->write_key.substr(0, 4), "caw_");
  EXPECT_EQ(keys->secret_key.substr(0, 4), "cas_");
  EXPECT_EQ(keys->write_key.size(), kKeyLength);
  EXPECT_EQ(keys->secret_key.size(), kKeyLength);

  auto tenant = store->FindTenant("acme");
  ASSERT_TRUE(tenant.ok() && tenant->has_value());

  auto write = store->LookupKey(keys->write_key);
  ASSERT_TRUE(write.ok());
  ASSERT_TRUE(write->has_value());
  EXPECT_EQ(**write, (KeyMatch{(*tenant)->id, "acme", KeyKind::kWrite}));
  auto secret = store->LookupKey(keys->secret_key);
  ASSERT_TRUE(secret.ok());
  ASSERT_TRUE(secret->has_value());
  EXPECT_EQ(**secret, (KeyMatch{(*tenant)->id, "acme", KeyKind::kSecret}));
}

TEST_P(StateStoreTest, AllowedOriginsOfAWriteKeyAreStoredAndChecked) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto keys = store->CreateKeys("acme");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE((*store->LookupKey(keys->write_key))->allowed_origins.empty());  // any origin
  const std::vector<std::string> origins = {"https://jobs.example.com", "http://localhost:3000"};
  ASSERT_TRUE(store->SetAllowedOrigins(keys->write_key, origins).ok());
  EXPECT_EQ((*store->LookupKey(keys->write_key))->allowed_origins, origins);
  EXPECT_TRUE((*store->LookupKey(keys->secret_key))->allowed_origins.empty());
  ASSERT_TRUE(store->SetAllowedOrigins(keys->write_key, {}).ok());
  EXPECT_TRUE((*store->LookupKey(keys->write_key))->allowed_origins.empty());

  for (const char* bad :
       {"jobs.example.com", "https://jobs.example.com/", "HTTPS://A.COM", "*", "https://",
        "https://a.com:", "https://a.com:123456", "ftp://a.com", "https://a b.com"}) {
    EXPECT_EQ(store->SetAllowedOrigins(keys->write_key, {bad}).code(), ErrorCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(store->SetAllowedOrigins(keys->secret_key, origins).code(), ErrorCode::kNotFound);
  std::string altered = keys->write_key;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(store->SetAllowedOrigins(altered, origins).code(), ErrorCode::kNotFound);
}

TEST_P(StateStoreTest, DeadLettersAreKeptListedCappedAndDeleted) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store->GetOrCreateTenant("other").ok());
  auto letter = [](int i) {
    return DeadLetter{0,
                      1000 + i,
                      "unknown_event_type",
                      "type 'x' is unknown",
                      "native",
                      "{\"type\":\"x" + std::to_string(i) + "\"}"};
  };
  ASSERT_TRUE(store->AddDeadLetters("acme", {letter(0), letter(1), letter(2)}, 100).ok());
  ASSERT_TRUE(store->AddDeadLetters("other", {letter(9)}, 100).ok());
  auto all = store->ListDeadLetters("acme", 0, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].raw, "{\"type\":\"x0\"}");
  EXPECT_EQ((*all)[0].code, "unknown_event_type");
  EXPECT_EQ((*all)[0].message, "type 'x' is unknown");
  EXPECT_EQ((*all)[0].format, "native");
  EXPECT_EQ((*all)[2].received_at_ms, 1002);
  EXPECT_LT((*all)[0].id, (*all)[1].id);
  // Paging by id.
  auto page = store->ListDeadLetters("acme", (*all)[0].id, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0], (*all)[1]);
  EXPECT_EQ(store->ListDeadLetters("acme", 0, std::numeric_limits<size_t>::max())->size(), 3u);
  // The cap keeps the newest.
  ASSERT_TRUE(store->AddDeadLetters("acme", {letter(3)}, 2).ok());
  EXPECT_EQ(*store->CountDeadLetters("acme"), 2u);
  auto kept = *store->ListDeadLetters("acme", 0, 10);
  EXPECT_EQ(kept[0].raw, "{\"type\":\"x2\"}");
  EXPECT_EQ(kept[1].raw, "{\"type\":\"x3\"}");
  // Deleting another tenant's id does nothing.
  const int64_t others = (*store->ListDeadLetters("other", 0, 10))[0].id;
  ASSERT_TRUE(store->DeleteDeadLetters("acme", {kept[0].id, others}).ok());
  EXPECT_EQ(*store->CountDeadLetters("acme"), 1u);
  EXPECT_EQ(*store->CountDeadLetters("other"), 1u);
  EXPECT_EQ(store->AddDeadLetters("nobody", {letter(0)}, 10).code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store->ListDeadLetters("nobody", 0, 10)->empty());
  EXPECT_EQ(*store->CountDeadLetters("nobody"), 0u);
  EXPECT_TRUE(store->DeleteDeadLetters("nobody", {others}).ok());
  EXPECT_EQ(*store->CountDeadLetters("other"), 1u);
}

TEST_P(StateStoreTest, DeadLetterOverviewCountsCodesAndListsTheNewestWithoutRaw) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store->GetOrCreateTenant("other").ok());
  auto letter = [](int i, const char* code) {
    return DeadLetter{0, 1000 + i, code, "m" + std::to_string(i), "native", "{\"i\":1}"};
  };
  ASSERT_TRUE(store
                  ->AddDeadLetters("acme",
                                   {letter(0, "unknown_event_type"), letter(1, "invalid_property"),
                                    letter(2, "unknown_event_type"), letter(3, "event_too_old")},
                                   100)
                  .ok());
  ASSERT_TRUE(store->AddDeadLetters("other", {letter(9, "invalid_property")}, 100).ok());
  auto overview = store->OverviewDeadLetters("acme", 2);
  ASSERT_TRUE(overview.ok()) << overview.status().ToString();
  EXPECT_EQ(overview->total, 4u);
  using Count = std::pair<std::string, uint64_t>;
  EXPECT_EQ(overview->by_code,
            (std::vector<Count>{
                {"unknown_event_type", 2}, {"event_too_old", 1}, {"invalid_property", 1}}));
  ASSERT_EQ(overview->recent.size(), 2u);
  EXPECT_EQ(overview->recent[0].received_at_ms, 1003);
  EXPECT_EQ(overview->recent[0].code, "event_too_old");
  EXPECT_EQ(overview->recent[0].message, "m3");
  EXPECT_EQ(overview->recent[0].format, "native");
  EXPECT_EQ(overview->recent[0].raw, "");
  EXPECT_EQ(overview->recent[1].received_at_ms, 1002);
  EXPECT_GT(overview->recent[0].id, overview->recent[1].id);
  auto nobody = store->OverviewDeadLetters("nobody", 5);
  ASSERT_TRUE(nobody.ok());
  EXPECT_EQ(nobody->total, 0u);
  EXPECT_TRUE(nobody->by_code.empty());
  EXPECT_TRUE(nobody->recent.empty());
}

TEST_P(StateStoreTest, KeysAreDistinctAcrossCallsAndTenants) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    auto keys = store->CreateKeys(i % 2 ? "acme" : "globex");
    ASSERT_TRUE(keys.ok());
    EXPECT_TRUE(seen.insert(keys->write_key).second);
    EXPECT_TRUE(seen.insert(keys->secret_key).second);
    EXPECT_NE(keys->write_key.substr(4), keys->secret_key.substr(4));
  }
  for (const std::string& key : seen) {
    auto match = store->LookupKey(key);
    ASSERT_TRUE(match.ok() && match->has_value());
  }
  EXPECT_EQ(RawQuery("SELECT COUNT(*) FROM api_keys"), std::vector<std::string>{"40"});
}

TEST_P(StateStoreTest, AlteredKeysAreNotFound) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto keys = store->CreateKeys("acme");
  ASSERT_TRUE(keys.ok());
  // Also create keys for another tenant so that swapping the prefix can hit a real row's kind.
  ASSERT_TRUE(store->CreateKeys("globex").ok());
  for (const std::string& key : {keys->write_key, keys->secret_key}) {
    for (size_t i = 0; i < key.size(); ++i) {
      for (char replacement : {'A', 'z', '0', '_', 's', 'w'}) {
        if (key[i] == replacement) continue;
        std::string altered = key;
        altered[i] = replacement;
        auto match = store->LookupKey(altered);
        ASSERT_TRUE(match.ok());
        EXPECT_FALSE(match->has_value()) << "position " << i;
      }
    }
    for (const std::string& wrong :
         std::vector<std::string>{key.substr(0, key.size() - 1), key + "A", std::string(),
                                  " " + key, key.substr(4), std::string(key.size(), 'A')}) {
      auto match = store->LookupKey(wrong);
      ASSERT_TRUE(match.ok());
      EXPECT_FALSE(match->has_value()) << wrong;
    }
  }
}

TEST_P(StateStoreTest, RevokedKeysAreNotFound) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto keys = store->CreateKeys("acme");
  ASSERT_TRUE(keys.ok());
  std::string key_id = keys->write_key.substr(4, kKeyIdLength);
  // key_id is base64url: safe to put in the test's SQL text.
  RawQuery("UPDATE api_keys SET revoked_at_ms = 1 WHERE key_id = '" + key_id + "'");
  auto write = store->LookupKey(keys->write_key);
  ASSERT_TRUE(write.ok());
  EXPECT_FALSE(write->has_value());
  auto secret = store->LookupKey(keys->secret_key);
  ASSERT_TRUE(secret.ok());
  EXPECT_TRUE(secret->has_value());
}

TEST_P(StateStoreTest, OnlyHashesOfKeysAreStored) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<std::string> all_keys;
  for (int i = 0; i < 3; ++i) {
    auto keys = store->CreateKeys("acme");
    ASSERT_TRUE(keys.ok());
    all_keys.push_back(keys->write_key);
    all_keys.push_back(keys->secret_key);
  }
  std::string stored;
  for (const std::string& row :
       RawQuery("SELECT kind || ' ' || key_id || ' ' || key_hash || ' ' || allowed_origins"
                " FROM api_keys")) {
    stored += row + "\n";
  }
  for (const std::string& key : all_keys) {
    EXPECT_EQ(stored.find(key.substr(4 + kKeyIdLength)), std::string::npos);
    EXPECT_NE(stored.find(Sha256Hex(key)), std::string::npos) << "hash should be stored";
  }
}

TEST_P(StateStoreTest, TwoStoresOnOneLocationSeeEachOthersWrites) {
  auto server = Open();
  auto cli = Open();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(cli, nullptr);

  // The server looks the key up before and after the CLI creates it.
  auto before = server->ListTenants();
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
  auto cli_keys = cli->CreateKeys("acme");
  ASSERT_TRUE(cli_keys.ok());
  auto found = server->LookupKey(cli_keys->write_key);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->tenant, "acme");

  auto server_keys = server->CreateKeys("globex");
  ASSERT_TRUE(server_keys.ok());
  auto found_by_cli = cli->LookupKey(server_keys->secret_key);
  ASSERT_TRUE(found_by_cli.ok());
  ASSERT_TRUE(found_by_cli->has_value());
  EXPECT_EQ((*found_by_cli)->kind, KeyKind::kSecret);
}

TEST_P(StateStoreTest, ConcurrentWritersFromTwoConnectionsDoNotFail) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto writer = [](StateStore* store, std::vector<std::string>* out) {
    for (int i = 0; i < 25; ++i) {
      auto keys = store->CreateKeys("t" + std::to_string(i % 5));
      ASSERT_TRUE(keys.ok()) << keys.status().ToString();
      out->push_back(keys->write_key);
    }
  };
  std::vector<std::string> from_a, from_b;
  std::thread ta(writer, a.get(), &from_a);
  std::thread tb(writer, b.get(), &from_b);
  ta.join();
  tb.join();
  auto tenants = a->ListTenants();
  ASSERT_TRUE(tenants.ok());
  EXPECT_EQ(tenants->size(), 5u);
  for (const auto& key : from_a) EXPECT_TRUE(b->LookupKey(key)->has_value());
  for (const auto& key : from_b) EXPECT_TRUE(a->LookupKey(key)->has_value());
}

TEST_P(StateStoreTest, ManyThreadsShareOneStore) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8, kRounds = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string tenant = "t" + std::to_string(t % 3);
      for (int i = 0; i < kRounds; ++i) {
        auto keys = store->CreateKeys(tenant);
        if (!keys.ok()) {
          ++failures;
          continue;
        }
        auto match = store->LookupKey(keys->write_key);
        if (!match.ok() || !match->has_value() || (*match)->tenant != tenant) ++failures;
        if (!store->AddDeadLetters(tenant, {{0, i, "c", "m", "native", "{}"}}, 1000).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->ListTenants()->size(), 3u);
  uint64_t letters = 0;
  for (const char* tenant : {"t0", "t1", "t2"}) letters += *store->CountDeadLetters(tenant);
  EXPECT_EQ(letters, static_cast<uint64_t>(kThreads * kRounds));
}

TEST_P(StateStoreTest, CustomEventTypesRoundTrip) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store->GetOrCreateTenant("globex").ok());
  CustomEventTypeRow upgraded{"plan_upgraded", R"({"plan":"string","seats":"number"})"};
  CustomEventTypeRow viewed{"Offer Viewed", "{}"};
  ASSERT_TRUE(store->AddCustomEventType("acme", upgraded).ok());
  ASSERT_TRUE(store->AddCustomEventType("acme", viewed).ok());

  auto rows = store->ListCustomEventTypes("acme");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, (std::vector<CustomEventTypeRow>{viewed, upgraded}));
  auto other = store->ListCustomEventTypes("globex");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
  auto unknown = store->ListCustomEventTypes("initech");
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->empty());

  CustomEventTypeRow replaced{"plan_upgraded", R"({"plan":"string"})"};
  ASSERT_TRUE(store->AddCustomEventType("acme", replaced).ok());
  rows = store->ListCustomEventTypes("acme");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, (std::vector<CustomEventTypeRow>{viewed, replaced}));
  // The JSON is kept as given, whitespace and all.
  CustomEventTypeRow spaced{"spaced", " { \"a\" : \"string\" } "};
  ASSERT_TRUE(store->AddCustomEventType("acme", spaced).ok());
  EXPECT_EQ((*store->ListCustomEventTypes("acme"))[2], spaced);
}

TEST_P(StateStoreTest, CustomEventTypeErrors) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  EXPECT_EQ(store->AddCustomEventType("nobody", {"x", "{}"}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store->AddCustomEventType("nobody", {"x", "[]"}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->AddCustomEventType("Bad Name", {"x", "{}"}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->AddCustomEventType("acme", {"", "{}"}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->AddCustomEventType("acme", {std::string(129, 'x'), "{}"}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->AddCustomEventType("acme", {"a\nb", "{}"}).code(), ErrorCode::kInvalidArgument);
  for (const char* json :
       {"", "[]", "\"plan\"", "{\"plan\":", "42", "null", "{} {}", "{\"a\":1,}", "{'a':1}"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(store->AddCustomEventType("acme", {"x", json}).code(), ErrorCode::kInvalidArgument);
  }
  auto rows = store->ListCustomEventTypes("acme");
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
  EXPECT_EQ(store->ListCustomEventTypes("NOPE").status().code(), ErrorCode::kInvalidArgument);
}

UserDayMetrics Metrics(int64_t views, double seconds) {
  UserDayMetrics m;
  m.page_views = views;
  m.job_views = 2 * views;
  m.saves = 3;
  m.applications = 4;
  m.responses = 5;
  m.interviews = 6;
  m.offers = 7;
  m.seconds_spent = seconds;
  return m;
}

UserActivityRow Activity(std::string tenant, std::string user, int64_t ts, std::string id,
                         std::string type, std::string application = "", std::string status = "") {
  return {std::move(tenant), std::move(user),          ts,
          std::move(id),     std::move(type),          std::move(application),
          std::move(status), R"({"title":"<b>x</b>"})"};
}

TEST_P(StateStoreTest, UserActivityIsKeptOncePerEventNewestFirst) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // With the rollups' position, in one transaction; a row given again (a re-read) is kept once.
  ASSERT_TRUE(store
                  ->AddRollups("rollups", 7, {{"acme", "u1", 100, Metrics(1, 0)}},
                               {Activity("acme", "u1", 1000, "e1", "job_apply", "a1"),
                                Activity("acme", "u1", 3000, "e3", "search"),
                                Activity("acme", "u1", 1000, "e1", "job_apply", "a1"),
                                Activity("acme", "u2", 2000, "e2", "search"),
                                Activity("beta", "u1", 2000, "e9", "search")})
                  .ok());
  EXPECT_EQ(store->ConsumerPosition("rollups")->value_or(-1), 7);
  ASSERT_TRUE(store
                  ->AddUserActivity({Activity("acme", "u1", 2000, "e4",
                                              "application_status_changed", "a1", "interview"),
                                     Activity("acme", "u1", 3000, "e3", "search")})
                  .ok());
  EXPECT_EQ(store->ConsumerPosition("rollups")->value_or(-1), 7);

  auto rows = store->ListUserActivity("acme", "u1", 0, 10'000, 0);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows,
            (std::vector<UserActivityRow>{
                Activity("acme", "u1", 3000, "e3", "search"),
                Activity("acme", "u1", 2000, "e4", "application_status_changed", "a1", "interview"),
                Activity("acme", "u1", 1000, "e1", "job_apply", "a1")}));
  // [from, to) and a limit on the newest.
  EXPECT_EQ(store->ListUserActivity("acme", "u1", 1000, 3000, 0)->size(), 2u);
  auto newest = store->ListUserActivity("acme", "u1", 0, 10'000, 1);
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].event_id, "e3");
  EXPECT_TRUE(store->ListUserActivity("nobody", "u1", 0, 10'000, 0)->empty());
  EXPECT_EQ(store->ListUserActivity("beta", "u1", 0, 10'000, 0)->size(), 1u);

  EXPECT_EQ(store->AddUserActivity({Activity("Bad Name", "u1", 1, "e", "search")}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->AddUserActivity({Activity("acme", "", 1, "e", "search")}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->AddRollups("rollups", 8, {}, {Activity("acme", "u1", 1, "", "search")}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->ConsumerPosition("rollups")->value_or(-1), 7);

  // Pruning removes old rows of every tenant; forgetting a user removes theirs.
  auto pruned = store->PruneUserActivity(2000);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1);  // acme/u1's e1
  EXPECT_EQ(store->ListUserActivity("acme", "u1", 0, 10'000, 0)->size(), 2u);
  ASSERT_TRUE(store->ForgetUser("acme", "u1").ok());
  EXPECT_TRUE(store->ListUserActivity("acme", "u1", 0, 10'000, 0)->empty());
  EXPECT_EQ(store->ListUserActivity("acme", "u2", 0, 10'000, 0)->size(), 1u);
  EXPECT_EQ(store->ListUserActivity("beta", "u1", 0, 10'000, 0)->size(), 1u);
}

TEST_P(StateStoreTest, DailyUserMetricsAddUpAndRecordTheConsumerPosition) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->ConsumerPosition("rollups")->has_value());
  // Tenants are created as needed; a (tenant, user, day) given twice in one call adds up.
  ASSERT_TRUE(store
                  ->AddDailyUserMetrics("rollups", 10,
                                        {{"acme", "u2", 100, Metrics(1, 1.5)},
                                         {"acme", "u1", 100, Metrics(2, 0.25)},
                                         {"acme", "u1", 100, Metrics(3, 0.25)},
                                         {"acme", "u1", 99, Metrics(1, 0)},
                                         {"beta", "u1", 100, Metrics(9, 9)}})
                  .ok());
  EXPECT_EQ(store->ConsumerPosition("rollups")->value_or(-1), 10);
  ASSERT_TRUE(store->AddDailyUserMetrics("rollups", 11, {{"acme", "u1", 100, Metrics(1, 1)}}).ok());
  EXPECT_EQ(store->ConsumerPosition("rollups")->value_or(-1), 11);
  ASSERT_TRUE(store->AddDailyUserMetrics("other", 5, {}).ok());
  EXPECT_EQ(store->ConsumerPosition("other")->value_or(-1), 5);

  auto rows = store->ListDailyUserMetrics("acme", "", 0, 1000);
  ASSERT_TRUE(rows.ok());
  UserDayMetrics u1_100 = Metrics(2, 0.25);
  u1_100 += Metrics(3, 0.25);
  u1_100 += Metrics(1, 1);
  EXPECT_EQ(*rows, (std::vector<DailyUserMetricsRow>{{"acme", "u1", 99, Metrics(1, 0)},
                                                     {"acme", "u1", 100, u1_100},
                                                     {"acme", "u2", 100, Metrics(1, 1.5)}}));
  EXPECT_EQ(store->ListDailyUserMetrics("acme", "u2", 0, 1000)->size(), 1u);
  EXPECT_EQ(store->ListDailyUserMetrics("acme", "", 100, 100)->size(), 2u);
  EXPECT_TRUE(store->ListDailyUserMetrics("nobody", "", 0, 1000)->empty());

  EXPECT_EQ(store->AddDailyUserMetrics("rollups", 12, {{"Bad Name", "u1", 1, {}}}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->AddDailyUserMetrics("rollups", 12, {{"acme", "", 1, {}}}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->ConsumerPosition("rollups")->value_or(-1), 11);

  // Replacing a day clears its recompute mark; forgetting a user removes their rows.
  ASSERT_TRUE(store->MarkRecomputeDays("acme", {99, 100}, 1).ok());
  ASSERT_TRUE(
      store->ReplaceDailyUserMetrics("acme", 100, {{"acme", "u3", 100, Metrics(4, 4)}}).ok());
  EXPECT_EQ(*store->ListRecomputeDays("acme"), std::vector<int64_t>{99});
  EXPECT_EQ(*store->ListDailyUserMetrics("acme", "", 100, 100),
            (std::vector<DailyUserMetricsRow>{{"acme", "u3", 100, Metrics(4, 4)}}));
  EXPECT_EQ(store->ReplaceDailyUserMetrics("acme", 100, {{"beta", "u3", 100, {}}}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->ReplaceDailyUserMetrics("nobody", 100, {}).code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store->ForgetUser("acme", "u1").ok());
  EXPECT_EQ(*store->ListDailyUserMetrics("acme", "", 0, 1000),
            (std::vector<DailyUserMetricsRow>{{"acme", "u3", 100, Metrics(4, 4)}}));
  EXPECT_EQ(store->ListDailyUserMetrics("beta", "", 0, 1000)->size(), 1u);
}

TEST_P(StateStoreTest, WeeklySummariesAddUpTheDaysOfEachIsoWeek) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // Day 20003 is Monday 2024-10-07 ((20003 + 3) % 7 == 0); 20009 its Sunday, 20010 the next Monday.
  ASSERT_TRUE(store
                  ->AddDailyUserMetrics("rollups", 1,
                                        {{"acme", "u1", 20002, Metrics(1, 1)},
                                         {"acme", "u1", 20003, Metrics(2, 0.5)},
                                         {"acme", "u1", 20009, Metrics(3, 0.25)},
                                         {"acme", "u1", 20010, Metrics(4, 0)},
                                         {"acme", "u2", 20004, Metrics(5, 5)}})
                  .ok());
  UserDayMetrics week = Metrics(2, 0.5);
  week += Metrics(3, 0.25);
  auto weeks = store->ListWeeklyUserMetrics("acme", "", 20003, 20010);
  ASSERT_TRUE(weeks.ok()) << weeks.status().ToString();
  EXPECT_EQ(*weeks, (std::vector<DailyUserMetricsRow>{{"acme", "u1", 20003, week},
                                                      {"acme", "u2", 20003, Metrics(5, 5)},
                                                      {"acme", "u1", 20010, Metrics(4, 0)}}));
  auto one = store->ListWeeklyUserMetrics("acme", "u1", 19990, 20009);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 2u);
  EXPECT_EQ((*one)[0].day, 19996);  // the Monday of day 20002's week
  EXPECT_EQ((*one)[0].metrics, Metrics(1, 1));
  // Recomputed days show in their week at once.
  ASSERT_TRUE(
      store->ReplaceDailyUserMetrics("acme", 20009, {{"acme", "u1", 20009, Metrics(7, 7)}}).ok());
  UserDayMetrics recomputed = Metrics(2, 0.5);
  recomputed += Metrics(7, 7);
  EXPECT_EQ((*store->ListWeeklyUserMetrics("acme", "u1", 20003, 20009))[0].metrics, recomputed);
}

TEST_P(StateStoreTest, MarketDataIsUpsertedByNormalisedKey) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store
                  ->UpsertMarketTrends("acme", {{10, "Software", "Berlin", 70000.5, 120, 3.25},
                                                {10, "Nursing", "Berlin", 50000, 80, 1.5},
                                                {11, "Software", "Berlin", 71000, 130, 3}})
                  .ok());
  // Same key after NormaliseKey: replaced; within one call the last row wins.
  ASSERT_TRUE(store
                  ->UpsertMarketTrends("acme", {{10, " software ", "BERLIN", 1, 1, 1},
                                                {10, "SOFTWARE", "berlin", 72000, 140, 0.1}})
                  .ok());
  auto all = store->ListMarketTrends("acme", "", "", 0, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<MarketTrendRow>{{10, "Nursing", "Berlin", 50000, 80, 1.5},
                                               {10, "SOFTWARE", "berlin", 72000, 140, 0.1},
                                               {11, "Software", "Berlin", 71000, 130, 3}}));
  EXPECT_EQ(store->ListMarketTrends("acme", "software", "", 0, 100)->size(), 2u);
  EXPECT_EQ(store->ListMarketTrends("acme", "", "Berlin", 11, 11)->size(), 1u);
  EXPECT_TRUE(store->ListMarketTrends("acme", "", "Paris", 0, 100)->empty());
  EXPECT_EQ(store->UpsertMarketTrends("acme", {{1, " ", "Berlin", 1, 1, 1}}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->UpsertMarketTrends("nobody", {}).code(), ErrorCode::kNotFound);

  for (ExternalSeries series : {ExternalSeries::kBenchmarks, ExternalSeries::kIndicators}) {
    ASSERT_TRUE(store
                    ->UpsertExternalValues("acme", series,
                                           {{5, "Tech", "median_salary", 1.25},
                                            {5, "tech", "Median_Salary", 2.5},
                                            {4, "Retail", "growth", -0.5}})
                    .ok());
  }
  ASSERT_TRUE(
      store->UpsertExternalValues("acme", ExternalSeries::kIndicators, {{6, "EU", "cpi", 3}}).ok());
  EXPECT_EQ(*store->ListExternalValues("acme", ExternalSeries::kBenchmarks, "", "", 0, 100),
            (std::vector<ExternalValueRow>{{4, "Retail", "growth", -0.5},
                                           {5, "tech", "Median_Salary", 2.5}}));
  EXPECT_EQ(store->ListExternalValues("acme", ExternalSeries::kIndicators, "", "", 0, 100)->size(),
            3u);
  EXPECT_EQ(
      store->ListExternalValues("acme", ExternalSeries::kIndicators, "TECH", "", 0, 100)->size(),
      1u);
  EXPECT_EQ(
      store->UpsertExternalValues("acme", ExternalSeries::kBenchmarks, {{1, "x", "", 1}}).code(),
      ErrorCode::kInvalidArgument);
}

TEST_P(StateStoreTest, JobRunsKeepTheLastHundredNewestFirst) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 105; ++i) {
    ASSERT_TRUE(store->RecordJobRun("rollup", {i, i + 1, i % 2 == 0, i % 2 ? "failed" : ""}).ok());
  }
  ASSERT_TRUE(store->RecordJobRun("other", {1, 2, true, ""}).ok());
  auto runs = store->ListJobRuns("rollup", 1000);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 100u);
  EXPECT_EQ(runs->front(), (JobRunRow{104, 105, true, ""}));
  EXPECT_EQ(runs->back(), (JobRunRow{5, 6, false, "failed"}));
  EXPECT_EQ(store->ListJobRuns("rollup", 2)->size(), 2u);
  EXPECT_EQ(store->ListJobRuns("other", std::numeric_limits<size_t>::max())->size(), 1u);
  EXPECT_TRUE(store->ListJobRuns("none", 10)->empty());
  EXPECT_EQ(store->RecordJobRun("", {}).code(), ErrorCode::kInvalidArgument);
}

TEST_P(StateStoreTest, ExportJobsAreCreatedUpdatedListedAndDeleted) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store->GetOrCreateTenant("globex").ok());
  ExportJobRow job{"exp_1", "acme", R"({"dataset":"events"})", "queued", 0, 0, "", "", 100};
  ASSERT_TRUE(store->CreateExportJob(job).ok());
  ExportJobRow other{"exp_2", "globex", "{}", "running", 0, 0, "", "", 50};
  ASSERT_TRUE(store->CreateExportJob(other).ok());

  auto got = store->GetExportJob("acme", "exp_1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, job);
  // Another tenant's id is not visible.
  EXPECT_FALSE(store->GetExportJob("globex", "exp_1")->has_value());
  EXPECT_FALSE(store->GetExportJob("acme", "exp_9")->has_value());

  // Update keeps id, tenant, request and creation time; sets the rest.
  ExportJobRow done = job;
  done.request_json = "ignored";
  done.created_at_ms = 7;
  done.status = "done";
  done.rows = 12;
  done.bytes = 3456;
  done.file = "/data/exports/acme/exp_1.csv";
  done.finished_at_ms = 200;
  ASSERT_TRUE(store->UpdateExportJob(done).ok());
  ExportJobRow expected = job;
  expected.status = "done";
  expected.rows = 12;
  expected.bytes = 3456;
  expected.file = done.file;
  expected.finished_at_ms = 200;
  EXPECT_EQ(*store->GetExportJob("acme", "exp_1").value(), expected);
  // finished_at_ms can be cleared again, and the error set.
  expected.status = "queued";
  expected.error = "boom, \"quoted\"";
  expected.finished_at_ms.reset();
  ASSERT_TRUE(store->UpdateExportJob(expected).ok());
  EXPECT_EQ(*store->GetExportJob("acme", "exp_1").value(), expected);

  // Listing: every tenant, oldest first; filtered by status.
  auto all = store->ListExportJobs("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], other);
  EXPECT_EQ((*all)[1], expected);
  auto running = store->ListExportJobs("running");
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(*running, std::vector<ExportJobRow>{other});
  EXPECT_TRUE(store->ListExportJobs("failed")->empty());

  // Deleting needs the right tenant.
  ASSERT_TRUE(store->DeleteExportJob("acme", "exp_2").ok());
  EXPECT_TRUE(store->GetExportJob("globex", "exp_2")->has_value());
  ASSERT_TRUE(store->DeleteExportJob("globex", "exp_2").ok());
  EXPECT_FALSE(store->GetExportJob("globex", "exp_2")->has_value());
  EXPECT_TRUE(store->DeleteExportJob("globex", "exp_2").ok());
  EXPECT_EQ(store->ListExportJobs("")->size(), 1u);
}

TEST_P(StateStoreTest, ExportJobErrors) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store->GetOrCreateTenant("globex").ok());
  ExportJobRow job{"exp_1", "acme", "{}", "queued", 0, 0, "", "", 1};
  EXPECT_EQ(store->CreateExportJob({"exp_1", "nobody", "{}", "queued"}).code(),
            ErrorCode::kNotFound);
  ASSERT_TRUE(store->CreateExportJob(job).ok());
  EXPECT_EQ(store->CreateExportJob(job).code(), ErrorCode::kAlreadyExists);
  ExportJobRow elsewhere = job;
  elsewhere.tenant = "globex";
  EXPECT_EQ(store->CreateExportJob(elsewhere).code(), ErrorCode::kAlreadyExists);
  ExportJobRow no_id = job;
  no_id.id.clear();
  EXPECT_EQ(store->CreateExportJob(no_id).code(), ErrorCode::kInvalidArgument);
  // Updates of an absent job, or of another tenant's, are kNotFound and change nothing.
  elsewhere.status = "failed";
  EXPECT_EQ(store->UpdateExportJob(elsewhere).code(), ErrorCode::kNotFound);
  ExportJobRow absent = job;
  absent.id = "exp_2";
  EXPECT_EQ(store->UpdateExportJob(absent).code(), ErrorCode::kNotFound);
  EXPECT_EQ(*store->GetExportJob("acme", "exp_1").value(), job);
  EXPECT_EQ(store->GetExportJob("BAD NAME", "exp_1").status().code(), ErrorCode::kInvalidArgument);
}

TEST(StateStoreFactoryTest, PostgresUrlsAreRecognised) {
  EXPECT_TRUE(IsPostgresLocation("postgresql://localhost/db"));
  EXPECT_TRUE(IsPostgresLocation("postgres://u@h:1/d"));
  EXPECT_FALSE(IsPostgresLocation("/var/lib/ca/state.db"));
  EXPECT_FALSE(IsPostgresLocation("postgresql.db"));
  EXPECT_FALSE(IsPostgresLocation("state.db"));
  EXPECT_FALSE(IsPostgresLocation(""));
}

// SQLite only: the file and its journal.

class SqliteStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(db_.Create(Backend::kSqlite), ""); }

  std::string ReadBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  TestLocation db_;
};

TEST_F(SqliteStateStoreTest, OpensInWalMode) {
  auto store = db_.Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(db_.RawQuery("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

TEST_F(SqliteStateStoreTest, RejectsFileThatIsNotADatabase) {
  {
    std::ofstream out(db_.location(), std::ios::binary);
    out << std::string(4096, 'x');
  }
  auto store = OpenSqliteStateStore(db_.location());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kCorruption);
}

TEST_F(SqliteStateStoreTest, OpenFailsInMissingDirectory) {
  auto store = OpenStateStore(db_.location() + ".d/no/such/dir/state.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kIoError);
}

TEST_F(SqliteStateStoreTest, OnlyHashesAreInTheFiles) {
  const std::string& path = db_.location();
  std::vector<std::string> all_keys;
  {
    auto store = db_.Open();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 5; ++i) {
      auto keys = store->CreateKeys("acme");
      ASSERT_TRUE(keys.ok());
      all_keys.push_back(keys->write_key);
      all_keys.push_back(keys->secret_key);
    }
    // Read while the store is open (data still in the -wal file) and after it is closed.
    std::string bytes = ReadBytes(path) + ReadBytes(path + "-wal");
    ASSERT_FALSE(bytes.empty());
    for (const std::string& key : all_keys) {
      EXPECT_EQ(bytes.find(key.substr(4)), std::string::npos);
      EXPECT_EQ(bytes.find(key.substr(4 + kKeyIdLength)), std::string::npos);
    }
  }
  std::string bytes = ReadBytes(path) + ReadBytes(path + "-wal");
  for (const std::string& key : all_keys) {
    EXPECT_EQ(bytes.find(key.substr(4 + kKeyIdLength)), std::string::npos);
    EXPECT_NE(bytes.find(Sha256Hex(key)), std::string::npos) << "hash should be stored";
  }
}

// PostgreSQL only: URLs, connection errors, concurrent openers, broken connections. The tests that
// need no server run always.

TEST(PostgresUrlTest, DescriptionsNameHostPortAndDatabaseOnly) {
  EXPECT_EQ(DescribePostgresUrl("postgresql://alice:s3cret@db.example.com:6432/state"),
            "db.example.com:6432/state");
  EXPECT_EQ(DescribePostgresUrl("postgres://alice@10.0.0.1/state?sslmode=require"),
            "10.0.0.1:5432/state");
  EXPECT_EQ(DescribePostgresUrl("postgresql://h1:5433,h2/state"), "h1:5433,h2:5432/state");
  EXPECT_EQ(DescribePostgresUrl("postgresql://bob@/"), "local socket:5432/bob");
  EXPECT_EQ(DescribePostgresUrl("postgresql:///"), "local socket:5432/default");
  EXPECT_EQ(DescribePostgresUrl("host=h port=7 dbname=d password=x"), "h:7/d");
  EXPECT_EQ(DescribePostgresUrl("postgresql://h/d?nosuchoption=1"), "(invalid PostgreSQL URL)");
}

TEST(PostgresUrlTest, SqlStatesMapToErrorCodes) {
  EXPECT_EQ(ErrorCodeForSqlState("53100"), ErrorCode::kDiskFull);
  EXPECT_EQ(ErrorCodeForSqlState("53300"), ErrorCode::kUnavailable);  // too many connections
  EXPECT_EQ(ErrorCodeForSqlState("08006"), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeForSqlState("57P01"), ErrorCode::kUnavailable);  // admin shutdown
  EXPECT_EQ(ErrorCodeForSqlState("40001"), ErrorCode::kUnavailable);  // serialization failure
  EXPECT_EQ(ErrorCodeForSqlState("40P01"), ErrorCode::kUnavailable);  // deadlock
  EXPECT_EQ(ErrorCodeForSqlState("57014"), ErrorCode::kCancelled);
  EXPECT_EQ(ErrorCodeForSqlState("22021"), ErrorCode::kInvalidArgument);  // bad UTF-8, NUL
  EXPECT_EQ(ErrorCodeForSqlState("58030"), ErrorCode::kIoError);
  EXPECT_EQ(ErrorCodeForSqlState("42501"), ErrorCode::kIoError);
  EXPECT_EQ(ErrorCodeForSqlState("XX001"), ErrorCode::kCorruption);
  EXPECT_EQ(ErrorCodeForSqlState("23505"), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeForSqlState("42P01"), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeForSqlState(""), ErrorCode::kInternal);
}

TEST(PostgresUrlTest, UnreachableServerIsUnavailableAndThePasswordIsNotShown) {
  // Nothing listens on port 1 of the loopback: the connection is refused at once.
  for (const char* url : {"postgresql://alice:s3cret-pw@127.0.0.1:1/state",
                          "postgres://alice@127.0.0.1:1/state?password=s3cret-pw",
                          "postgresql://alice:s3cret%2Dpw@127.0.0.1:1/state"}) {
    SCOPED_TRACE(url);
    auto store = OpenStateStore(url);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), ErrorCode::kUnavailable);
    const std::string message(store.status().message());
    EXPECT_NE(message.find("127.0.0.1:1/state"), std::string::npos) << message;
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
  }
}

TEST(PostgresUrlTest, UnparsableUrlIsConfigInvalidAndThePasswordIsNotShown) {
  for (const char* url : {"postgresql://alice:s3cret-pw@127.0.0.1:1/state?nosuchoption=s3cret-pw",
                          "postgresql://alice:s3cret-pw@127.0.0.1:1/state?sslmode=s3cret-pw%zz"}) {
    SCOPED_TRACE(url);
    auto store = OpenStateStore(url);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), ErrorCode::kConfigInvalid);
    EXPECT_EQ(std::string(store.status().message()).find("s3cret-pw"), std::string::npos)
        << store.status().message();
  }
}

class PostgresStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string skip = db_.Create(Backend::kPostgres);
    if (!skip.empty()) GTEST_SKIP() << skip;
  }

  /// Ends every server connection to the test database but the caller's (as a server restart
  /// or an administrator would).
  void TerminateConnections() {
    // The database name is ours (ca_state_test_ + hex): safe in the test's SQL text.
    std::vector<std::string> ended =
        PostgresQuery(db_.admin_url(),
                      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                          db_.database() + "' AND pid <> pg_backend_pid()");
    ASSERT_FALSE(ended.empty()) << "the store had no connection to end";
  }

  TestLocation db_;
};

TEST_F(PostgresStateStoreTest, TwoStoresOpenAtOnceShareWritesAndReopeningDoesNotMigrate) {
  const std::string kApplied =
      "SELECT version || ':' || applied_at_ms FROM schema_migrations ORDER BY version";
  auto server = db_.Open();
  auto cli = db_.Open();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(cli, nullptr);
  const std::vector<std::string> applied = db_.RawQuery(kApplied);
  ASSERT_GE(applied.size(), 7u);

  auto keys = cli->CreateKeys("acme");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE((*server->LookupKey(keys->write_key)).has_value());
  ASSERT_TRUE(server->SuppressUsers("acme", {"u1"}, 1).ok());
  EXPECT_EQ(*cli->ListSuppressedUsers("acme"), std::vector<std::string>{"u1"});
  ASSERT_TRUE(server->SetTenantRetention("acme", 9).ok());
  EXPECT_EQ((*cli->FindTenant("acme"))->retention_days, 9);

  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto third = db_.Open();
  ASSERT_NE(third, nullptr);
  EXPECT_EQ((*third->FindTenant("acme"))->retention_days, 9);
  EXPECT_EQ(db_.RawQuery(kApplied), applied);
}

TEST_F(PostgresStateStoreTest, ConcurrentOpenersMigrateOnce) {
  constexpr int kOpeners = 4;
  std::vector<Result<std::unique_ptr<StateStore>>> opened;
  for (int i = 0; i < kOpeners; ++i) opened.emplace_back(Status(ErrorCode::kInternal, "unset"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] { opened[i] = OpenStateStore(db_.location()); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& store : opened) EXPECT_TRUE(store.ok()) << store.status().ToString();
  // Each version once (it is the key), none missing.
  const std::vector<std::string> versions =
      db_.RawQuery("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_GE(versions.size(), 7u);
  for (size_t i = 0; i < versions.size(); ++i) EXPECT_EQ(versions[i], std::to_string(i + 1));
}

TEST_F(PostgresStateStoreTest, BrokenConnectionsAreReopened) {
  auto store = db_.Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    TerminateConnections();
    // Reads and writes go through: the broken connection is reset and the call run again.
    auto keys = store->CreateKeys("acme");
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    TerminateConnections();
    auto match = store->LookupKey(keys->write_key);
    ASSERT_TRUE(match.ok()) << match.status().ToString();
    EXPECT_TRUE(match->has_value());
  }
  EXPECT_EQ(db_.RawQuery("SELECT COUNT(*) FROM api_keys"), std::vector<std::string>{"6"});
}

TEST_F(PostgresStateStoreTest, AStatementThatWaitsTooLongIsCancelled) {
  // The store's own timeout beside other settings in the URL's `options`, and a timeout there,
  // which wins over the store's.
  struct Case {
    const char* url_options;  // percent-encoded
    int statement_timeout_ms;
  };
  for (const Case& c : {Case{"", 300}, Case{"?options=-c%20lock_timeout%3D0", 300},
                        Case{"?options=-c%20statement_timeout%3D300", 600'000}}) {
    SCOPED_TRACE(c.url_options);
    PostgresStateStoreOptions options;
    options.statement_timeout_ms = c.statement_timeout_ms;
    auto store = OpenPostgresStateStore(db_.location() + c.url_options, options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->GetOrCreateTenant("acme").ok());
    ASSERT_TRUE((*store)->MergeUserTraits("acme", "u1", R"({"industry":"software"})", 1).ok());
    // Another session holds the table's strongest lock, as a forgotten transaction would (the
    // server ends it after 15 s, so that a store without a timeout fails the test, not hangs it).
    PGconn* holder = PQconnectdb(db_.location().c_str());
    ASSERT_EQ(PQstatus(holder), CONNECTION_OK) << PQerrorMessage(holder);
    PGresult* locked = PQexec(holder,
                              "SET idle_in_transaction_session_timeout = 15000; BEGIN;"
                              " LOCK TABLE user_traits IN ACCESS EXCLUSIVE MODE");
    ASSERT_EQ(PQresultStatus(locked), PGRES_COMMAND_OK) << PQerrorMessage(holder);
    PQclear(locked);
    const auto started = std::chrono::steady_clock::now();
    auto blocked = (*store)->GetUserTraits("acme", "u1");
    const auto waited = std::chrono::steady_clock::now() - started;
    PQfinish(holder);  // the lock goes with the session
    ASSERT_FALSE(blocked.ok());
    EXPECT_EQ(blocked.status().code(), ErrorCode::kCancelled) << blocked.status().ToString();
    EXPECT_GE(waited, std::chrono::milliseconds(250));
    EXPECT_LT(waited, std::chrono::seconds(10));
    // The connection goes on serving.
    auto traits = (*store)->GetUserTraits("acme", "u1");
    ASSERT_TRUE(traits.ok()) << traits.status().ToString();
    EXPECT_EQ(traits->value_or(""), R"({"industry":"software"})");
  }
}

TEST_F(PostgresStateStoreTest, MissingDatabaseIsUnavailable) {
  auto store = OpenStateStore(WithDatabase(db_.admin_url(), "ca_state_test_missing"));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(store.status().message().find("/ca_state_test_missing"), std::string_view::npos)
      << store.status().message();
}

TEST_F(PostgresStateStoreTest, TextThatPostgresCannotHoldIsInvalidNotTruncated) {
  auto store = db_.Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  EXPECT_EQ(store->SuppressUsers("acme", {std::string("a\0b", 3)}, 1).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->SuppressUsers("acme", {"bad \xff utf-8"}, 1).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(store->ListSuppressedUsers("acme")->empty());
  // The store is still usable.
  ASSERT_TRUE(store->SuppressUsers("acme", {"a"}, 1).ok());
  EXPECT_EQ(*store->ListSuppressedUsers("acme"), std::vector<std::string>{"a"});
}

TEST_F(PostgresStateStoreTest, KeepsEveryDeadLetterWhenTheCapIsHuge) {
  auto store = db_.Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store
                  ->AddDeadLetters("acme", {{0, 1, "c", "m", "native", "{}"}},
                                   std::numeric_limits<uint64_t>::max())
                  .ok());
  EXPECT_EQ(*store->CountDeadLetters("acme"), 1u);
}

TEST_F(PostgresStateStoreTest, SchemaMatchesSqlite) {
  auto store = db_.Open();
  ASSERT_NE(store, nullptr);
  TestLocation sqlite;
  ASSERT_EQ(sqlite.Create(Backend::kSqlite), "");
  ASSERT_NE(sqlite.Open(), nullptr);
  EXPECT_EQ(db_.Tables(), sqlite.Tables());
  EXPECT_EQ(db_.RawQuery("SELECT version FROM schema_migrations ORDER BY version"),
            sqlite.RawQuery("SELECT version FROM schema_migrations ORDER BY version"));
  // The same columns in the same order, table by table.
  for (const std::string& table : sqlite.Tables()) {
    SCOPED_TRACE(table);
    EXPECT_EQ(db_.RawQuery("SELECT column_name FROM information_schema.columns WHERE table_schema"
                           " = current_schema() AND table_name = '" +
                           table + "' ORDER BY ordinal_position"),
              sqlite.RawQuery("SELECT name FROM pragma_table_info('" + table + "') ORDER BY cid"));
    EXPECT_EQ(
        db_.RawQuery("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND"
                     " tablename = '" +
                     table +
                     "' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'"
                     " ORDER BY indexname COLLATE \"C\""),
        sqlite.RawQuery("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '" +
                        table + "' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name"));
  }
}

}  // namespace
}  // namespace ca::state
