#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "app/bench_events.h"
#include "app/commands.h"
#include "app/config.h"
#include "app/demo_data.h"
#include "app/http_client.h"
#include "app/offline_store.h"
#include "base/clock.h"
#include "ingest/batch_decoder.h"
#include "ingest/enricher.h"
#include "ingest/ingest_pipeline.h"
#include "ingest/lanes.h"
#include "ingest/tenant_rules.h"
#include "query/executor.h"
#include "query/spec.h"
#include "services/user_profile_service.h"
#include "state/sqlite_state_store.h"
#include "store/json_fields.h"
#include "wal/wal.h"

namespace ca::app {
namespace {

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long PeakRssKiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

struct IngestBenchFlags {
  uint64_t events = 1'000'000;
  int batch = 100;
  std::string sync = "none";
  std::string dir;
  /// "base": decode, validate, dedup, WAL (privacy off); "full": also consent rules, enrichment
  /// (user agents, geo with --geo-db, URLs, sessions, profiles) and the privacy stage; or a
  /// comma-separated subset of "rules,enrich,privacy", or "enrich-unstored" in place of "enrich"
  /// (see IngestStages).
  std::string stages = "base";
  /// "simple" (NativeBatch), "browser" (every event another browser: NativeBatchWithBrowserContext)
  /// or "visits" (browsers' own batches: NativeBatchOfVisits).
  std::string context = "simple";
  std::string geo_db;
  /// Hand every durable event to the lanes, as the server does for its live views (a consumer
  /// that only counts them): what the lanes add to ingest.
  bool lanes = false;
};

// The stages of `--stages` beyond the foundation's decode, validate, dedup and WAL append.
struct IngestStages {
  bool rules = false;    ///< the tenant's consent and late-event rules
  bool enrich = false;   ///< the Enricher
  bool privacy = false;  ///< the PrivacyFilter (PII scrub, IP truncation)
  /// Enrichment runs, then the bench takes its members off the context again: what enrichment
  /// costs when the record does not grow (a floor for keeping enrichment outside the JSON).
  bool unstored = false;
};

IngestStages ParseIngestStages(std::string_view spec) {
  IngestStages stages;
  if (spec == "base") return stages;
  if (spec == "full") return {true, true, true, false};
  for (std::string_view rest = spec; !rest.empty();) {
    const size_t comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (name == "rules") {
      stages.rules = true;
    } else if (name == "enrich") {
      stages.enrich = true;
    } else if (name == "enrich-unstored") {
      stages.enrich = stages.unstored = true;
    } else if (name == "privacy") {
      stages.privacy = true;
    } else {
      Fail(
          InvalidArgument("--stages: base, full, or a list of rules, enrich, enrich-unstored "
                          "and privacy; not '" +
                          std::string(name) + "'"));
    }
  }
  return stages;
}

// enrich-unstored: the members the enricher appended to the context (its clean tail, a comma
// and the members, before the closing brace) are taken off again.
void TakeEnrichmentOff(event::Event* e) {
  const size_t tail = e->clean_context_tail;
  if (tail == 0) return;  // nothing appended, or the context rewritten (a URL scrubbed)
  e->context_json.erase(e->context_json.size() - 1 - tail, tail);
  e->clean_context_tail = 0;
}

// Decode + validate + dedup + WAL append on one producer thread, the WAL's own thread beside it.
void RunIngestBench(const IngestBenchFlags& flags) {
  namespace fs = std::filesystem;
  fs::path dir = flags.dir.empty()
                     ? fs::temp_directory_path() / ("ca-bench-" + std::to_string(getpid()))
                     : fs::path(flags.dir);
  fs::remove_all(dir);
  wal::Options options;
  options.dir = dir.string();
  auto mode = wal::ParseSyncMode(flags.sync);
  if (!mode.ok()) Fail(mode.status());
  options.sync = *mode;
  auto wal = wal::Wal::Open(options);
  if (!wal.ok()) Fail(wal.status());
  const IngestStages stages = ParseIngestStages(flags.stages);
  ingest::PrivacyOptions privacy;  // base: off, so that the base figure is the foundation's
  privacy.scrub_pii = stages.privacy;
  privacy.keep_raw_ip = !stages.privacy;
  ingest::IngestPipeline pipeline(wal->get(), 7LL * 24 * 3600 * 1000, 4'000'000'000, privacy);
  std::atomic<uint64_t> delivered{0};
  std::unique_ptr<ingest::LaneDispatcher> lanes;
  if (flags.lanes) {
    lanes = std::make_unique<ingest::LaneDispatcher>(ingest::LaneDispatcher::Options());
    lanes->Subscribe([&delivered](ingest::LaneEvent&, ingest::Lane) { ++delivered; });
    pipeline.SetLanes(lanes.get());
  }
  // The full pipeline's sources, as the server loads them.
  std::unique_ptr<ingest::UserAgentParser> user_agents;
  std::unique_ptr<ingest::GeoLookup> geo;
  std::unique_ptr<state::StateStore> state;
  std::unique_ptr<services::UserProfileService> profiles;
  std::unique_ptr<ingest::Enricher> enricher;
  if (stages.enrich) {
    auto parser = ingest::UserAgentParser::Load(kDefaultUserAgentRegexes);
    if (!parser.ok()) Fail(parser.status());
    user_agents = std::move(parser).value();
    if (!flags.geo_db.empty()) {
      auto opened = ingest::GeoLookup::Open(flags.geo_db);
      if (!opened.ok()) Fail(opened.status());
      geo = std::move(opened).value();
    }
    fs::create_directories(dir);
    auto opened_state = state::OpenSqliteStateStore((dir / "state.db").string());
    if (!opened_state.ok()) Fail(opened_state.status());
    state = std::move(opened_state).value();
    profiles = std::make_unique<services::UserProfileService>(state.get());
    enricher = std::make_unique<ingest::Enricher>(user_agents.get(), geo.get(), profiles.get());
  }
  const ingest::TenantRules rules;
  const ingest::RequestContext request;

  const int64_t now = NowMillis();
  const uint64_t batches = std::max<uint64_t>(1, flags.events / flags.batch);
  std::vector<std::string> bodies;
  bodies.reserve(batches);
  uint64_t body_bytes = 0;
  for (uint64_t b = 0; b < batches; ++b) {
    const uint64_t first = b * flags.batch;
    bodies.push_back(flags.context == "browser"
                         ? NativeBatchWithBrowserContext(first, flags.batch, now)
                     : flags.context == "visits" ? NativeBatchOfVisits(first, flags.batch, now)
                                                 : NativeBatch(first, flags.batch, now));
    body_bytes += bodies.back().size();
  }

  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> failed{0};
  const double cpu_before = CpuSeconds();
  const int64_t started = MonotonicNanos();
  for (const std::string& body : bodies) {
    ingest::DecodeOptions decode;
    decode.received_at_ms = now;
    decode.tenant = "bench";
    if (stages.enrich) decode.context_headroom = ingest::kContextHeadroom;
    auto batch = ingest::DecodeBatch(body, decode);
    if (!batch.ok()) Fail(batch.status());
    for (auto& e : batch->events) e.tenant = "bench";
    if (stages.rules) {
      std::vector<int64_t> late_days;
      ingest::ApplyTenantRules(rules, request, now, &batch.value(), &late_days);
    }
    if (stages.enrich) {
      enricher->EnrichBatch(request, &batch->events);
      if (stages.unstored) {
        for (auto& e : batch->events) TakeEnrichmentOff(&e);
      }
    }
    if (stages.rules) {
      for (auto& e : batch->events) ingest::StripAnonymized(&e);
    }
    pipeline.Commit(std::move(batch).value(), [&](Result<ingest::Receipt> r) {
      if (r.ok()) {
        accepted += r->accepted;
      } else {
        ++failed;
      }
    });
  }
  if (Status s = (*wal)->Close(); !s.ok()) Fail(s);
  const uint64_t wal_bytes = (*wal)->stats().bytes;
  if (lanes) lanes->Drain();
  const double seconds = (MonotonicNanos() - started) / 1e9;
  const double cpu = CpuSeconds() - cpu_before;
  const uint64_t events = batches * flags.batch;
  nlohmann::json out = {
      {"benchmark", "ingest_in_process"},
      {"events", events},
      {"accepted", accepted.load()},
      {"failed_batches", failed.load()},
      {"avg_event_bytes", body_bytes / events},
      {"wal_bytes_per_event", wal_bytes / events},
      {"sync", flags.sync},
      {"stages", flags.stages},
      {"context", flags.context},
      {"geo", !flags.geo_db.empty()},
      {"lanes", flags.lanes},
      {"delivered_to_lanes", delivered.load()},
      {"seconds", seconds},
      {"events_per_second", events / seconds},
      {"cpu_seconds", cpu},
      {"events_per_cpu_second", events / cpu},
      {"dedup_tracked_ids", pipeline.tracked_ids()},
      {"dedup_bytes_per_id", static_cast<double>(pipeline.dedup_memory_bytes()) /
                                 std::max<size_t>(1, pipeline.tracked_ids())},
      {"peak_rss_mib", PeakRssKiB() / 1024.0},
  };
  std::cout << out.dump(2) << std::endl;
  fs::remove_all(dir);
}

struct HttpBenchFlags {
  std::string url = "127.0.0.1:8080";
  std::string write_key;
  std::string format = "native";
  std::string clickhouse_table = "events";
  int connections = 16;
  int batch = 100;
  double seconds = 10;
  double rate = 0;  // total requests per second; 0 = as fast as possible
  uint64_t id_offset = 0;
};

// Closed-loop (or paced) load from `connections` threads, each with its own keep-alive connection.
void RunHttpBench(const HttpBenchFlags& flags) {
  std::string address = flags.url;
  if (address.rfind("http://", 0) == 0) address = address.substr(7);
  auto host_port = ParseHostPort(address);
  if (!host_port.ok()) Fail(host_port.status());
  const bool clickhouse = flags.format == "clickhouse";
  if (!clickhouse && flags.format != "native")
    Fail(InvalidArgument("--format: native or clickhouse"));
  const std::string target =
      clickhouse ? "/?query=INSERT%20INTO%20" + flags.clickhouse_table + "%20FORMAT%20JSONEachRow"
                 : "/api/analytics/events";

  std::atomic<uint64_t> next_id{flags.id_offset};
  std::atomic<uint64_t> ok_events{0}, errors{0};
  std::mutex latencies_mu;
  std::vector<double> latencies_ms;
  const int64_t start = MonotonicNanos();
  const int64_t deadline = start + static_cast<int64_t>(flags.seconds * 1e9);
  const double per_thread_interval_ns = flags.rate > 0 ? 1e9 * flags.connections / flags.rate : 0;

  auto worker = [&](int index) {
    HttpClient client(host_port->first, host_port->second);
    std::vector<double> mine;
    std::vector<std::pair<std::string, std::string>> headers;
    if (!clickhouse) headers.emplace_back("X-Write-Key", flags.write_key);
    int64_t next_send =
        start + static_cast<int64_t>(per_thread_interval_ns * index / flags.connections);
    while (MonotonicNanos() < deadline) {
      if (per_thread_interval_ns > 0) {
        int64_t wait = next_send - MonotonicNanos();
        if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
        next_send += static_cast<int64_t>(per_thread_interval_ns);
      }
      uint64_t first = next_id.fetch_add(flags.batch);
      std::string body = clickhouse ? ClickHouseRows(first, flags.batch, NowMillis())
                                    : NativeBatch(first, flags.batch, NowMillis());
      int64_t t0 = MonotonicNanos();
      auto res = client.Post(target, body, headers);
      double ms = (MonotonicNanos() - t0) / 1e6;
      if (res.ok() && res->status == 200) {
        ok_events += flags.batch;
        mine.push_back(ms);
      } else {
        ++errors;
      }
    }
    std::lock_guard lock(latencies_mu);
    latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < flags.connections; ++i) threads.emplace_back(worker, i);
  for (auto& t : threads) t.join();
  const double seconds = (MonotonicNanos() - start) / 1e9;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(latencies_ms.size() - 1,
                                 static_cast<size_t>(p * latencies_ms.size()))];
  };
  nlohmann::json out = {
      {"benchmark", "ingest_http"},
      {"format", flags.format},
      {"connections", flags.connections},
      {"batch", flags.batch},
      {"target_rate_rps", flags.rate},
      {"seconds", seconds},
      {"requests_ok", latencies_ms.size()},
      {"errors", errors.load()},
      {"events_per_second", ok_events.load() / seconds},
      {"p50_ms", pct(0.50)},
      {"p99_ms", pct(0.99)},
      {"next_id", next_id.load()},
  };
  std::cout << out.dump(2) << std::endl;
}

struct GenFlags {
  int users = 200;
  int days = 90;
  uint64_t seed = 42;
  int jobs = 500;
  int64_t end_ms = kDefaultDemoEndMs;
  std::string out = "-";
};

// Writes the demo platform's history as JSON lines (for `import events` and the peers' loaders).
void RunGenEvents(const GenFlags& flags) {
  DemoOptions options;
  options.users = flags.users;
  options.days = flags.days;
  options.seed = flags.seed;
  options.jobs = flags.jobs;
  options.end_ms = flags.end_ms;
  if (Status s = DemoGenerator::Validate(options); !s.ok()) Fail(s);
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (flags.out != "-") {
    file.open(flags.out, std::ios::binary);
    if (!file) Fail(Status(ErrorCode::kIoError, "cannot write " + flags.out));
    out = &file;
  }
  DemoGenerator generator(options);
  std::string lines;
  while (generator.NextLines(4096, &lines)) out->write(lines.data(), lines.size());
  out->flush();
  if (!*out) Fail(Status(ErrorCode::kIoError, "write failed"));
  std::cerr << "generated " << generator.events_generated() << " events" << std::endl;
}

struct RowsFlags {
  std::string format = "clickhouse";
  int batch = 1000;
};

enum class RowFormat { kClickHouse, kPostgres, kSqlite };

// Civil date and time of epoch ms in UTC: "YYYY-MM-DD hh:mm:ss", plus ".mmm" when `millis`.
void AppendUtc(int64_t ms, bool millis, std::string* out) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  // Days to civil (proleptic Gregorian), after H. Hinnant's algorithm.
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[40];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lld %02lld:%02lld:%02lld",
                        static_cast<long long>(y), static_cast<long long>(m),
                        static_cast<long long>(d), static_cast<long long>(rem / 3600),
                        static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  out->append(buf, n);
  if (millis) {
    n = std::snprintf(buf, sizeof(buf), ".%03lld", static_cast<long long>(ms - secs * 1000));
    out->append(buf, n);
  }
}

