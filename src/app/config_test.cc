#include "app/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace ca::app {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "config_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteToml(const std::string& text) {
    std::string path = dir_ + "/config" + std::to_string(files_++) + ".toml";
    std::ofstream(path) << text;
    return path;
  }

  Status ApplyToml(const std::string& text, Config* c) { return ApplyTomlFile(WriteToml(text), c); }

  std::string dir_;
  int files_ = 0;
};

TEST_F(ConfigTest, Defaults) {
  Config c = DefaultConfig();
  EXPECT_EQ(c.data, "./data");
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.threads, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.wal_sync, "always");
  EXPECT_EQ(c.wal_sync_interval_ms, 200);
  EXPECT_EQ(c.wal_segment_bytes, 67108864u);
  EXPECT_EQ(c.dedup_window_hours, 168);
  EXPECT_EQ(c.dedup_max_ids, 50'000'000u);
  EXPECT_EQ(c.max_event_bytes, 32768u);
  EXPECT_EQ(c.max_body_bytes, 1048576u);
  EXPECT_EQ(c.max_batch_events, 1000u);
  EXPECT_EQ(c.http_max_connections, 10000u);
  EXPECT_EQ(c.shutdown_grace_ms, 10000);
  EXPECT_TRUE(Validate(c).ok());
}

TEST_F(ConfigTest, SetParsesEveryKey) {
  Config c = DefaultConfig();
  const std::pair<const char*, const char*> values[] = {
      {"data", "/var/lib/ca"},
      {"listen", "0.0.0.0:9000"},
      {"threads", "3"},
      {"log_level", "debug"},
      {"wal.sync", "interval"},
      {"wal.sync_interval_ms", "50"},
      {"wal.segment_bytes", "1048576"},
      {"ingest.dedup_window_hours", "24"},
      {"ingest.max_event_bytes", "4096"},
      {"ingest.max_body_bytes", "65536"},
      {"ingest.max_batch_events", "10"},
      {"http.max_connections", "500"},
      {"shutdown_grace_ms", "0"},
  };
  for (const auto& [key, value] : values) {
    ASSERT_TRUE(Set(key, value, "test", &c).ok()) << key;
  }
  EXPECT_EQ(c.data, "/var/lib/ca");
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.wal_sync, "interval");
  EXPECT_EQ(c.wal_sync_interval_ms, 50);
  EXPECT_EQ(c.wal_segment_bytes, 1048576u);
  EXPECT_EQ(c.dedup_window_hours, 24);
  EXPECT_EQ(c.max_event_bytes, 4096u);
  EXPECT_EQ(c.max_body_bytes, 65536u);
  EXPECT_EQ(c.max_batch_events, 10u);
  EXPECT_EQ(c.http_max_connections, 500u);
  EXPECT_EQ(c.shutdown_grace_ms, 0);
}

TEST_F(ConfigTest, ListenForms) {
  Config c = DefaultConfig();
  ASSERT_TRUE(Set("listen", "[::1]:8443", "test", &c).ok());
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 8443);
  ASSERT_TRUE(Set("listen", "localhost:0", "test", &c).ok());
  EXPECT_EQ(c.listen_host, "localhost");
  EXPECT_EQ(c.listen_port, 0);
  for (const char* bad : {"8080", "localhost", ":8080", "host:", "host:65536", "host:-1",
                          "host:80x", "::1:8080", "[]:80", "ho st:80", "host:+80"}) {
    Config before = c;
    Status s = Set("listen", bad, "test", &c);
    EXPECT_EQ(s.code(), ErrorCode::kConfigInvalid) << bad;
    EXPECT_EQ(c.listen_host, before.listen_host);
    EXPECT_EQ(c.listen_port, before.listen_port);
  }
}

TEST_F(ConfigTest, SetRejectsBadValuesAndLeavesConfigUnchanged) {
  const std::pair<const char*, const char*> bad[] = {
      {"data", ""},
      {"threads", "0"},
      {"threads", "-2"},
      {"http.max_connections", "0"},
      {"http.max_connections", "1000001"},
      {"threads", "two"},
      {"threads", "2.5"},
      {"threads", ""},
      {"threads", "99999999999999999999999"},
      {"log_level", "verbose"},
      {"wal.sync", "sometimes"},
      {"wal.sync", "ALWAYS"},
      {"wal.sync_interval_ms", "0"},
      {"wal.segment_bytes", "-1"},
      {"wal.segment_bytes", "100"},
      {"ingest.dedup_window_hours", "-168"},
      {"ingest.max_event_bytes", "-1"},
      {"ingest.max_body_bytes", "1 MiB"},
      {"ingest.max_batch_events", "0"},
      {"shutdown_grace_ms", "-1"},
  };
  for (const auto& [key, value] : bad) {
    Config c = DefaultConfig();
    Status s = Set(key, value, "test", &c);
    EXPECT_EQ(s.code(), ErrorCode::kConfigInvalid) << key << "=" << value;
    EXPECT_EQ(ToToml(c), ToToml(DefaultConfig())) << key << "=" << value;
  }
}

