#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "app/bench_events.h"
#include "app/commands.h"
#include "app/config.h"
#include "app/http_client.h"
#include "base/clock.h"
#include "ingest/batch_decoder.h"
#include "ingest/ingest_pipeline.h"
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
};

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
  ingest::IngestPipeline pipeline(wal->get(), 7LL * 24 * 3600 * 1000, 4'000'000'000);

  const int64_t now = NowMillis();
  const uint64_t batches = std::max<uint64_t>(1, flags.events / flags.batch);
  std::vector<std::string> bodies;
  bodies.reserve(batches);
  uint64_t body_bytes = 0;
  for (uint64_t b = 0; b < batches; ++b) {
    bodies.push_back(NativeBatch(b * flags.batch, flags.batch, now));
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
    auto batch = ingest::DecodeBatch(body, decode);
    if (!batch.ok()) Fail(batch.status());
    for (auto& e : batch->events) e.tenant = "bench";
    pipeline.Commit(std::move(batch).value(), [&](Result<ingest::Receipt> r) {
      if (r.ok()) {
        accepted += r->accepted;
      } else {
        ++failed;
      }
    });
  }
  if (Status s = (*wal)->Close(); !s.ok()) Fail(s);
  const double seconds = (MonotonicNanos() - started) / 1e9;
  const double cpu = CpuSeconds() - cpu_before;
  const uint64_t events = batches * flags.batch;
  nlohmann::json out = {
      {"benchmark", "ingest_in_process"},
      {"events", events},
      {"accepted", accepted.load()},
      {"failed_batches", failed.load()},
      {"avg_event_bytes", body_bytes / events},
      {"sync", flags.sync},
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
}

}  // namespace ca::app