// Appends one field: escaped for the text formats of ClickHouse (TabSeparated) and PostgreSQL
// (COPY text); SQLite's .import takes the bytes as they are (minified JSON and ids hold no tabs
// or newlines). An absent string is \N for PostgreSQL, empty for the others.
void AppendField(RowFormat format, std::optional<std::string_view> value, std::string* out) {
  if (!value || value->empty()) {
    if (format == RowFormat::kPostgres) out->append("\\N");
    return;
  }
  if (format == RowFormat::kSqlite) {
    out->append(*value);
    return;
  }
  for (char c : *value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        out->push_back(c);
    }
  }
}

std::optional<std::string> StringMember(std::string_view json, std::string_view key) {
  auto raw = store::FindMember(json, key);
  if (!raw) return std::nullopt;
  return store::AsString(*raw);
}

// One event as a row of the peers' `events` table (bench/sql/): the raw columns plus the core
// fields derived from properties and context by the rules of docs/api/query.md (as AppendRow).
void AppendEventRow(RowFormat format, const event::Event& e, std::string* out) {
  const std::string_view props =
      e.properties_json.empty() ? std::string_view("{}") : std::string_view(e.properties_json);
  const std::string_view ctx =
      e.context_json.empty() ? std::string_view("{}") : std::string_view(e.context_json);
  auto field = [&](std::optional<std::string_view> v) {
    AppendField(format, v, out);
    out->push_back('\t');
  };
  auto time = [&](int64_t ms) {
    if (format == RowFormat::kSqlite) {
      char buf[24];
      out->append(buf, std::to_chars(buf, buf + sizeof(buf), ms).ptr);
    } else {
      AppendUtc(ms, format == RowFormat::kPostgres, out);
    }
    out->push_back('\t');
  };
  field(e.event_id);
  field(e.type);
  field(e.user_id);
  field(e.anonymous_id);
  field(e.session_id);
  time(e.timestamp_ms);
  time(e.received_at_ms);
  auto job = StringMember(props, "job_id");
  auto application = StringMember(props, "application_id");
  auto status = StringMember(props, "status");
  std::optional<std::string> path;
  if (auto page = store::FindMember(ctx, "page")) path = StringMember(*page, "path");
  if (!path || path->empty()) path = StringMember(props, "path");
  field(job);
  field(application);
  field(status);
  field(path);
  std::optional<double> value;
  if (auto raw = store::FindMember(props, "value")) value = store::AsNumber(*raw);
  if (!value) {
    if (auto raw = store::FindMember(props, "seconds")) value = store::AsNumber(*raw);
  }
  if (value) {
    char buf[32];
    out->append(buf, std::to_chars(buf, buf + sizeof(buf), *value).ptr);
  } else if (format == RowFormat::kPostgres || format == RowFormat::kClickHouse) {
    out->append("\\N");
  }
  out->push_back('\t');
  AppendField(format, props, out);
  out->push_back('\t');
  AppendField(format, ctx, out);
  out->push_back('\n');
}