TEST_F(ConfigTest, SetRejectsUnknownKey) {
  Config c = DefaultConfig();
  Status s = Set("wal.synk", "always", "command line", &c);
  EXPECT_EQ(s.code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(s.message().find("wal.synk"), std::string_view::npos);
  EXPECT_EQ(Set("wal", "always", "command line", &c).code(), ErrorCode::kConfigInvalid);
}

TEST_F(ConfigTest, TomlFileWithTablesAndDottedKeys) {
  Config c = DefaultConfig();
  Status s = ApplyToml(R"(
data = "/srv/ca"
listen = "0.0.0.0:80"
threads = 2
ingest.max_batch_events = 50
ingest.dedup_window_hours = 1

[wal]
sync = "none"
segment_bytes = 1_048_576
)",
                       &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.data, "/srv/ca");
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 80);
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.wal_sync, "none");
  EXPECT_EQ(c.wal_segment_bytes, 1048576u);
  EXPECT_EQ(c.dedup_window_hours, 1);
  EXPECT_EQ(c.max_batch_events, 50u);
  EXPECT_EQ(c.log_level, "info");  // Untouched keys keep their defaults.
}

TEST_F(ConfigTest, TomlUnknownKeyNamesKeyAndFile) {
  Config c = DefaultConfig();
  std::string path = WriteToml("[wal]\nsynk = \"always\"\n");
  Status s = ApplyTomlFile(path, &c);
  EXPECT_EQ(s.code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(s.message().find("'wal.synk'"), std::string_view::npos) << s.message();
  EXPECT_NE(s.message().find(path), std::string_view::npos) << s.message();

  EXPECT_EQ(ApplyToml("colour = \"blue\"\n", &c).code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ(ApplyToml("[logging]\n", &c).code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ(ApplyToml("[wal.sync]\nx = 1\n", &c).code(), ErrorCode::kConfigInvalid);
}

TEST_F(ConfigTest, TomlWrongTypes) {
  for (const char* text :
       {"threads = \"4\"", "data = 5", "wal.sync = true", "listen = 8080", "threads = 2.0",
        "threads = [1]", "wal = 1", "shutdown_grace_ms = 1979-05-27"}) {
    Config c = DefaultConfig();
    EXPECT_EQ(ApplyToml(text, &c).code(), ErrorCode::kConfigInvalid) << text;
  }
}

TEST_F(ConfigTest, TomlBadValues) {
  for (const char* text : {"wal.sync = \"sometimes\"", "listen = \"nohost\"", "threads = -1",
                           "ingest.max_event_bytes = -5", "threads = 9223372036854775807"}) {
    Config c = DefaultConfig();
    EXPECT_EQ(ApplyToml(text, &c).code(), ErrorCode::kConfigInvalid) << text;
  }
}

TEST_F(ConfigTest, TomlSyntaxErrorAndMissingFile) {
  Config c = DefaultConfig();
  EXPECT_EQ(ApplyToml("data = \n", &c).code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ(ApplyToml("[wal\nsync = \"none\"\n", &c).code(), ErrorCode::kConfigInvalid);
  Status missing = ApplyTomlFile(dir_ + "/absent.toml", &c);
  EXPECT_EQ(missing.code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(missing.message().find("absent.toml"), std::string_view::npos);
  EXPECT_EQ(ToToml(c), ToToml(DefaultConfig()));
}

TEST_F(ConfigTest, EnvironmentVariables) {
  EXPECT_EQ(EnvVarName("wal.sync"), "CA_WAL_SYNC");
  EXPECT_EQ(EnvVarName("ingest.dedup_window_hours"), "CA_INGEST_DEDUP_WINDOW_HOURS");
  Config c = DefaultConfig();
  Status s =
      ApplyEnvironment(std::vector<std::string>{"HOME=/root", "PATH=/bin", "CA_WAL_SYNC=interval",
                                                "CA_INGEST_DEDUP_WINDOW_HOURS=12",
                                                "CA_LISTEN=[::]:81", "CAT=meow", "XCA_DATA=/nope"},
                       &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.wal_sync, "interval");
  EXPECT_EQ(c.dedup_window_hours, 12);
  EXPECT_EQ(c.listen_host, "::");
  EXPECT_EQ(c.listen_port, 81);
  EXPECT_EQ(c.data, "./data");
}

TEST_F(ConfigTest, EnvironmentFromEnvp) {
  std::string a = "CA_THREADS=7", b = "OTHER=1";
  char* envp[] = {a.data(), b.data(), nullptr};
  Config c = DefaultConfig();
  ASSERT_TRUE(ApplyEnvironment(envp, &c).ok());
  EXPECT_EQ(c.threads, 7);
}

TEST_F(ConfigTest, EnvironmentErrors) {
  Config c = DefaultConfig();
  Status unknown = ApplyEnvironment(std::vector<std::string>{"CA_WAL_SYNK=always"}, &c);
  EXPECT_EQ(unknown.code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(unknown.message().find("CA_WAL_SYNK"), std::string_view::npos);
  Status bad = ApplyEnvironment(std::vector<std::string>{"CA_THREADS=-3"}, &c);
  EXPECT_EQ(bad.code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(bad.message().find("CA_THREADS"), std::string_view::npos);
  EXPECT_EQ(ApplyEnvironment(std::vector<std::string>{"CA_DATA="}, &c).code(),
            ErrorCode::kConfigInvalid);
  // Lower-case variables are not configuration variables.
  EXPECT_EQ(ApplyEnvironment(std::vector<std::string>{"CA_wal_sync=none"}, &c).code(),
            ErrorCode::kConfigInvalid);
}

TEST_F(ConfigTest, PrecedenceDefaultsThenFileThenEnvironmentThenFlags) {
  Config c = DefaultConfig();
  ASSERT_TRUE(ApplyToml("threads = 2\nwal.sync = \"none\"\ndata = \"/from/file\"\n"
                        "log_level = \"warn\"\n",
                        &c)
                  .ok());
  ASSERT_TRUE(
      ApplyEnvironment(std::vector<std::string>{"CA_WAL_SYNC=interval", "CA_DATA=/from/env"}, &c)
          .ok());
  ASSERT_TRUE(Set("data", "/from/flag", "command line", &c).ok());
  EXPECT_EQ(c.shutdown_grace_ms, 10000);  // default
  EXPECT_EQ(c.threads, 2);                // file
  EXPECT_EQ(c.log_level, "warn");         // file
  EXPECT_EQ(c.wal_sync, "interval");      // environment over file
  EXPECT_EQ(c.data, "/from/flag");        // flag over environment
}

TEST_F(ConfigTest, ValidateCrossKeyLimits) {
  Config c = DefaultConfig();
  ASSERT_TRUE(Set("ingest.max_body_bytes", "2048", "test", &c).ok());
  EXPECT_EQ(Validate(c).code(), ErrorCode::kConfigInvalid);
  ASSERT_TRUE(Set("ingest.max_event_bytes", "2048", "test", &c).ok());
  EXPECT_TRUE(Validate(c).ok());
}

TEST_F(ConfigTest, ToTomlRoundTrips) {
  Config c = DefaultConfig();
  ASSERT_TRUE(Set("listen", "[::1]:1234", "test", &c).ok());
  ASSERT_TRUE(Set("data", "/path with \"quotes\"\\", "test", &c).ok());
  ASSERT_TRUE(Set("wal.segment_bytes", "17179869184", "test", &c).ok());
  ASSERT_TRUE(Set("threads", "1", "test", &c).ok());
  std::string toml = ToToml(c);
  Config back = DefaultConfig();
  ASSERT_TRUE(Set("threads", "5", "test", &back).ok());
  Status s = ApplyToml(toml, &back);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << toml;
  EXPECT_EQ(ToToml(back), toml);
  EXPECT_EQ(back.data, c.data);
  EXPECT_EQ(back.listen_host, "::1");
  EXPECT_EQ(back.threads, 1);
  EXPECT_EQ(back.wal_segment_bytes, 17179869184u);
}

TEST_F(ConfigTest, HelpListsEveryKeyAndEnvName) {
  std::string help = KnownKeysHelp();
  for (const char* text :
       {"data", "listen", "threads", "log_level", "wal.sync", "wal.sync_interval_ms",
        "wal.segment_bytes", "ingest.dedup_window_hours", "ingest.dedup_max_ids",
        "ingest.max_event_bytes", "ingest.max_body_bytes", "ingest.max_batch_events",
        "shutdown_grace_ms", "CA_INGEST_MAX_BATCH_EVENTS", "CA_WAL_SYNC_INTERVAL_MS",
        "\"127.0.0.1:8080\""}) {
    EXPECT_NE(help.find(text), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace ca::app
