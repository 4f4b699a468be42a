#pragma once

#include <functional>

#include "api/dead_letter_handler.h"
#include "api/ingest_handler.h"
#include "api/query_handler.h"
#include "api/sdk_handler.h"
#include "http/router.h"
#include "services/self_telemetry.h"

namespace ca::api {

/// What the routes need from the running server.
struct RouteContext {
  IngestHandler* ingest = nullptr;
  /// The analytics SDKs' endpoints (Segment, PostHog); null: not served.
  SdkHandler* sdk = nullptr;
  /// Dead letters (list, replay); null: not served.
  DeadLetterHandler* dead_letters = nullptr;
  QueryHandler* query = nullptr;
  /// Records every API request (null: none are recorded).
  services::SelfTelemetry* telemetry = nullptr;
  /// True while the server can take writes (for /readyz).
  std::function<bool()> ready;
  /// The body of GET /metrics (Prometheus text format); null: not served.
  std::function<std::string()> metrics;
};

/// Registers every route of the public API on `router`.
void AddRoutes(const RouteContext& context, http::Router* router);

}  // namespace ca::api
