#include "app/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include "base/result.h"

namespace ca::app {
namespace {

enum class ValueType { kString, kInteger };

/// One known key. `set` parses a text value into the config (leaving it unchanged on error, with
/// a reason as the message); `get` renders the current value as text.
struct KeyInfo {
  std::string_view key;
  ValueType type;
  std::string_view default_text;  // Shown in help when not simply get(DefaultConfig()).
  std::string_view help;
  Status (*set)(std::string_view value, Config* c);
  std::string (*get)(const Config& c);
};

Status Reason(std::string_view reason) { return InvalidArgument(reason); }

Result<int64_t> ParseInteger(std::string_view text, int64_t min, int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) {
    return Reason("not an integer");
  }
  if (ec == std::errc::result_out_of_range) {
    return Reason(text[0] == '-' ? "must be at least " + std::to_string(min)
                                 : "must be at most " + std::to_string(max));
  }
  if (value < min) return Reason("must be at least " + std::to_string(min));
  if (value > max) return Reason("must be at most " + std::to_string(max));
  return value;
}

template <typename T, int64_t kMin, int64_t kMax>
Status SetInteger(std::string_view text, T* field) {
  CA_ASSIGN_OR_RETURN(int64_t value, ParseInteger(text, kMin, kMax));
  *field = static_cast<T>(value);
  return Status::Ok();
}

Status SetOneOf(std::string_view text, std::initializer_list<std::string_view> allowed,
                std::string* field) {
  for (std::string_view a : allowed) {
    if (text == a) {
      *field = std::string(text);
      return Status::Ok();
    }
  }
  std::string reason = "expected one of:";
  for (std::string_view a : allowed) {
    reason += (reason.back() == ':' ? " " : ", ") + std::string(a);
  }
  return Reason(reason);
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_' || c == ':';
}

Result<std::pair<std::string, uint16_t>> ParseHostPortImpl(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return Reason("expected HOST:PORT");
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return Reason("expected HOST:PORT (write IPv6 addresses in brackets, e.g. [::1]:8080)");
  }
  if (host.empty()) return Reason("expected HOST:PORT with a non-empty HOST");
  for (char ch : host) {
    if (!IsHostChar(ch)) return Reason("HOST holds an invalid character");
  }
  auto port = ParseInteger(port_text, 0, 65535);
  if (!port.ok()) return Reason("PORT " + std::string(port.status().message()));
  return std::make_pair(std::string(host), static_cast<uint16_t>(*port));
}

Status SetListen(std::string_view text, Config* c) {
  auto parsed = ParseHostPortImpl(text);
  if (!parsed.ok()) return parsed.status();
  c->listen_host = std::move(parsed->first);
  c->listen_port = parsed->second;
  return Status::Ok();
}

std::string GetListen(const Config& c) {
  std::string host =
      c.listen_host.find(':') != std::string::npos ? "[" + c.listen_host + "]" : c.listen_host;
  return host + ":" + std::to_string(c.listen_port);
}

Status SetData(std::string_view text, Config* c) {
  if (text.empty()) return Reason("must not be empty");
  if (text.find('\0') != std::string_view::npos) return Reason("must not contain NUL");
  c->data = std::string(text);
  return Status::Ok();
}

constexpr int64_t kMiB = 1 << 20;

