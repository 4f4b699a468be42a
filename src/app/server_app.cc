#include "app/server_app.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>
#include <utility>

#include "api/auth.h"
#include "api/ingest_handler.h"
#include "api/live_handler.h"
#include "api/query_handler.h"
#include "api/routes.h"
#include "api/user_token.h"
#include "app/commands.h"
#include "app/data_dir.h"
#include "app/log_format.h"
#include "app/server_metrics.h"
#include "base/clock.h"
#include "batch/rollup_updater.h"
#include "batch/scheduler.h"
#include "batch/state_job_run_store.h"
#include "cache/lru_cache.h"
#include "http/server.h"
#include "http/static_files.h"
#include "ingest/ingest_pipeline.h"
#include "realtime/live_service.h"
#include "services/admin_dashboard_service.h"
#include "services/catalogue_service.h"
#include "services/dashboard_service.h"
#include "services/export_service.h"
#include "services/ingest_rules_service.h"
#include "services/market_service.h"
#include "services/query_service.h"
#include "services/user_data_service.h"
#include "services/user_profile_service.h"
#include "state/key_cache.h"
#include "store/event_store.h"
#include "wal/wal.h"

namespace ca::app {
namespace {

// How long /readyz answers 503 after a failed write; matches the Retry-After of disk_full.
constexpr int64_t kNotReadyAfterFailureMs = 10'000;

// The nightly job that recomputes the rollups of days late events touched (docs/rollups.md).
constexpr const char* kRecomputeJob = "rollups.recompute";
constexpr const char* kRecomputeSchedule = "30 2 * * *";  // 02:30 UTC

}  // namespace

store::StoreOptions StoreOptionsFor(const Config& config, state::StateStore* state) {
  store::StoreOptions options;
  options.dir = DataDir{config.data}.store();
  options.memtable_max_rows = config.store_memtable_rows;
  options.granule_cache_bytes = config.store_granule_cache_mb << 20;
  options.flush_interval_ms = int64_t{config.store_flush_interval_s} * 1000;
  if (state != nullptr) {
    options.retention_days = [state](const std::string& tenant) {
      auto found = state->FindTenant(tenant);
      if (!found.ok()) {
        spdlog::warn("store: no retention for tenant {}: {}", tenant, found.status().ToString());
        return 0;
      }
      return *found ? (*found)->retention_days : 0;
    };
  }
  return options;
}

ingest::PrivacyOptions PrivacyOptionsFor(const Config& config) {
  ingest::PrivacyOptions options;
  options.scrub_pii = config.privacy_scrub_pii != "off";
  options.keep_raw_ip = config.privacy_ip == "keep";
  std::string_view keys = config.privacy_pii_allowed_keys;
  while (!keys.empty()) {
    const size_t comma = std::min(keys.find(','), keys.size());
    std::string_view key = keys.substr(0, comma);
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (!key.empty()) options.pii_allowed_keys.emplace_back(key);
    keys.remove_prefix(std::min(comma + 1, keys.size()));
  }
  return options;
}

Result<std::unique_ptr<store::EventStore>> OpenEventStore(const Config& config,
                                                          const wal::Options& wal_options,
                                                          wal::Wal* live, state::StateStore* state,
                                                          StoreTaskCallback on_task) {
  store::StoreOptions options = StoreOptionsFor(config, state);
  options.on_task = std::move(on_task);
  auto store = store::EventStore::Open(options, wal_options, live);
  if (!store.ok() && store.status().code() == ErrorCode::kCorruption) {
    return store.status().WithContext(
        "event store is damaged; `career-analytics store verify --data " + config.data +
        "` lists every problem");
  }
  return store;
}

// Where the store's background thread reports its task runs: the self-telemetry once it exists,
// nothing before it starts or after it stops.
struct TaskSink {
  std::mutex mu;
  services::SelfTelemetry* telemetry = nullptr;

