#include "api/routes.h"

#include "api/cors.h"
#include "api/openapi.h"
#include "base/clock.h"
#include "http/errors.h"

namespace ca::api {
namespace {

/// Registers routes on a router. Each request of a route is counted in the registry (route,
/// method, status; latency by route) and, with self-telemetry, recorded as an event when it is
/// answered.
class Routes {
 public:
  Routes(http::Router* router, services::SelfTelemetry* telemetry, metrics::Registry* registry)
      : router_(router), telemetry_(telemetry) {
    if (registry != nullptr) {
      requests_ = &registry->Counter("ca_http_requests_total",
                                     "HTTP requests answered, by route, method and status.",
                                     {"route", "method", "status"});
      latency_ =
          &registry->Histogram("ca_http_request_duration_seconds",
                               "Time from a request's arrival to its answer, by route.", {"route"});
    }
  }

  void Add(const std::string& method, const std::string& path, http::Handler handler) {
    if (telemetry_ == nullptr && requests_ == nullptr) {
      router_->Add(method, path, std::move(handler));
      return;
    }
    metrics::Histogram* latency = latency_ != nullptr ? &latency_->With({path}) : nullptr;
    router_->Add(method, path,
                 [t = telemetry_, requests = requests_, latency, method, path,
                  handler = std::move(handler)](http::Request& request, http::Responder respond) {
                   const int64_t start = MonotonicNanos();
                   handler(request, http::Responder([=](http::Response r) {
                             const double seconds =
                                 static_cast<double>(MonotonicNanos() - start) / 1e9;
                             if (t != nullptr)
                               t->RecordRequest(method, path, r.status, seconds * 1e3);
                             if (requests != nullptr) {
                               requests->With({path, method, std::to_string(r.status)}).Inc();
                               latency->Observe(seconds);
                             }
                             respond(std::move(r));
                           }));
                 });
  }
  /// Not recorded: health checks, scrapes and CORS preflights would drown the rest.
  void AddUnrecorded(const std::string& method, const std::string& path, http::Handler handler) {
    router_->Add(method, path, std::move(handler));
  }

