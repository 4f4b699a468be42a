#include "app/server_metrics.h"

namespace ca::app {
namespace {

using metrics::Sample;

double Lag(wal::Lsn durable, wal::Lsn consumed) {
  return durable > consumed ? static_cast<double>(durable - consumed) : 0.0;
}

}  // namespace

void RegisterServerMetrics(metrics::Registry* registry, const ServerMetricsSources& s) {
  auto* pipeline = s.pipeline;
  registry->CounterFunction(
      "ca_ingest_received_events_total", "Events received by the ingest endpoints.", {},
      [pipeline] {
        return std::vector<Sample>{{{}, static_cast<double>(pipeline->counters().received)}};
      });
  registry->CounterFunction(
      "ca_ingest_events_total",
      "Received events by outcome; accepted + duplicate + rejected = received.", {"outcome"},
      [pipeline] {
        const ingest::IngestCounters c = pipeline->counters();
        return std::vector<Sample>{{{"accepted"}, static_cast<double>(c.accepted)},
                                   {{"duplicate"}, static_cast<double>(c.duplicates)},
                                   {{"rejected"}, static_cast<double>(c.rejected)}};
      });
  registry->CounterFunction(
      "ca_ingest_failed_writes_total", "Batches the WAL could not write (answered 503).", {},
      [pipeline] {
        return std::vector<Sample>{{{}, static_cast<double>(pipeline->counters().failed_writes)}};
      });
  auto* lanes = s.lanes;
  registry->CounterFunction(
      "ca_lane_dropped_events_total",
      "Batch-lane events skipped for in-process consumers that fell behind (still in the WAL "
      "and the store).",
      {}, [lanes] {
        return std::vector<Sample>{{{}, static_cast<double>(lanes->dropped())}};
      });
  auto* wal = s.wal;
  auto* store = s.store;
  auto* rollups = s.rollups;
  registry->GaugeFunction(
      "ca_consumer_lag_bytes",
      "Bytes of the write-ahead log a consumer has still to read (store: the event store; "
      "rollups: daily_user_metrics).",
      {"consumer"}, [wal, store, rollups] {
        const wal::Lsn durable = wal->durable_lsn();
        std::vector<Sample> samples{{{"store"}, Lag(durable, store->backlog().applied_lsn)}};
        if (rollups != nullptr)
          samples.push_back({{"rollups"}, Lag(durable, rollups->stats().position)});
        return samples;
      });
  if (rollups != nullptr) {
    registry->GaugeFunction(
        "ca_rollups_rebuilding",
        "1 while the rollups rebuild days from the event store at start (docs/rollups.md).", {},
        [rollups] {
          return std::vector<Sample>{{{}, rollups->stats().rebuilding ? 1.0 : 0.0}};
        });
  }
  registry->GaugeFunction(
      "ca_store_unflushed_rows", "Rows of the event store in memory, not yet written to parts.", {},
      [store] {
        return std::vector<Sample>{{{}, static_cast<double>(store->backlog().unflushed_rows)}};
      });
  if (s.cache == nullptr) return;
  auto* cache = s.cache;
  registry->CounterFunction(
      "ca_cache_requests_total", "Cache lookups of dashboards, user metrics and trends, by result.",
      {"result"}, [cache] {
        const cache::Stats st = cache->stats();
        return std::vector<Sample>{{{"hit"}, static_cast<double>(st.hits)},
                                   {{"miss"}, static_cast<double>(st.misses)}};
      });
  registry->GaugeFunction("ca_cache_hit_ratio",
                          "Share of cache lookups answered from the cache since start (0 to 1).",
                          {}, [cache] {
                            return std::vector<Sample>{{{}, cache->stats().HitRatio()}};
                          });
  registry->GaugeFunction(
      "ca_cache_bytes", "Bytes the cache holds now (its own estimate).", {}, [cache] {
        return std::vector<Sample>{{{}, static_cast<double>(cache->stats().bytes)}};
      });
}

void RegisterHttpServerMetrics(metrics::Registry* registry, const http::Server* server) {
  registry->GaugeFunction(
      "ca_http_open_connections", "HTTP connections open now, live streams included.", {},
      [server] {
        return std::vector<Sample>{{{}, static_cast<double>(server->stats().active_connections)}};
      });
  registry->CounterFunction(
      "ca_http_refused_connections_total",
      "HTTP connections turned away (503 overloaded) at http.max_connections.", {}, [server] {
        return std::vector<Sample>{{{}, static_cast<double>(server->stats().refused_connections)}};
      });
}

}  // namespace ca::app
