#pragma once

#include "base/metrics.h"
#include "batch/rollup_updater.h"
#include "cache/cache.h"
#include "http/server.h"
#include "ingest/ingest_pipeline.h"
#include "ingest/lanes.h"
#include "store/event_store.h"
#include "wal/wal.h"

namespace ca::app {

/// What the server's scrape-time metrics read. Everything must outlive the registry's last
/// Render (the server stops answering /metrics before its parts go).
struct ServerMetricsSources {
  const ingest::IngestPipeline* pipeline = nullptr;
  const ingest::LaneDispatcher* lanes = nullptr;
  const wal::Wal* wal = nullptr;
  const store::EventStore* store = nullptr;
  const batch::RollupUpdater* rollups = nullptr;
  const cache::Cache* cache = nullptr;  // null: no cache metrics
};

/// Registers the metrics read at scrape time (docs/metrics.md): ingest outcomes, lane drops,
/// consumer lag, unflushed rows, cache hit ratio. The histograms (WAL sync, queries, HTTP) are
/// registered where they are observed.
void RegisterServerMetrics(metrics::Registry* registry, const ServerMetricsSources& sources);

/// Registers the HTTP server's connection metrics: open connections and those turned away at
/// `http.max_connections`. `server` must outlive the registry's last Render.
void RegisterHttpServerMetrics(metrics::Registry* registry, const http::Server* server);

}  // namespace ca::app
