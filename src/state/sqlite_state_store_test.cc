#include "state/sqlite_state_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "state/api_key.h"

namespace ca::state {
namespace {

class SqliteStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "state_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/state.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<StateStore> Open() {
    auto store = OpenSqliteStateStore(path_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  /// Runs `sql` on a separate raw connection and returns the first column of each row.
  std::vector<std::string> RawQuery(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
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

  std::string ReadBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string dir_;
  std::string path_;
};

TEST_F(SqliteStateStoreTest, OpensWithWalAndRecordsMigrations) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  EXPECT_EQ(RawQuery("SELECT version FROM schema_migrations ORDER BY version"),
            (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  std::vector<std::string> tables =
      RawQuery("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  EXPECT_EQ(tables, (std::vector<std::string>{"api_keys", "custom_event_types", "dead_letters",
                                              "recompute_days", "schema_migrations",
                                              "suppressed_users", "tenants", "user_traits"}));
}

TEST_F(SqliteStateStoreTest, MigrationsAreIdempotentAndKeepData) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  }
  for (int i = 0; i < 3; ++i) {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    auto tenants = store->ListTenants();
    ASSERT_TRUE(tenants.ok());
    ASSERT_EQ(tenants->size(), 1u);
    EXPECT_EQ((*tenants)[0].name, "acme");
  }
  EXPECT_EQ(RawQuery("SELECT COUNT(*) FROM schema_migrations"), std::vector<std::string>{"5"});
}

TEST_F(SqliteStateStoreTest, RefusesSchemaNewerThanBinary) {
  ASSERT_NE(Open(), nullptr);
  RawQuery("INSERT INTO schema_migrations (version, applied_at_ms) VALUES (999, 0)");
  auto store = OpenSqliteStateStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kConfigInvalid);
}

TEST_F(SqliteStateStoreTest, RejectsFileThatIsNotADatabase) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << std::string(4096, 'x');
  }
  auto store = OpenSqliteStateStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kCorruption);
}

