#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "app/config.h"
#include "base/result.h"
#include "base/status.h"
#include "ingest/privacy_filter.h"
#include "state/state_store.h"
#include "store/event_store.h"

namespace ca::app {

/// The running server: data directory lock, state store, WAL, ingest pipeline and HTTP server,
/// wired together. Start() recovers (WAL, dedup index) before it listens.
class ServerApp {
 public:
  explicit ServerApp(Config config);
  ~ServerApp();

  /// Opens the data directory and starts serving. Errors name what failed (a locked or damaged data
  /// directory, an address in use...).
  Status Start();
  /// The address clients use, e.g. "http://127.0.0.1:8080".
  std::string url() const;
  uint16_t port() const;
  /// Graceful stop: no new connections, requests in flight are answered, the WAL is synced and
  /// closed.
  Status Shutdown();

  /// The tenant keys for `tenant`, created on first use (for `demo`).
  Result<std::string> CreateKeysJson(const std::string& tenant);
  /// Sets `tenant`'s ingest policy (for `demo`, whose history is older than the default
  /// late-event bound).
  Status SetIngestPolicy(const std::string& tenant, const state::IngestPolicy& policy);
  /// Waits until the rollups (daily sums and the dashboards' activity rows) hold every event
  /// acknowledged so far; kUnavailable after `timeout_ms` (for `demo`, before it prints links).
  Status WaitForRollups(int64_t timeout_ms);

 private:
  struct Parts;
  /// The enrichment stage's sources (enrich.* settings) into `parts`.
  static Status LoadEnrichment(const Config& config, Parts* parts);
  /// The read side (cache, rollups, scheduler, dashboards, market data) into `parts`.
  static Status StartServices(const Config& config, Parts* parts);
  Config config_;
  std::unique_ptr<Parts> parts_;
};

/// The event store's options from the configuration; each tenant's retention is read from
/// `state` (null: keep everything).
store::StoreOptions StoreOptionsFor(const Config& config, state::StateStore* state);

/// The privacy stage's options from the `privacy.*` settings.
ingest::PrivacyOptions PrivacyOptionsFor(const Config& config);
using StoreTaskCallback = std::function<void(std::string_view, double, const Status&)>;
/// Opens the event store of `config`'s data directory (replaying the WAL from its checkpoint);
/// damage is reported with the command that lists it. `on_task` sees its background task runs.
Result<std::unique_ptr<store::EventStore>> OpenEventStore(const Config& config,
                                                          const wal::Options& wal_options,
                                                          wal::Wal* live, state::StateStore* state,
                                                          StoreTaskCallback on_task = {});

/// Blocks SIGINT and SIGTERM in the calling thread (and so in threads it starts later) and returns
/// a function that waits for one of them and returns its number.
std::function<int()> BlockTerminationSignals();

}  // namespace ca::app
