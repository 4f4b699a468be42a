#pragma once

#include <functional>

#include "api/admin_dashboard_handler.h"
#include "api/dashboard_handler.h"
#include "api/dead_letter_handler.h"
#include "api/export_handler.h"
#include "api/ingest_handler.h"
#include "api/jobs_handler.h"
#include "api/live_handler.h"
#include "api/market_handler.h"
#include "api/query_handler.h"
#include "api/sdk_handler.h"
#include "api/user_data_handler.h"
#include "base/metrics.h"
#include "http/router.h"
#include "http/static_files.h"
#include "services/self_telemetry.h"

namespace ca::api {

/// What the routes need from the running server. Every route is registered whatever is set; a
/// route whose handler is null answers 503 `unavailable` (a server started without that part).
struct RouteContext {
  IngestHandler* ingest = nullptr;
  /// The analytics SDKs' endpoints (Segment, PostHog).
  SdkHandler* sdk = nullptr;
  /// Dead letters (list, replay).
  DeadLetterHandler* dead_letters = nullptr;
  QueryHandler* query = nullptr;
  DashboardHandler* dashboard = nullptr;
  /// The admin view of the tenant (/dashboard/admin/*).
  AdminDashboardHandler* admin_dashboard = nullptr;
  MarketHandler* market = nullptr;
  JobsHandler* jobs = nullptr;
  UserDataHandler* users = nullptr;
  ExportHandler* exports = nullptr;
  /// Live updates (GET /dashboard/live, WebSocket or SSE).
  LiveHandler* live = nullptr;
  /// The web dashboard's built assets and tracker.js (null: not built; `/` says so).
  http::StaticFiles* web = nullptr;
  /// Records every API request (null: none are recorded).
  services::SelfTelemetry* telemetry = nullptr;
  /// True while the server can take writes (for /readyz).
  std::function<bool()> ready;
  /// The body of GET /metrics (Prometheus text format).
  std::function<std::string()> metrics;
  /// Where HTTP requests are counted (null: not counted); must outlive the router.
  metrics::Registry* registry = nullptr;
};

/// Registers every route of the public API on `router` (docs/api/openapi.json describes them).
void AddRoutes(const RouteContext& context, http::Router* router);

}  // namespace ca::api