  void Record(std::string_view task, double ms, const Status& status) {
    std::lock_guard lock(mu);
    if (telemetry != nullptr) telemetry->RecordTask(task, ms, status.ok(), status.ToString());
  }
  void Set(services::SelfTelemetry* t) {
    std::lock_guard lock(mu);
    telemetry = t;
  }
};

struct ServerApp::Parts {
  // First, so that it goes last: the WAL, the queries and the routes observe into it.
  metrics::Registry registry;
  std::unique_ptr<io::FileLock> lock;
  std::unique_ptr<state::StateStore> state;
  std::unique_ptr<state::KeyCache> keys;
  std::unique_ptr<services::CatalogueService> catalogues;
  std::unique_ptr<services::IngestRulesService> ingest_rules;
  std::unique_ptr<ingest::UserAgentParser> user_agents;
  std::unique_ptr<ingest::GeoLookup> geo;
  std::unique_ptr<services::UserProfileService> profiles;
  std::unique_ptr<ingest::Enricher> enricher;
  std::unique_ptr<api::RateLimiter> rate_limiter;
  wal::Options wal_options;
  std::unique_ptr<wal::Wal> wal;
  // Live updates: before the lanes, whose thread feeds it, and the server, whose streams leave it.
  std::unique_ptr<realtime::LiveService> live;
  // Before the pipeline, which hands it events until it is destroyed.
  std::unique_ptr<ingest::LaneDispatcher> lanes;
  std::unique_ptr<ingest::IngestPipeline> pipeline;
  std::shared_ptr<TaskSink> task_sink = std::make_shared<TaskSink>();
  // Declared before the store so that it outlives the store's background thread, after the
  // pipeline so that it goes before it (members are destroyed in reverse order).
  std::unique_ptr<services::SelfTelemetry> telemetry;  // null when off
  std::unique_ptr<store::EventStore> store;
  std::unique_ptr<cache::Cache> cache;  // null when cache.max_mb is 0; used by the queries
  std::unique_ptr<services::QueryService> queries;
  std::unique_ptr<api::IngestHandler> ingest_handler;
  std::unique_ptr<api::SdkHandler> sdk_handler;
  std::unique_ptr<api::DeadLetterHandler> dead_letter_handler;
  std::unique_ptr<api::QueryHandler> query_handler;
  std::unique_ptr<batch::RollupUpdater> rollups;
  std::unique_ptr<batch::StateJobRunStore> job_runs;
  std::unique_ptr<batch::Scheduler> scheduler;
  std::unique_ptr<services::DashboardService> dashboards;
  std::unique_ptr<services::MarketService> market;
  std::optional<api::UserTokenVerifier> tokens;
  std::unique_ptr<api::Authenticator> auth;
  std::unique_ptr<api::DashboardHandler> dashboard_handler;
  std::unique_ptr<services::AdminDashboardService> admin_dashboards;
  std::unique_ptr<api::AdminDashboardHandler> admin_dashboard_handler;
  std::unique_ptr<api::MarketHandler> market_handler;
  std::unique_ptr<api::JobsHandler> jobs_handler;
  std::unique_ptr<services::UserDataService> user_data;
  std::unique_ptr<api::UserDataHandler> user_data_handler;
  std::unique_ptr<services::ExportService> exports;
  std::unique_ptr<api::ExportHandler> export_handler;
  std::unique_ptr<api::LiveHandler> live_handler;
  std::unique_ptr<http::StaticFiles> web;  // null when the dashboard's assets are missing
  std::unique_ptr<http::Server> server;
};

namespace {

// The web dashboard's assets from `root`, or from build/web when `root` is empty (the binary is
// build/PRESET/career-analytics, and scripts/build-web.sh writes build/web). Null, with a warning,
// when there is no index.html there: the server then serves the API alone.
std::unique_ptr<http::StaticFiles> LoadWebAssets(std::string root) {
  if (root.empty()) {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    root = ec ? "web" : (exe.parent_path().parent_path() / "web").string();
  }
  auto files = http::StaticFiles::Load(root);
  if (!files.ok() || !(*files)->Has("index.html")) {
    spdlog::warn(
        "web: no dashboard assets in {} ({}); serving the API only. Build them with "
        "scripts/build-web.sh or set web.root",
        root, files.ok() ? "no index.html" : std::string(files.status().message()));
    return nullptr;
  }
  spdlog::info("web: serving the dashboard from {} ({} files)", root, (*files)->size());
  return std::move(files).value();
}

// Ingest backpressure: "" while the event store keeps up with the WAL, else why not. The verdict
// is kept for 100 ms, so that a flood of requests costs one look at the store per interval.
std::function<std::string()> OverloadCheck(wal::Wal* wal, store::EventStore* store,
                                           ingest::LaneDispatcher* lanes, uint64_t max_lag_bytes,
                                           uint64_t max_unflushed_rows) {
  struct Verdict {
    std::mutex mu;
    int64_t checked_at_ms = -1'000'000;
    std::string why;
  };
  auto verdict = std::make_shared<Verdict>();
  return [=]() -> std::string {
    const int64_t now = NowMillis();
    std::lock_guard lock(verdict->mu);
    if (now - verdict->checked_at_ms < 100) return verdict->why;
    verdict->checked_at_ms = now;
    const store::EventStore::Backlog backlog = store->backlog();
    const wal::Lsn durable = wal->durable_lsn();
    const uint64_t lag = durable > backlog.applied_lsn ? durable - backlog.applied_lsn : 0;
    if (lag > max_lag_bytes) {
      verdict->why = "the event store is " + std::to_string(lag >> 20) + " MiB of log behind";
    } else if (backlog.unflushed_rows > max_unflushed_rows) {
      verdict->why = std::to_string(backlog.unflushed_rows) + " rows wait to be written to parts";
    } else if (lanes->backlogged()) {
      verdict->why = "real-time consumers are behind";
    } else {
      verdict->why.clear();
    }
    return verdict->why;
  };
}

}  // namespace

// A configured file that cannot be loaded stops the start, except the default uap-core file,
// whose absence only turns that part off.
Status ServerApp::LoadEnrichment(const Config& config, Parts* parts) {
  if (!config.enrich_user_agents.empty()) {
    auto parser = ingest::UserAgentParser::Load(config.enrich_user_agents);
    if (parser.ok()) {
      parts->user_agents = std::move(parser).value();
      spdlog::info("enrichment: {} user-agent patterns from {}{}",
                   parts->user_agents->pattern_count(), config.enrich_user_agents,
                   parts->user_agents->skipped_patterns() > 0
                       ? " (" + parts->user_agents->SkippedPatternsSummary() + ")"
                       : std::string());
    } else if (config.enrich_user_agents == kDefaultUserAgentRegexes) {
      spdlog::warn("enrichment: no user-agent parsing ({}); install Debian's uap-core",
                   parser.status().ToString());
    } else {
      return Status(ErrorCode::kConfigInvalid,
                    "enrich.user_agents: " + std::string(parser.status().message()));
    }
  }
  if (!config.enrich_geo_db.empty()) {
    auto geo = ingest::GeoLookup::Open(config.enrich_geo_db);
    if (!geo.ok()) {
      return Status(ErrorCode::kConfigInvalid,
                    "enrich.geo_db: " + std::string(geo.status().message()));
    }
    parts->geo = std::move(geo).value();
    spdlog::info("enrichment: geo from {}", parts->geo->info().ToString());
  } else {
    spdlog::info("enrichment: no geo database (enrich.geo_db); countries are not added");
  }
  parts->profiles = std::make_unique<services::UserProfileService>(parts->state.get());
  parts->enricher = std::make_unique<ingest::Enricher>(parts->user_agents.get(), parts->geo.get(),
                                                       parts->profiles.get());
  // The sessions the last stop kept: visits going on across a restart stay one session. They are
  // taken in once (the file is removed), so that a crash later never brings back stale ones.
  io::Env* env = io::Env::Default();
  const std::string sessions = DataDir{config.data}.sessions();
  if (Status s = parts->enricher->sessions().Load(env, sessions, NowMillis()); !s.ok()) {
    spdlog::warn("enrichment: open sessions not restored, new ones start: {}", s.ToString());
  } else if (env->FileExists(sessions)) {
    spdlog::info("enrichment: {} open sessions restored",
                 parts->enricher->sessions().open_sessions());
  }
  if (env->FileExists(sessions)) {
    if (Status s = env->RemoveFile(sessions); !s.ok()) {
      spdlog::warn("enrichment: {}", s.ToString());
    }
  }
  return Status::Ok();
}

// The read side: cache, rollups (a WAL consumer), the scheduler and its jobs, dashboards and
// market data, and their handlers. Needs the state, WAL, store, queries and auth of `parts`.
Status ServerApp::StartServices(const Config& config, Parts* parts) {
  cache::Cache* cache = parts->cache.get();
  CA_ASSIGN_OR_RETURN(
      parts->rollups,
      batch::RollupUpdater::Open(
          parts->wal_options, parts->wal.get(), parts->state.get(), parts->store.get(), {},
          [cache](const std::vector<std::pair<std::string, std::string>>& users) {
            if (cache == nullptr) return;
            for (const auto& [tenant, user] : users) {
              cache->InvalidateTag(cache::UserTag(tenant, user));
            }
          }));
  parts->rollups->Start();
  parts->job_runs = std::make_unique<batch::StateJobRunStore>(parts->state.get());
  parts->scheduler = std::make_unique<batch::Scheduler>(parts->job_runs.get());
  CA_ASSIGN_OR_RETURN(batch::CronSchedule nightly,
                      batch::CronSchedule::Parse(kRecomputeSchedule, "UTC"));
  CA_RETURN_IF_ERROR(parts->scheduler->Add(
      kRecomputeJob, std::move(nightly), [rollups = parts->rollups.get()]() -> Status {
        CA_ASSIGN_OR_RETURN(size_t days, rollups->RecomputeMarkedDays());
        CA_ASSIGN_OR_RETURN(int64_t pruned, rollups->PruneActivity(NowMillis()));
        spdlog::info("rollups: recomputed {} marked days; pruned {} old activity rows", days,
                     pruned);
        return Status::Ok();
      }));
  CA_RETURN_IF_ERROR(parts->scheduler->Start());
  parts->dashboards = std::make_unique<services::DashboardService>(parts->state.get(), cache);
  parts->market = std::make_unique<services::MarketService>(parts->state.get(), cache);
  parts->dashboard_handler = std::make_unique<api::DashboardHandler>(
      parts->dashboards.get(), parts->queries.get(), parts->auth.get());
  services::AdminDashboardOptions admin_options;
  admin_options.system_tenant = config.self_telemetry_tenant;
  admin_options.ingest_counters = [pipeline = parts->pipeline.get()] {
    return pipeline->counters();
  };
  admin_options.started_at_ms = NowMillis();
  admin_options.max_memory_bytes = config.query_max_memory_mb << 20;
  parts->admin_dashboards = std::make_unique<services::AdminDashboardService>(
      parts->store.get(), parts->state.get(), cache, std::move(admin_options));
  parts->admin_dashboard_handler = std::make_unique<api::AdminDashboardHandler>(
      parts->admin_dashboards.get(), parts->queries.get(), parts->auth.get());
  parts->market_handler = std::make_unique<api::MarketHandler>(
      parts->market.get(), parts->queries.get(), parts->auth.get());
  parts->jobs_handler =
      std::make_unique<api::JobsHandler>(parts->scheduler.get(), parts->auth.get());
  services::UserDataService::Parts user_parts;
  user_parts.store = parts->store.get();
  user_parts.state = parts->state.get();
  user_parts.cache = cache;
  user_parts.rollups = parts->rollups.get();
  user_parts.wal = parts->wal.get();
  user_parts.on_suppressed = [rules = parts->ingest_rules.get()](const std::string& tenant) {
    return rules->InvalidateAndDrain(tenant, 30'000);
  };
  parts->user_data = std::make_unique<services::UserDataService>(std::move(user_parts));
  parts->user_data_handler = std::make_unique<api::UserDataHandler>(
      parts->user_data.get(), parts->queries.get(), parts->auth.get());
  services::ExportService::Options export_options;
  export_options.dir = DataDir{config.data}.root + "/exports";
  parts->exports = std::make_unique<services::ExportService>(
      parts->store.get(), parts->state.get(), parts->queries.get(), std::move(export_options));
  CA_RETURN_IF_ERROR(parts->exports->Start());
  parts->export_handler =
      std::make_unique<api::ExportHandler>(parts->exports.get(), parts->auth.get());
  return Status::Ok();
}

ServerApp::ServerApp(Config config) : config_(std::move(config)) {}

ServerApp::~ServerApp() {
  if (parts_) Shutdown().IgnoreError();
}

Status ServerApp::Start() {
  spdlog::set_level(spdlog::level::from_str(config_.log_level));  // validated by config
  UseLogFormat(config_.log_format);
  auto parts = std::make_unique<Parts>();
  io::Env* env = io::Env::Default();
  DataDir dir{config_.data};
  CA_RETURN_IF_ERROR(env->CreateDirs(dir.root));
  auto lock = env->LockFile(dir.lock_file());
  if (!lock.ok()) {
    return lock.status().WithContext("data directory " + dir.root +
                                     " is in use by another career-analytics server");
  }
  parts->lock = std::move(lock).value();

  CA_ASSIGN_OR_RETURN(parts->state, OpenState(config_));
  parts->keys = std::make_unique<state::KeyCache>(parts->state.get());
  parts->catalogues = std::make_unique<services::CatalogueService>(parts->state.get());
  parts->ingest_rules = std::make_unique<services::IngestRulesService>(parts->state.get(),
                                                                       PrivacyOptionsFor(config_));
  CA_RETURN_IF_ERROR(LoadEnrichment(config_, parts.get()));

  parts->wal_options.dir = dir.wal();
  parts->wal_options.env = env;
  CA_ASSIGN_OR_RETURN(parts->wal_options.sync, wal::ParseSyncMode(config_.wal_sync));
  parts->wal_options.sync_interval_ms = config_.wal_sync_interval_ms;
  parts->wal_options.segment_bytes = config_.wal_segment_bytes;
  parts->wal_options.sync_seconds =
      &parts->registry
           .Histogram("ca_wal_sync_duration_seconds",
                      "Time of each fdatasync of write-ahead log segments.")
           .With({});
  wal::RecoveryReport report;
  auto wal = wal::Wal::Open(parts->wal_options, &report);
  if (!wal.ok()) {
    if (wal.status().code() == ErrorCode::kCorruption) {
      return wal.status().WithContext(
          "write-ahead log is damaged; to cut it at the damage (records after it are lost) run "
          "`career-analytics wal repair --data " +
          dir.root + "`");
    }
    return wal.status();
  }
  parts->wal = std::move(wal).value();
  if (report.truncated_bytes > 0) {
    spdlog::warn("wal: cut a torn tail of {} bytes from {}", report.truncated_bytes,
                 report.truncated_file);
  }
  spdlog::info("wal: {} segments, {} records, sync={}", report.segments, report.records,
               wal::SyncModeName(parts->wal_options.sync));

  const int64_t window_ms = int64_t{config_.dedup_window_hours} * 3600 * 1000;
  parts->pipeline = std::make_unique<ingest::IngestPipeline>(
      parts->wal.get(), window_ms, config_.dedup_max_ids, PrivacyOptionsFor(config_));
  // Real-time consumers (live views, alert rules) subscribe here as they are built.
  parts->lanes = std::make_unique<ingest::LaneDispatcher>(ingest::LaneDispatcher::Options());
  parts->pipeline->SetLanes(parts->lanes.get());
  // Live dashboards (docs/api/live.md) see every durable event, real-time lane first.
  parts->live =
      std::make_unique<realtime::LiveService>(realtime::LiveService::Options(), &parts->registry);
  parts->lanes->Subscribe([live = parts->live.get()](ingest::LaneEvent& e, ingest::Lane) {
    live->OnEvent(e.head(), [&e]() -> const event::Event& { return e.full(); });
  });
  parts->live->Start();
  CA_ASSIGN_OR_RETURN(
      parts->store,
      OpenEventStore(
          config_, parts->wal_options, parts->wal.get(), parts->state.get(),
          [sink = parts->task_sink](std::string_view task, double ms, const Status& status) {
            sink->Record(task, ms, status);
          }));
  {
    store::StoreStats stats = parts->store->stats();
    spdlog::info("store: {} parts, {} rows in parts, {} replayed from the WAL", stats.parts,
                 stats.part_rows, stats.memtable_rows);
  }
  // The dedup index: ids in the WAL, and ids in parts whose WAL segments are gone.
  const int64_t now = NowMillis();
  CA_RETURN_IF_ERROR(parts->pipeline->RecoverDedup(parts->wal_options, now));
  ingest::IngestPipeline* pipeline = parts->pipeline.get();
  CA_RETURN_IF_ERROR(parts->store->ForEachEventKey(
      now - window_ms, [&](const std::string& tenant, const std::string& id, int64_t received) {
        pipeline->RememberStored(tenant, id, received, now);
      }));
  spdlog::info("dedup: tracking {} event ids", parts->pipeline->tracked_ids());
  CA_RETURN_IF_ERROR(parts->store->Start());

  services::QueryServiceOptions query_options;
  query_options.threads = config_.query_threads;
  query_options.max_memory_bytes = config_.query_max_memory_mb << 20;
  if (config_.cache_max_mb > 0) {
    cache::LruCacheOptions cache_options;
    cache_options.capacity_bytes = config_.cache_max_mb << 20;
    parts->cache = std::make_unique<cache::LruCache>(std::move(cache_options));
  }
  query_options.cache = parts->cache.get();
  // Metrics read whole days from the rollups when they hold every acknowledged event (they
  // follow the log within about a second); otherwise the events answer alone, at once, rather
  // than a query thread waiting for the rollups.
  query_options.rollups = parts->state.get();
  query_options.rollups_current = [p = parts.get()] {
    return p->rollups != nullptr && p->rollups->WaitPosition(p->wal->durable_lsn(), 0).ok();
  };
  query_options.latency_seconds = &parts->registry.Histogram(
      "ca_query_duration_seconds", "Run time of analytics queries, by kind.", {"kind"});
  parts->queries = std::make_unique<services::QueryService>(parts->store.get(), query_options);
  if (!config_.self_telemetry_tenant.empty()) {
    if (!state::IsValidTenantName(config_.self_telemetry_tenant)) {
      return Status(ErrorCode::kConfigInvalid,
                    "self_telemetry.tenant: '" + config_.self_telemetry_tenant +
                        "' is not a tenant name ([a-z0-9][a-z0-9_-]*); empty turns it off");
    }
    CA_RETURN_IF_ERROR(parts->state->GetOrCreateTenant(config_.self_telemetry_tenant).status());
    services::SelfTelemetry::Options telemetry;
    telemetry.tenant = config_.self_telemetry_tenant;
    parts->telemetry =
        std::make_unique<services::SelfTelemetry>(parts->pipeline.get(), std::move(telemetry));
    parts->task_sink->Set(parts->telemetry.get());
  }
  if (!config_.auth_jwt_secret.empty()) {
    api::UserTokenVerifier::Options token_options;
    token_options.secret = config_.auth_jwt_secret;
    token_options.issuer = config_.auth_jwt_issuer;
    token_options.audience = config_.auth_jwt_audience;
    auto verifier = api::UserTokenVerifier::Create(std::move(token_options));
    if (!verifier.ok()) {
      return Status(ErrorCode::kConfigInvalid, "auth: " + std::string(verifier.status().message()));
    }
    parts->tokens.emplace(std::move(verifier).value());
  } else {
    spdlog::info("auth: no auth.jwt_secret, so user tokens are refused (secret keys only)");
  }
  parts->auth = std::make_unique<api::Authenticator>(parts->keys.get(),
                                                     parts->tokens ? &*parts->tokens : nullptr);
  parts->query_handler =
      std::make_unique<api::QueryHandler>(parts->queries.get(), parts->auth.get());
  CA_RETURN_IF_ERROR(StartServices(config_, parts.get()));

  api::IngestLimits limits;
  limits.max_event_bytes = config_.max_event_bytes;
  limits.max_batch_events = config_.max_batch_events;
  api::RateLimiter::Options rate;
  rate.per_second = config_.ingest_rate_limit_rps;
  parts->rate_limiter = std::make_unique<api::RateLimiter>(rate);
  api::IngestGuards guards;
  guards.rate_limiter = parts->rate_limiter.get();
  guards.overloaded =
      OverloadCheck(parts->wal.get(), parts->store.get(), parts->lanes.get(),
                    config_.ingest_max_lag_mb * 1024 * 1024, 4 * config_.store_memtable_rows);
  parts->ingest_handler = std::make_unique<api::IngestHandler>(
      parts->pipeline.get(), parts->keys.get(), parts->catalogues.get(), limits, parts->state.get(),
      parts->ingest_rules.get(), parts->enricher.get(), std::move(guards));
  parts->sdk_handler =
      std::make_unique<api::SdkHandler>(parts->ingest_handler.get(), config_.max_body_bytes);
  parts->dead_letter_handler = std::make_unique<api::DeadLetterHandler>(
      parts->ingest_handler.get(), parts->state.get(), parts->auth.get());

  http::Router router;
  api::RouteContext routes;
  routes.ingest = parts->ingest_handler.get();
  routes.sdk = parts->sdk_handler.get();
  routes.dead_letters = parts->dead_letter_handler.get();
  routes.telemetry = parts->telemetry.get();
  routes.query = parts->query_handler.get();
  routes.dashboard = parts->dashboard_handler.get();
  routes.admin_dashboard = parts->admin_dashboard_handler.get();
  routes.market = parts->market_handler.get();
  routes.jobs = parts->jobs_handler.get();
  routes.users = parts->user_data_handler.get();
  routes.exports = parts->export_handler.get();
  parts->live_handler = std::make_unique<api::LiveHandler>(parts->live.get(), parts->auth.get());
  routes.live = parts->live_handler.get();
  parts->web = LoadWebAssets(config_.web_root);
  routes.web = parts->web.get();
  wal::Wal* wal_ptr = parts->wal.get();
  // Not ready while the log refuses writes, nor for a while after a failed write: a full disk
  // lets the log recover (it cuts the failed tail) and fail again at the next write.
  routes.ready = [wal_ptr] {
    wal::Wal::Stats stats = wal_ptr->stats();
    return !stats.broken && NowMillis() - stats.last_failure_ms > kNotReadyAfterFailureMs;
  };
  ServerMetricsSources sources;
  sources.pipeline = parts->pipeline.get();
  sources.lanes = parts->lanes.get();
  sources.wal = parts->wal.get();
  sources.store = parts->store.get();
  sources.rollups = parts->rollups.get();
  sources.cache = parts->cache.get();
  RegisterServerMetrics(&parts->registry, sources);
  routes.registry = &parts->registry;
  routes.metrics = [registry = &parts->registry] { return registry->Render(); };
  api::AddRoutes(routes, &router);

  http::ServerOptions http_options;
  http_options.host = config_.listen_host;
  http_options.port = config_.listen_port;
  http_options.threads = config_.threads;
  http_options.max_body_bytes = config_.max_body_bytes;
  http_options.max_connections = config_.http_max_connections;
  parts->server = std::make_unique<http::Server>(http_options, std::move(router));
  RegisterHttpServerMetrics(&parts->registry, parts->server.get());
  CA_RETURN_IF_ERROR(parts->server->Start());
  parts_ = std::move(parts);
  return Status::Ok();
}

uint16_t ServerApp::port() const { return parts_ ? parts_->server->port() : 0; }

std::string ServerApp::url() const {
  return "http://" + config_.listen_host + ":" + std::to_string(port());
}

Status ServerApp::WaitForRollups(int64_t timeout_ms) {
  if (parts_ == nullptr || parts_->rollups == nullptr) return Status::Ok();
  return parts_->rollups->WaitPosition(parts_->wal->durable_lsn(), timeout_ms);
}

Status ServerApp::Shutdown() {
  if (!parts_) return Status::Ok();
  std::unique_ptr<Parts> parts = std::move(parts_);
  parts->server->Shutdown(std::chrono::milliseconds(config_.shutdown_grace_ms));
  parts->server->Wait();
  // No request is in flight: the open sessions are kept for the next start.
  if (Status s = parts->enricher->sessions().Save(io::Env::Default(),
                                                  DataDir{config_.data}.sessions(), NowMillis());
      !s.ok()) {
    spdlog::warn("enrichment: open sessions not kept, they restart with the server: {}",
                 s.ToString());
  }
  parts->live->Stop();
  // The last records of the server's own requests go in before the WAL closes.
  parts->task_sink->Set(nullptr);
  parts->telemetry.reset();
  parts->scheduler->Stop();
  parts->exports->Stop();
  if (Status s = parts->rollups->Stop(); !s.ok()) {
    spdlog::error("rollups: last flush failed: {}", s.ToString());
  }
  parts->queries->Stop();
  Status closed = parts->wal->Close();
  if (!closed.ok()) spdlog::error("wal: close failed: {}", closed.ToString());
  // After the WAL: the store takes in its last records and flushes them into parts.
  Status store_closed = parts->store->Close();
  if (!store_closed.ok()) spdlog::error("store: close failed: {}", store_closed.ToString());
  return closed.ok() ? store_closed : closed;
}

Result<std::string> ServerApp::CreateKeysJson(const std::string& tenant) {
  if (!parts_) return Status(ErrorCode::kUnavailable, "server not started");
  CA_ASSIGN_OR_RETURN(auto keys, parts_->state->CreateKeys(tenant));
  return KeysJson(keys);
}

Status ServerApp::SetIngestPolicy(const std::string& tenant, const state::IngestPolicy& policy) {
  if (!parts_) return Status(ErrorCode::kUnavailable, "server not started");
  CA_RETURN_IF_ERROR(parts_->state->SetIngestPolicy(tenant, policy));
  parts_->ingest_rules->Invalidate(tenant);
  return Status::Ok();
}

std::function<int()> BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return [set] {
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
  };
}

}  // namespace ca::app