// Ranges reject nonsense early (a negative limit, a zero batch size) without second-guessing
// operators: the limits are generous.
const KeyInfo kKeys[] = {
    {"data", ValueType::kString, "", "Directory for the WAL, event store and state database.",
     SetData, [](const Config& c) { return c.data; }},
    {"listen", ValueType::kString, "",
     "HOST:PORT the HTTP server listens on; [::1]:8080 for IPv6, port 0 for any free port.",
     SetListen, GetListen},
    {"threads", ValueType::kInteger, "number of cores", "HTTP worker threads (1 to 1024).",
     [](std::string_view v, Config* c) { return SetInteger<int, 1, 1024>(v, &c->threads); },
     [](const Config& c) { return std::to_string(c.threads); }},
    {"http.max_connections", ValueType::kInteger, "",
     "Open HTTP connections at most (1 to 1000000); past it new ones get 503 overloaded.",
     [](std::string_view v, Config* c) {
       return SetInteger<uint32_t, 1, 1'000'000>(v, &c->http_max_connections);
     },
     [](const Config& c) { return std::to_string(c.http_max_connections); }},
    {"log_format", ValueType::kString, "",
     "How the server logs: json (one object per line, with the request id of each answered "
     "request) or text.",
     [](std::string_view v, Config* c) {
       if (v != "json" && v != "text") return InvalidArgument("expected json or text");
       c->log_format = std::string(v);
       return Status::Ok();
     },
     [](const Config& c) { return c.log_format; }},
    {"log_level", ValueType::kString, "",
     "Log verbosity: trace, debug, info, warn, error, critical or off.",
     [](std::string_view v, Config* c) {
       return SetOneOf(v, {"trace", "debug", "info", "warn", "error", "critical", "off"},
                       &c->log_level);
     },
     [](const Config& c) { return c.log_level; }},
    {"wal.sync", ValueType::kString, "",
     "When events are acknowledged: always (after fsync), interval (fsync every "
     "wal.sync_interval_ms; a crash may lose that much), none (fsync left to the OS).",
     [](std::string_view v, Config* c) {
       return SetOneOf(v, {"always", "interval", "none"}, &c->wal_sync);
     },
     [](const Config& c) { return c.wal_sync; }},
    {"wal.sync_interval_ms", ValueType::kInteger, "",
     "fsync period when wal.sync = interval (1 to 60000).",
     [](std::string_view v, Config* c) {
       return SetInteger<int, 1, 60'000>(v, &c->wal_sync_interval_ms);
     },
     [](const Config& c) { return std::to_string(c.wal_sync_interval_ms); }},
    {"wal.segment_bytes", ValueType::kInteger, "",
     "Size at which a WAL segment is closed and a new one started (64 KiB to 16 GiB).",
     [](std::string_view v, Config* c) {
       return SetInteger<uint64_t, 64 * 1024, 16 * 1024 * kMiB>(v, &c->wal_segment_bytes);
     },
     [](const Config& c) { return std::to_string(c.wal_segment_bytes); }},
    {"ingest.dedup_window_hours", ValueType::kInteger, "",
     "How long an event id is remembered to drop duplicates (1 to 8760).",
     [](std::string_view v, Config* c) {
       return SetInteger<int, 1, 8760>(v, &c->dedup_window_hours);
     },
     [](const Config& c) { return std::to_string(c.dedup_window_hours); }},
    {"ingest.dedup_max_ids", ValueType::kInteger, "",
     "Most event ids the deduplication index holds (about 30 bytes each); past it the oldest are "
     "forgotten early (1000 to 4000000000).",
     [](std::string_view v, Config* c) {
       return SetInteger<uint64_t, 1000, 4'000'000'000>(v, &c->dedup_max_ids);
     },
     [](const Config& c) { return std::to_string(c.dedup_max_ids); }},
    {"ingest.max_event_bytes", ValueType::kInteger, "",
     "Largest accepted event, as JSON bytes (256 to 16 MiB; at most ingest.max_body_bytes).",
     [](std::string_view v, Config* c) {
       return SetInteger<uint64_t, 256, 16 * kMiB>(v, &c->max_event_bytes);
     },
     [](const Config& c) { return std::to_string(c.max_event_bytes); }},
    {"ingest.max_body_bytes", ValueType::kInteger, "",
     "Largest accepted request body after decompression (1 KiB to 1 GiB).",
     [](std::string_view v, Config* c) {
       return SetInteger<uint64_t, 1024, 1024 * kMiB>(v, &c->max_body_bytes);
     },
     [](const Config& c) { return std::to_string(c.max_body_bytes); }},
    {"ingest.max_batch_events", ValueType::kInteger, "",
     "Most events accepted in one request (1 to 100000).",
     [](std::string_view v, Config* c) {
       return SetInteger<uint32_t, 1, 100'000>(v, &c->max_batch_events);
     },
     [](const Config& c) { return std::to_string(c.max_batch_events); }},
    {"shutdown_grace_ms", ValueType::kInteger, "",
     "On SIGTERM, how long in-flight requests may finish before the server stops (0 to "
     "3600000).",
     [](std::string_view v, Config* c) {
       return SetInteger<int, 0, 3'600'000>(v, &c->shutdown_grace_ms);
     },
     [](const Config& c) { return std::to_string(c.shutdown_grace_ms); }},
    {"store.memtable_rows", ValueType::kInteger, "",
     "Rows the event store keeps in memory before it writes them to a part (1000 to 100000000).",
     [](std::string_view v, Config* c) {
       return SetInteger<uint64_t, 1000, 100'000'000>(v, &c->store_memtable_rows);
     },
     [](const Config& c) { return std::to_string(c.store_memtable_rows); }},
    {"privacy.scrub_pii", ValueType::kString, "",
     "Replace e-mail addresses, phone and card numbers and the values of secret-looking keys in "
     "event properties and context before storing them: on or off.",
     [](std::string_view v, Config* c) {
       return SetOneOf(v, {"on", "off"}, &c->privacy_scrub_pii);
     },
     [](const Config& c) { return c.privacy_scrub_pii; }},
    {"privacy.ip", ValueType::kString, "",
     "What is stored of context.ip: truncate (IPv4 to its /24, IPv6 to its /48) or keep.",
     [](std::string_view v, Config* c) {
       return SetOneOf(v, {"truncate", "keep"}, &c->privacy_ip);
     },
     [](const Config& c) { return c.privacy_ip; }},
    {"privacy.pii_allowed_keys", ValueType::kString, "",
     "Comma-separated property or context keys whose values are never scrubbed (e.g. "
     "\"contact_email,support_phone\").",
     [](std::string_view v, Config* c) {
       c->privacy_pii_allowed_keys = std::string(v);
       return Status::Ok();
     },
     [](const Config& c) { return c.privacy_pii_allowed_keys; }},
    {"ingest.rate_limit_rps", ValueType::kInteger, "",
     "Ingest requests per second one key may send, with bursts of twice that; past it the "
     "server answers 429 with Retry-After (0 to 1000000; 0 turns the limit off).",
     [](std::string_view v, Config* c) {
       return SetInteger<uint32_t, 0, 1'000'000>(v, &c->ingest_rate_limit_rps);
     },
     [](const Config& c) { return std::to_string(c.ingest_rate_limit_rps); }},
    {"ingest.max_consumer_lag_mb", ValueType::kInteger, "",
     "How far (MiB of WAL) the event store may fall behind the log before ingest answers 503 "
     "with Retry-After instead of taking more (1 to 65536); also past 4 x store.memtable_rows "
     "rows waiting in memory.",
     [](std::string_view v, Config* c) {
       return SetInteger<uint64_t, 1, 65536>(v, &c->ingest_max_lag_mb);
     },
     [](const Config& c) { return std::to_string(c.ingest_max_lag_mb); }},
    {"enrich.user_agents", ValueType::kString, "",
     "uap-core's regexes.yaml, for browser, OS and device type from user agents; empty turns this "
     "enrichment off. A missing default file only logs a warning.",
     [](std::string_view v, Config* c) {
       c->enrich_user_agents = std::string(v);
       return Status::Ok();
     },
     [](const Config& c) { return c.enrich_user_agents; }},
    {"enrich.geo_db", ValueType::kString, "",
     "MaxMind DB file (.mmdb) for country and region from client IPs, e.g. DB-IP's country "
     "database that scripts/geo-db.sh installs; empty turns geo enrichment off.",
     [](std::string_view v, Config* c) {
       c->enrich_geo_db = std::string(v);
       return Status::Ok();
     },
     [](const Config& c) { return c.enrich_geo_db; }},
    {"self_telemetry.tenant", ValueType::kString, "",
     "Tenant that receives the server's own API requests (perf_metric), background task runs "
     "(task_run) and failures (error) as events; empty turns self-telemetry off.",
     [](std::string_view v, Config* c) {
       c->self_telemetry_tenant = std::string(v);  // checked as a tenant name at start
       return Status::Ok();
     },
     [](const Config& c) { return c.self_telemetry_tenant; }},
    {"state", ValueType::kString, "",
     "Where relational state (tenants, keys, rollups, market data...) lives: empty for SQLite "
     "in the data directory, or a postgresql://USER[:PASSWORD]@HOST:PORT/DB URL.",
     [](std::string_view v, Config* c) {
       c->state = std::string(v);
       return Status::Ok();
     },
     [](const Config& c) { return c.state; }},
    {"auth.jwt_secret", ValueType::kString, "",
     "The platform's shared secret that signs user tokens (HS256, at least 32 bytes); empty "
     "refuses user tokens. Prefer the environment variable to a file.",
     [](std::string_view v, Config* c) {
       if (!v.empty() && v.size() < 32) return InvalidArgument("at least 32 bytes");
       c->auth_jwt_secret = std::string(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::string(c.auth_jwt_secret.empty() ? "" : "<secret>"); }},
    {"auth.jwt_issuer", ValueType::kString, "", "The `iss` user tokens must carry.",
     [](std::string_view v, Config* c) {
       if (v.empty()) return InvalidArgument("must not be empty");
       c->auth_jwt_issuer = std::string(v);
       return Status::Ok();
     },
     [](const Config& c) { return c.auth_jwt_issuer; }},
    {"auth.jwt_audience", ValueType::kString, "", "The `aud` user tokens must carry (or list).",
     [](std::string_view v, Config* c) {
       if (v.empty()) return InvalidArgument("must not be empty");
       c->auth_jwt_audience = std::string(v);
       return Status::Ok();
     },
     [](const Config& c) { return c.auth_jwt_audience; }},
    {"web.root", ValueType::kString, "",
     "Directory of the web dashboard's built assets (index.html, tracker.js, assets/); empty "
     "for build/web, the directory scripts/build-web.sh writes (found from the binary's path). "
     "When it holds no index.html the server runs the API alone and says so at start.",
     [](std::string_view v, Config* c) {
       c->web_root = std::string(v);
       return Status::Ok();
     },
     [](const Config& c) { return c.web_root; }},
    {"cache.max_mb", ValueType::kInteger, "",
     "Memory of the in-process cache of dashboards, user metrics and trends (0 to 65536; 0 "
     "turns it off).",
     [](std::string_view v, Config* c) {
       return SetInteger<uint64_t, 0, 65'536>(v, &c->cache_max_mb);
     },
     [](const Config& c) { return std::to_string(c.cache_max_mb); }},
    {"store.granule_cache_mb", ValueType::kInteger, "",
     "Memory for decoded columns of the granules that one user's queries read, kept for the next "
     "query of that user (0 to 65536; 0 turns the cache off).",
     [](std::string_view v, Config* c) {
       return SetInteger<uint64_t, 0, 65536>(v, &c->store_granule_cache_mb);
     },
     [](const Config& c) { return std::to_string(c.store_granule_cache_mb); }},
    {"store.flush_interval_s", ValueType::kInteger, "",
     "Longest time an event stays only in memory and the WAL before it is written to a part "
     "(1 to 86400).",
     [](std::string_view v, Config* c) {
       return SetInteger<int, 1, 86'400>(v, &c->store_flush_interval_s);
     },
     [](const Config& c) { return std::to_string(c.store_flush_interval_s); }},
    {"query.threads", ValueType::kInteger, "",
     "Threads that run analytics queries, at a lower priority than ingestion (1 to 256).",
     [](std::string_view v, Config* c) { return SetInteger<int, 1, 256>(v, &c->query_threads); },
     [](const Config& c) { return std::to_string(c.query_threads); }},
    {"query.max_memory_mb", ValueType::kInteger, "",
     "Working memory one query may use before it fails with query_memory_exceeded (16 to "
     "65536).",
     [](std::string_view v, Config* c) {
       return SetInteger<uint64_t, 16, 65'536>(v, &c->query_max_memory_mb);
     },
     [](const Config& c) { return std::to_string(c.query_max_memory_mb); }},
};

const KeyInfo* FindKey(std::string_view key) {
  for (const KeyInfo& info : kKeys) {
    if (info.key == key) return &info;
  }
  return nullptr;
}

/// True when some known key lies under the table `prefix` (e.g. "wal").
bool IsTablePrefix(std::string_view prefix) {
  for (const KeyInfo& info : kKeys) {
    if (info.key.size() > prefix.size() && info.key.substr(0, prefix.size()) == prefix &&
        info.key[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

Status ConfigError(std::string message) { return Status(ErrorCode::kConfigInvalid, message); }

Status UnknownKey(std::string_view key, std::string_view source) {
  return ConfigError("unknown configuration key '" + std::string(key) + "' in " +
                     std::string(source));
}

std::string_view TypeName(ValueType type) {
  return type == ValueType::kString ? "a string" : "an integer";
}

std::string_view NodeTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

std::string Where(const std::string& path, const toml::node& node) {
  std::string where = path;
  if (node.source().begin.line > 0) where += ":" + std::to_string(node.source().begin.line);
  return where;
}

Status ApplyTable(const toml::table& table, const std::string& prefix, const std::string& path,
                  Config* c) {
  for (auto&& [name, node] : table) {
    std::string key =
        prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    std::string where = Where(path, node);
    const KeyInfo* info = FindKey(key);
    if (info == nullptr) {
      if (const toml::table* sub = node.as_table(); sub != nullptr && IsTablePrefix(key)) {
        CA_RETURN_IF_ERROR(ApplyTable(*sub, key, path, c));
        continue;
      }
      return UnknownKey(key, where);
    }
    std::string text;
    if (info->type == ValueType::kString && node.is_string()) {
      text = node.as_string()->get();
    } else if (info->type == ValueType::kInteger && node.is_integer()) {
      text = std::to_string(node.as_integer()->get());
    } else {
      return ConfigError("configuration key '" + key + "' in " + where + " must be " +
                         std::string(TypeName(info->type)) + ", not " +
                         std::string(NodeTypeName(node)));
    }
    CA_RETURN_IF_ERROR(Set(key, text, where, c));
  }
  return Status::Ok();
}

}  // namespace

Config DefaultConfig() {
  Config c;
  c.data = "./data";
  c.listen_host = "127.0.0.1";
  c.listen_port = 8080;
  c.threads = std::max(1u, std::thread::hardware_concurrency());
  c.log_level = "info";
  c.log_format = "json";
  c.wal_sync = "always";
  c.wal_sync_interval_ms = 200;
  c.wal_segment_bytes = 64 * kMiB;
  c.dedup_window_hours = 168;
  c.dedup_max_ids = 50'000'000;
  c.max_event_bytes = 32 * 1024;
  c.max_body_bytes = 1 * kMiB;
  c.max_batch_events = 1000;
  c.http_max_connections = 10'000;
  c.shutdown_grace_ms = 10'000;
  c.store_memtable_rows = 1'000'000;
  c.store_granule_cache_mb = 128;
  c.privacy_scrub_pii = "on";
  c.privacy_ip = "truncate";
  c.enrich_user_agents = kDefaultUserAgentRegexes;
  c.ingest_max_lag_mb = 256;
  c.self_telemetry_tenant = "system";
  c.store_flush_interval_s = 300;
  c.query_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  c.query_max_memory_mb = 512;
  c.auth_jwt_issuer = "career-copilot";
  c.auth_jwt_audience = "career-analytics";
  c.cache_max_mb = 64;
  return c;
}

Status Set(std::string_view key, std::string_view value, std::string_view source, Config* c) {
  const KeyInfo* info = FindKey(key);
  if (info == nullptr) return UnknownKey(key, source);
  Status status = info->set(value, c);
  if (status.ok()) return status;
  std::string shown(value.substr(0, 200));
  return ConfigError("invalid value '" + shown + "' for configuration key '" + std::string(key) +
                     "' in " + std::string(source) + ": " + std::string(status.message()));
}

Status ApplyTomlFile(const std::string& path, Config* c) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return ConfigError("cannot read configuration file " + path + ": " + std::strerror(errno));
  }
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return ConfigError("cannot read configuration file " + path);
  toml::table table;
  try {
    table = toml::parse(content, path);
  } catch (const toml::parse_error& e) {
    return ConfigError(
        "cannot parse configuration file " + path + ":" + std::to_string(e.source().begin.line) +
        ":" + std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
  return ApplyTable(table, "", path, c);
}

Status ApplyEnvironment(const std::vector<std::string>& vars, Config* c) {
  for (const std::string& var : vars) {
    std::string_view entry = var;
    if (entry.substr(0, 3) != "CA_") continue;
    size_t equals = entry.find('=');
    std::string_view name = entry.substr(0, equals);
    std::string_view value =
        equals == std::string_view::npos ? std::string_view() : entry.substr(equals + 1);
    const KeyInfo* info = nullptr;
    for (const KeyInfo& candidate : kKeys) {
      if (EnvVarName(candidate.key) == name) info = &candidate;
    }
    if (info == nullptr) {
      return ConfigError("unknown environment variable " + std::string(name) +
                         ": not a configuration key (see docs/configuration.md)");
    }
    CA_RETURN_IF_ERROR(Set(info->key, value, "environment variable " + std::string(name), c));
  }
  return Status::Ok();
}

Status ApplyEnvironment(char** envp, Config* c) {
  std::vector<std::string> vars;
  for (char** p = envp; p != nullptr && *p != nullptr; ++p) vars.emplace_back(*p);
  return ApplyEnvironment(vars, c);
}

Status Validate(const Config& c) {
  if (c.max_event_bytes > c.max_body_bytes) {
    return ConfigError("ingest.max_event_bytes (" + std::to_string(c.max_event_bytes) +
                       ") must not exceed ingest.max_body_bytes (" +
                       std::to_string(c.max_body_bytes) + ")");
  }
  return Status::Ok();
}

std::string EnvVarName(std::string_view key) {
  std::string name = "CA_";
  for (char ch : key) {
    name += ch == '.' ? '_' : static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
  }
  return name;
}

std::string KnownKeysHelp() {
  const Config defaults = DefaultConfig();
  std::string out;
  for (const KeyInfo& info : kKeys) {
    std::string default_text =
        info.default_text.empty() ? info.get(defaults) : std::string(info.default_text);
    if (info.type == ValueType::kString && info.default_text.empty()) {
      default_text = "\"" + default_text + "\"";
    }
    out += std::string(info.key) + " (" + (info.type == ValueType::kString ? "string" : "integer") +
           ", default " + default_text + ", env " + EnvVarName(info.key) + ")\n    " +
           std::string(info.help) + "\n";
  }
  return out;
}

std::string ToToml(const Config& c) {
  toml::table root;
  for (const KeyInfo& info : kKeys) {
    toml::table* table = &root;
    std::string_view key = info.key;
    if (size_t dot = key.find('.'); dot != std::string_view::npos) {
      std::string section(key.substr(0, dot));
      if (!root.contains(section)) root.insert(section, toml::table{});
      table = root.get_as<toml::table>(section);
      key = key.substr(dot + 1);
    }
    std::string text = info.get(c);
    if (info.type == ValueType::kString) {
      table->insert_or_assign(key, text);
    } else {
      int64_t value = 0;
      std::from_chars(text.data(), text.data() + text.size(), value);
      table->insert_or_assign(key, value);
    }
  }
  std::ostringstream out;
  out << root << "\n";
  return out.str();
}

Result<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view text) {
  return ParseHostPortImpl(text);
}

}  // namespace ca::app