TEST_F(SqliteStateStoreTest, OpenFailsInMissingDirectory) {
  auto store = OpenSqliteStateStore(dir_ + "/no/such/dir/state.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kIoError);
}

TEST_F(SqliteStateStoreTest, TenantsAreCreatedOnceAndListedByName) {
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
}

TEST_F(SqliteStateStoreTest, TenantRetentionIsStoredAndChecked) {
  auto store = Open();
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  EXPECT_EQ((*store->FindTenant("acme"))->retention_days, 0);
  ASSERT_TRUE(store->SetTenantRetention("acme", 30).ok());
  EXPECT_EQ((*store->FindTenant("acme"))->retention_days, 30);
  EXPECT_EQ((*store->ListTenants())[0].retention_days, 30);
  EXPECT_EQ(store->SetTenantRetention("acme", -1).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->SetTenantRetention("nobody", 5).code(), ErrorCode::kNotFound);
}

TEST_F(SqliteStateStoreTest, IngestPolicyHasDefaultsAndIsChecked) {
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

TEST_F(SqliteStateStoreTest, SuppressionListIsPerTenantAndIdempotent) {
  auto store = Open();
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store->GetOrCreateTenant("beta").ok());
  ASSERT_TRUE(store->SuppressUsers("acme", {"u2", "u1"}, 1000).ok());
  ASSERT_TRUE(store->SuppressUsers("acme", {"u1"}, 2000).ok());
  EXPECT_EQ(*store->ListSuppressedUsers("acme"), (std::vector<std::string>{"u1", "u2"}));
  EXPECT_TRUE(store->ListSuppressedUsers("beta")->empty());
  EXPECT_EQ(store->SuppressUsers("nobody", {"u1"}, 0).code(), ErrorCode::kNotFound);
  EXPECT_EQ(RawQuery("SELECT added_at_ms FROM suppressed_users WHERE user_id = 'u1'"),
            std::vector<std::string>{"1000"});
}

TEST_F(SqliteStateStoreTest, RecomputeDaysAreMarkedOnce) {
  auto store = Open();
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  ASSERT_TRUE(store->MarkRecomputeDays("acme", {20420, 20418}, 1).ok());
  ASSERT_TRUE(store->MarkRecomputeDays("acme", {20420}, 2).ok());
  EXPECT_EQ(*store->ListRecomputeDays("acme"), (std::vector<int64_t>{20418, 20420}));
  EXPECT_EQ(store->MarkRecomputeDays("nobody", {1}, 0).code(), ErrorCode::kNotFound);
}

TEST_F(SqliteStateStoreTest, UserTraitsMergeAndAreForgotten) {
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
  ASSERT_TRUE(store->ForgetUser("acme", "u1").ok());
  EXPECT_FALSE(store->GetUserTraits("acme", "u1")->has_value());
}

TEST_F(SqliteStateStoreTest, InvalidTenantNamesAreRejected) {
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

TEST_F(SqliteStateStoreTest, CreatedKeysAreFoundWithTheirKind) {
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

TEST_F(SqliteStateStoreTest, AllowedOriginsOfAWriteKeyAreStoredAndChecked) {
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

TEST_F(SqliteStateStoreTest, DeadLettersAreKeptListedCappedAndDeleted) {
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
  EXPECT_EQ((*all)[2].received_at_ms, 1002);
  EXPECT_LT((*all)[0].id, (*all)[1].id);
  // Paging by id.
  auto page = store->ListDeadLetters("acme", (*all)[0].id, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0], (*all)[1]);
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
}

TEST_F(SqliteStateStoreTest, KeysAreDistinctAcrossCallsAndTenants) {
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

TEST_F(SqliteStateStoreTest, AlteredKeysAreNotFound) {
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

TEST_F(SqliteStateStoreTest, RevokedKeysAreNotFound) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto keys = store->CreateKeys("acme");
  ASSERT_TRUE(keys.ok());
  std::string key_id = keys->write_key.substr(4, kKeyIdLength);
  RawQuery("UPDATE api_keys SET revoked_at_ms = 1 WHERE key_id = '" + key_id + "'");
  auto write = store->LookupKey(keys->write_key);
  ASSERT_TRUE(write.ok());
  EXPECT_FALSE(write->has_value());
  auto secret = store->LookupKey(keys->secret_key);
  ASSERT_TRUE(secret.ok());
  EXPECT_TRUE(secret->has_value());
}

TEST_F(SqliteStateStoreTest, OnlyHashesAreStored) {
  std::vector<std::string> all_keys;
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 5; ++i) {
      auto keys = store->CreateKeys("acme");
      ASSERT_TRUE(keys.ok());
      all_keys.push_back(keys->write_key);
      all_keys.push_back(keys->secret_key);
    }
    // Read while the store is open (data still in the -wal file) and after it is closed.
    std::string bytes = ReadBytes(path_) + ReadBytes(path_ + "-wal");
    ASSERT_FALSE(bytes.empty());
    for (const std::string& key : all_keys) {
      EXPECT_EQ(bytes.find(key.substr(4)), std::string::npos);
      EXPECT_EQ(bytes.find(key.substr(4 + kKeyIdLength)), std::string::npos);
    }
  }
  std::string bytes = ReadBytes(path_) + ReadBytes(path_ + "-wal");
  for (const std::string& key : all_keys) {
    EXPECT_EQ(bytes.find(key.substr(4 + kKeyIdLength)), std::string::npos);
    EXPECT_NE(bytes.find(Sha256Hex(key)), std::string::npos) << "hash should be stored";
  }
}

TEST_F(SqliteStateStoreTest, TwoStoresOnOneFileSeeEachOthersWrites) {
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

TEST_F(SqliteStateStoreTest, ConcurrentWritersFromTwoConnectionsDoNotFail) {
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

TEST_F(SqliteStateStoreTest, CustomEventTypesRoundTrip) {
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
}

TEST_F(SqliteStateStoreTest, CustomEventTypeErrors) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetOrCreateTenant("acme").ok());
  EXPECT_EQ(store->AddCustomEventType("nobody", {"x", "{}"}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store->AddCustomEventType("Bad Name", {"x", "{}"}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->AddCustomEventType("acme", {"", "{}"}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->AddCustomEventType("acme", {std::string(129, 'x'), "{}"}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->AddCustomEventType("acme", {"a\nb", "{}"}).code(), ErrorCode::kInvalidArgument);
  for (const char* json : {"", "[]", "\"plan\"", "{\"plan\":", "42", "null"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(store->AddCustomEventType("acme", {"x", json}).code(), ErrorCode::kInvalidArgument);
  }
  auto rows = store->ListCustomEventTypes("acme");
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
  EXPECT_EQ(store->ListCustomEventTypes("NOPE").status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ca::state