 private:
  http::Router* const router_;
  services::SelfTelemetry* const telemetry_;
  metrics::CounterFamily* requests_ = nullptr;
  metrics::HistogramFamily* latency_ = nullptr;
};

// A POST route browsers may call from other origins: it answers CORS preflights too.
void AddBrowserPost(Routes& routes, const std::string& path, http::Handler handler) {
  routes.Add("POST", path, std::move(handler));
  routes.AddUnrecorded("OPTIONS", path, [](http::Request& request, http::Responder respond) {
    respond(PreflightResponse(request));
  });
}

// Answers 503: the server was started without the part that serves `what`.
http::Handler Unavailable(std::string_view what) {
  return [what = std::string(what)](http::Request&, http::Responder respond) {
    respond(
        http::ErrorResponse(Status(ErrorCode::kUnavailable, "this server does not serve " + what)));
  };
}

// A handler calling `method` of `target`, or answering 503 when the server has no `target`.
template <typename Target>
http::Handler Bind(Target* target, void (Target::*method)(http::Request&, http::Responder),
                   std::string_view what) {
  if (target == nullptr) return Unavailable(what);
  return [target, method](http::Request& request, http::Responder respond) {
    (target->*method)(request, std::move(respond));
  };
}

// docs/api/sdk-compat.md lists these paths.
void AddSdkRoutes(SdkHandler* sdk, Routes& routes) {
  using ingest::SdkFormat;
  // Segment's HTTP API, and the one-letter paths its browser library (analytics-next) posts to.
  const std::pair<const char*, const char*> segment[] = {
      {"track", "t"}, {"page", "p"},  {"screen", "s"}, {"identify", "i"},
      {"group", "g"}, {"alias", "a"}, {"batch", "b"},  {"import", nullptr},
  };
  for (const auto& [call, short_path] : segment) {
    const std::string as_call = std::string(call) == "import" ? "batch" : call;
    http::Handler handler = Unavailable("the SDK endpoints");
    if (sdk != nullptr) {
      handler = [sdk, as_call](http::Request& request, http::Responder respond) {
        sdk->Handle(SdkFormat::kSegment, as_call, request, std::move(respond));
      };
    }
    AddBrowserPost(routes, std::string("/v1/") + call, handler);
    if (short_path != nullptr) AddBrowserPost(routes, std::string("/v1/") + short_path, handler);
  }
  // PostHog's capture endpoints, with and without the trailing slash.
  for (const char* path : {"/batch", "/capture", "/e", "/i/v0/e", "/track"}) {
    http::Handler handler = Unavailable("the SDK endpoints");
    if (sdk != nullptr) {
      handler = [sdk](http::Request& request, http::Responder respond) {
        sdk->Handle(SdkFormat::kPostHog, "", request, std::move(respond));
      };
    }
    AddBrowserPost(routes, path, handler);
    AddBrowserPost(routes, std::string(path) + "/", handler);
  }
}

void AddReadRoutes(const RouteContext& context, Routes& routes) {
  routes.Add("GET", "/analytics/dead-letters",
             Bind(context.dead_letters, &DeadLetterHandler::HandleList, "dead letters"));
  routes.Add("POST", "/analytics/dead-letters/replay",
             Bind(context.dead_letters, &DeadLetterHandler::HandleReplay, "dead letters"));
  routes.Add("POST", "/analytics/query",
             Bind(context.query, &QueryHandler::HandleQuery, "queries"));
  routes.Add("GET", "/analytics/metrics/{period}",
             Bind(context.query, &QueryHandler::HandleMetrics, "metrics"));
  routes.Add("GET", "/dashboard/summary",
             Bind(context.dashboard, &DashboardHandler::HandleSummary, "dashboards"));
  routes.Add("GET", "/dashboard/widgets/{name}",
             Bind(context.dashboard, &DashboardHandler::HandleWidget, "dashboards"));
  routes.Add(
      "GET", "/dashboard/admin/summary",
      Bind(context.admin_dashboard, &AdminDashboardHandler::HandleSummary, "admin dashboards"));
  routes.Add(
      "GET", "/dashboard/admin/widgets/{name}",
      Bind(context.admin_dashboard, &AdminDashboardHandler::HandleWidget, "admin dashboards"));
  routes.Add("GET", "/dashboard/live", Bind(context.live, &LiveHandler::Handle, "live updates"));
  routes.Add("GET", "/analytics/trends",
             Bind(context.market, &MarketHandler::HandleTrends, "market trends"));
  routes.Add("POST", "/analytics/external",
             Bind(context.market, &MarketHandler::HandleImport, "external data"));
  routes.Add("GET", "/analytics/jobs", Bind(context.jobs, &JobsHandler::HandleList, "jobs"));
  routes.Add("GET", "/analytics/users/{id}/export",
             Bind(context.users, &UserDataHandler::HandleExport, "user data"));
  routes.Add("DELETE", "/analytics/users/{id}",
             Bind(context.users, &UserDataHandler::HandleDelete, "user data"));
  routes.Add("POST", "/analytics/export",
             Bind(context.exports, &ExportHandler::HandleSubmit, "exports"));
  routes.Add("GET", "/analytics/exports/{id}",
             Bind(context.exports, &ExportHandler::HandleGet, "exports"));
  routes.Add("GET", "/analytics/exports/{id}/download",
             Bind(context.exports, &ExportHandler::HandleDownload, "exports"));
  routes.Add("POST", "/analytics/jobs/{name}/run",
             Bind(context.jobs, &JobsHandler::HandleRun, "jobs"));
}

// The web dashboard (`/`, its hashed `/assets/...`) and tracker.js, from the built assets. Without
// them these answer 503 `unavailable` saying how to build them; the API works either way.
void AddWebRoutes(http::StaticFiles* web, Routes& routes) {
  // `file_of` names the file a request asks for, relative to the web root.
  auto serve = [web](std::string (*file_of)(const http::Request&)) -> http::Handler {
    return [web, file_of](http::Request& request, http::Responder respond) {
      if (web == nullptr) {
        respond(http::ErrorResponse(Status(
            ErrorCode::kUnavailable,
            "the web dashboard's assets are not built (scripts/build-web.sh, or set web.root); "
            "this server serves the API only")));
        return;
      }
      respond(web->Serve(request, file_of(request)));
    };
  };
  routes.AddUnrecorded("GET", "/",
                       serve([](const http::Request&) -> std::string { return "index.html"; }));
  routes.AddUnrecorded("GET", "/tracker.js",
                       serve([](const http::Request&) -> std::string { return "tracker.js"; }));
  routes.AddUnrecorded("GET", "/assets/{file}", serve([](const http::Request& r) {
                         return "assets/" + std::string(r.PathParam("file"));
                       }));
}

}  // namespace

void AddRoutes(const RouteContext& context, http::Router* router) {
  Routes routes(router, context.telemetry, context.registry);
  routes.AddUnrecorded("GET", "/healthz", [](http::Request&, http::Responder respond) {
    respond(http::Response::Json(200, R"({"status":"ok"})"));
  });
  routes.AddUnrecorded(
      "GET", "/readyz", [ready = context.ready](http::Request&, http::Responder respond) {
        if (ready && !ready()) {
          respond(http::ErrorResponse(
              Status(ErrorCode::kUnavailable, "write-ahead log cannot take writes")));
          return;
        }
        respond(http::Response::Json(200, R"({"status":"ready"})"));
      });
  routes.AddUnrecorded("GET", "/metrics",
                       [metrics = context.metrics](http::Request&, http::Responder respond) {
                         http::Response r = http::Response::Text(200, metrics ? metrics() : "");
                         r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                         respond(std::move(r));
                       });
  routes.AddUnrecorded("GET", "/openapi.json", [](http::Request&, http::Responder respond) {
    respond(http::Response::Json(200, std::string(OpenApiDocument())));
  });
  AddBrowserPost(routes, "/api/analytics/events",
                 Bind(context.ingest, &IngestHandler::Handle, "ingestion"));
  AddSdkRoutes(context.sdk, routes);
  AddReadRoutes(context, routes);
  AddWebRoutes(context.web, routes);
}

}  // namespace ca::api