// Native events as JSON lines on stdin -> tab-separated rows on stdout, decoded and validated by
// the ingest decoder (the same one `import events` uses); rejected events are counted and skipped.
void RunRows(const RowsFlags& flags) {
  RowFormat format;
  if (flags.format == "clickhouse") {
    format = RowFormat::kClickHouse;
  } else if (flags.format == "postgres") {
    format = RowFormat::kPostgres;
  } else if (flags.format == "sqlite") {
    format = RowFormat::kSqlite;
  } else {
    Fail(InvalidArgument("--format: clickhouse, postgres or sqlite"));
  }
  std::ios::sync_with_stdio(false);
  ingest::DecodeOptions decode;
  decode.max_events = static_cast<size_t>(flags.batch);
  decode.tenant = "bench";
  std::string line, body, out;
  uint64_t rows = 0, rejected = 0;
  size_t lines = 0;
  auto flush = [&] {
    if (lines == 0) return;
    body.push_back(']');
    decode.received_at_ms = NowMillis();
    auto batch = ingest::DecodeBatch(body, decode);
    if (!batch.ok()) Fail(batch.status());
    rejected += batch->rejected.size();
    for (const event::Event& e : batch->events) AppendEventRow(format, e, &out);
    rows += batch->events.size();
    std::cout.write(out.data(), out.size());
    out.clear();
    body.clear();
    lines = 0;
  };
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    body.append(lines == 0 ? "[" : ",");
    body.append(line);
    if (++lines >= static_cast<size_t>(flags.batch)) flush();
  }
  flush();
  std::cout.flush();
  if (!std::cout) Fail(Status(ErrorCode::kIoError, "write failed"));
  std::cerr << "rows " << rows << " rejected " << rejected << std::endl;
}

