#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace ca::app {

/// The server's settings. Sources, lowest to highest precedence: DefaultConfig(), a TOML file
/// (ApplyTomlFile), CA_* environment variables (ApplyEnvironment), command-line flags (Set).
/// One table of known keys (see KnownKeysHelp and docs/configuration.md) drives all of them.
struct Config {
  std::string data;                      // data
  std::string listen_host;               // listen (HOST part; IPv6 without brackets)
  uint16_t listen_port = 0;              // listen (PORT part; 0 = any free port)
  int threads = 1;                       // threads
  uint32_t http_max_connections = 0;     // http.max_connections
  std::string log_level;                 // log_level
  std::string log_format;                // log_format: "json" or "text"
  std::string wal_sync;                  // wal.sync: "always", "interval" or "none"
  int wal_sync_interval_ms = 0;          // wal.sync_interval_ms
  uint64_t wal_segment_bytes = 0;        // wal.segment_bytes
  int dedup_window_hours = 0;            // ingest.dedup_window_hours
  uint64_t dedup_max_ids = 0;            // ingest.dedup_max_ids
  uint64_t max_event_bytes = 0;          // ingest.max_event_bytes
  uint64_t max_body_bytes = 0;           // ingest.max_body_bytes
  uint32_t max_batch_events = 0;         // ingest.max_batch_events
  int shutdown_grace_ms = 0;             // shutdown_grace_ms
  uint64_t store_memtable_rows = 0;      // store.memtable_rows
  uint64_t store_granule_cache_mb = 0;   // store.granule_cache_mb
  int store_flush_interval_s = 0;        // store.flush_interval_s
  int query_threads = 0;                 // query.threads
  uint64_t query_max_memory_mb = 0;      // query.max_memory_mb
  std::string privacy_scrub_pii;         // privacy.scrub_pii: "on" or "off"
  std::string privacy_ip;                // privacy.ip: "truncate" or "keep"
  std::string privacy_pii_allowed_keys;  // privacy.pii_allowed_keys: comma-separated key names
  std::string self_telemetry_tenant;     // self_telemetry.tenant ("" = off)
  uint32_t ingest_rate_limit_rps = 0;    // ingest.rate_limit_rps (per key; 0 = off)
  uint64_t ingest_max_lag_mb = 0;        // ingest.max_consumer_lag_mb
  std::string enrich_user_agents;        // enrich.user_agents: uap-core regexes.yaml ("" = off)
  std::string enrich_geo_db;             // enrich.geo_db: MaxMind DB file ("" = off)
  std::string state;                     // state: "" (SQLite in the data directory) or a URL
  std::string auth_jwt_secret;           // auth.jwt_secret ("" = user tokens refused)
  std::string auth_jwt_issuer;           // auth.jwt_issuer
  std::string auth_jwt_audience;         // auth.jwt_audience
  uint64_t cache_max_mb = 0;             // cache.max_mb (0 = no cache)
  std::string web_root;                  // web.root ("" = the web/ directory beside the build)
};

/// Where Debian's uap-core package puts its regexes (enrich.user_agents' default).
inline constexpr const char* kDefaultUserAgentRegexes = "/usr/share/uap-core/regexes.yaml";

/// The built-in defaults; `threads` is the number of cores (at least 1).
Config DefaultConfig();

/// Sets the dotted `key` (e.g. "wal.sync") from its text form `value`. `source` names where the
/// value came from ("/etc/ca.toml", "environment variable CA_WAL_SYNC", "command line") and
/// appears in error messages. kConfigInvalid for an unknown key or a bad value; `c` is unchanged
/// on error.
Status Set(std::string_view key, std::string_view value, std::string_view source, Config* c);

/// Applies every key of the TOML file at `path` (tables allowed: `[wal] sync = "none"` is
/// `wal.sync`). Strings must be TOML strings and numbers TOML integers. kConfigInvalid when the
/// file cannot be read or parsed, has an unknown key, or a value of the wrong type or range; keys
/// before the bad one may already have been applied.
Status ApplyTomlFile(const std::string& path, Config* c);

/// Applies the CA_* variables of a null-terminated `envp` array (e.g. `environ`). The variable
/// for key "ingest.max_body_bytes" is CA_INGEST_MAX_BODY_BYTES. kConfigInvalid for an unknown
/// CA_* variable or a bad value. Variables not starting with "CA_" are ignored.
Status ApplyEnvironment(char** envp, Config* c);
/// The same for a list of "NAME=VALUE" strings.
Status ApplyEnvironment(const std::vector<std::string>& vars, Config* c);

/// Cross-key checks, to run after all sources are applied: ingest.max_event_bytes must not exceed
/// ingest.max_body_bytes. kConfigInvalid otherwise.
Status Validate(const Config& c);

/// The environment variable for `key`: "CA_" + upper-case key with '.' replaced by '_'.
std::string EnvVarName(std::string_view key);

/// Every known key with its type, default, environment variable and meaning, one per line.
std::string KnownKeysHelp();

/// `c` as a TOML document that ApplyTomlFile reads back to the same values.
std::string ToToml(const Config& c);

/// Splits "HOST:PORT" (IPv6 hosts in brackets: "[::1]:8080"), as the `listen` key takes it.
/// Errors: kInvalidArgument with the reason.
Result<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view text);

}  // namespace ca::app