struct QueryBenchFlags {
  std::string data = "./data";
  std::string tenant;
  std::vector<std::string> specs;
  int runs = 5;
  int warmup = 1;
  std::string results;
};

// Opens the store once and times the in-process execution of a group of specs (snapshot plus
// query::Execute for each, in order) `runs` times after `warmup` untimed runs.
void RunQueryBench(const QueryBenchFlags& flags) {
  std::vector<query::QuerySpec> specs;
  for (const std::string& path : flags.specs) {
    std::ifstream in(path, std::ios::binary);
    if (!in) Fail(Status(ErrorCode::kNotFound, "cannot open " + path));
    std::stringstream text;
    text << in.rdbuf();
    auto spec = query::ParseQuerySpec(text.str());
    if (!spec.ok()) Fail(spec.status());
    specs.push_back(std::move(spec).value());
  }
  const Config config = OfflineConfig(flags.data);
  auto offline = OfflineStore::Open(config, OfflineStore::Mode::kReadOnly);
  if (!offline.ok()) Fail(offline.status());
  store::EventStore* store = (*offline)->store();
  query::ExecOptions options;
  options.max_memory_bytes = config.query_max_memory_mb << 20;

  nlohmann::json results = nlohmann::json::array();
  std::vector<std::vector<double>> per_spec(specs.size());
  std::vector<double> totals;
  for (int run = 0; run < flags.warmup + flags.runs; ++run) {
    const bool timed = run >= flags.warmup;
    double total = 0;
    for (size_t i = 0; i < specs.size(); ++i) {
      options.now_ms = NowMillis();
      const int64_t t0 = MonotonicNanos();
      auto snapshot = store->Snapshot(flags.tenant);
      auto result = query::Execute(*snapshot, specs[i], options);
      const double ms = (MonotonicNanos() - t0) / 1e6;
      if (!result.ok()) Fail(result.status());
      total += ms;
      if (timed) per_spec[i].push_back(ms);
      if (run == flags.warmup + flags.runs - 1) results.push_back(std::move(result).value());
    }
    if (timed) totals.push_back(total);
  }
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[(v.size() - 1) / 2];
  };
  nlohmann::json spec_medians = nlohmann::json::array();
  for (const auto& v : per_spec) spec_medians.push_back(median(v));
  nlohmann::json out = {
      {"benchmark", "query_in_process"},
      {"specs", flags.specs},
      {"runs", flags.runs},
      {"median_ms", median(totals)},
      {"min_ms", totals.empty() ? 0.0 : *std::min_element(totals.begin(), totals.end())},
      {"max_ms", totals.empty() ? 0.0 : *std::max_element(totals.begin(), totals.end())},
      {"times_ms", totals},
      {"median_ms_by_spec", spec_medians},
      {"peak_rss_mib", PeakRssKiB() / 1024.0},
  };
  if (!flags.results.empty()) {
    std::ofstream file(flags.results, std::ios::binary);
    file << results.dump() << '\n';
    if (!file) Fail(Status(ErrorCode::kIoError, "cannot write " + flags.results));
  }
  std::cout << out.dump(2) << std::endl;
}

}  // namespace

void AddBenchCommand(CLI::App* app) {
  CLI::App* bench = app->add_subcommand("bench", "Benchmarks (see bench/README.md)");
  bench->require_subcommand(1);

  auto ingest_flags = std::make_shared<IngestBenchFlags>();
  CLI::App* ingest_cmd = bench->add_subcommand(
      "ingest", "In process: decode, validate, deduplicate and append to the WAL on one thread");
  ingest_cmd->add_option("--events", ingest_flags->events, "events to ingest")
      ->capture_default_str();
  ingest_cmd->add_option("--batch", ingest_flags->batch, "events per batch")->capture_default_str();
  ingest_cmd->add_option("--sync", ingest_flags->sync, "WAL sync mode")->capture_default_str();
  ingest_cmd->add_option("--dir", ingest_flags->dir, "scratch directory (default: a temp dir)");
  ingest_cmd
      ->add_option("--stages", ingest_flags->stages,
                   "base (decode, validate, dedup, WAL), full (also consent, enrichment and "
                   "privacy), or some of rules,enrich,privacy; enrich-unstored: enrichment "
                   "runs but its members are taken off the context again")
      ->capture_default_str();
  ingest_cmd
      ->add_option("--context", ingest_flags->context,
                   "simple; browser (user agent, IP, page URL, referrer; every event from another "
                   "browser); or visits (the same context, 10 events per visit and browser)")
      ->check(CLI::IsMember({"simple", "browser", "visits"}))
      ->capture_default_str();
  ingest_cmd->add_option("--geo-db", ingest_flags->geo_db, "MaxMind DB for --stages full");
  ingest_cmd->add_flag("--lanes", ingest_flags->lanes,
                       "hand durable events to the lanes, as the server does (its live views)");
  ingest_cmd->callback([ingest_flags] { RunIngestBench(*ingest_flags); });

  auto http_flags = std::make_shared<HttpBenchFlags>();
  CLI::App* http_cmd = bench->add_subcommand(
      "http", "Load a running server (or ClickHouse) over HTTP with batches of unique events");
  http_cmd->add_option("--url", http_flags->url, "HOST:PORT")->capture_default_str();
  http_cmd->add_option("--write-key", http_flags->write_key, "write key (native format)");
  http_cmd->add_option("--format", http_flags->format, "native or clickhouse")
      ->capture_default_str();
  http_cmd
      ->add_option("--clickhouse-table", http_flags->clickhouse_table,
                   "table for --format clickhouse")
      ->capture_default_str();
  http_cmd->add_option("--connections", http_flags->connections, "connections")
      ->capture_default_str();
  http_cmd->add_option("--batch", http_flags->batch, "events per request")->capture_default_str();
  http_cmd->add_option("--seconds", http_flags->seconds, "duration")->capture_default_str();
  http_cmd->add_option("--rate", http_flags->rate, "total requests per second (0 = closed loop)")
      ->capture_default_str();
  http_cmd
      ->add_option("--id-offset", http_flags->id_offset,
                   "first event id (keep ids unique across runs)")
      ->capture_default_str();
  http_cmd->callback([http_flags] { RunHttpBench(*http_flags); });

  auto gen_flags = std::make_shared<GenFlags>();
  CLI::App* gen_cmd = bench->add_subcommand(
      "gen-events",
      "Write the demo platform's event history as JSON lines (docs/demo-data.md), at any scale");
  gen_cmd
      ->add_option("--users", gen_flags->users, "job seekers (about 1000 events each over 90 days)")
      ->capture_default_str();
  gen_cmd->add_option("--days", gen_flags->days, "days of history")->capture_default_str();
  gen_cmd->add_option("--seed", gen_flags->seed, "random seed")->capture_default_str();
  gen_cmd->add_option("--jobs", gen_flags->jobs, "jobs in the catalogue")->capture_default_str();
  gen_cmd->add_option("--end-ms", gen_flags->end_ms, "end of the history, epoch ms")
      ->capture_default_str();
  gen_cmd->add_option("--out", gen_flags->out, "output file ('-' for stdout)")
      ->capture_default_str();
  gen_cmd->callback([gen_flags] { RunGenEvents(*gen_flags); });

  auto rows_flags = std::make_shared<RowsFlags>();
  CLI::App* rows_cmd = bench->add_subcommand(
      "rows",
      "Turn native JSON lines (stdin) into tab-separated rows of the peers' events table "
      "(bench/sql/) on stdout");
  rows_cmd->add_option("--format", rows_flags->format, "clickhouse, postgres or sqlite")
      ->capture_default_str();
  rows_cmd->add_option("--batch", rows_flags->batch, "lines decoded at once")
      ->capture_default_str();
  rows_cmd->callback([rows_flags] { RunRows(*rows_flags); });

  auto query_flags = std::make_shared<QueryBenchFlags>();
  CLI::App* query_cmd = bench->add_subcommand(
      "query",
      "Open a data directory once and time the in-process execution of query specs (median of "
      "--runs after --warmup)");
  query_cmd->add_option("--data", query_flags->data, "data directory")->capture_default_str();
  query_cmd->add_option("--tenant", query_flags->tenant, "tenant")->required();
  query_cmd
      ->add_option("--spec", query_flags->specs,
                   "spec file; repeat to time a group of specs run one after the other")
      ->required();
  query_cmd->add_option("--runs", query_flags->runs, "timed runs")->capture_default_str();
  query_cmd->add_option("--warmup", query_flags->warmup, "untimed runs first")
      ->capture_default_str();
  query_cmd->add_option("--results", query_flags->results,
                        "write the last run's results (a JSON array) to this file");
  query_cmd->callback([query_flags] { RunQueryBench(*query_flags); });
}

}  // namespace ca::app
