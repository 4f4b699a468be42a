#include "api/routes.h"

#include "api/cors.h"
#include "base/clock.h"
#include "http/errors.h"

namespace ca::api {
namespace {

/// Registers routes on a router; with self-telemetry, each request of a route is recorded
/// (method, route, status, latency) when it is answered.
class Routes {
 public:
  Routes(http::Router* router, services::SelfTelemetry* telemetry)
      : router_(router), telemetry_(telemetry) {}

  void Add(const std::string& method, const std::string& path, http::Handler handler) {
    if (telemetry_ == nullptr) {
      router_->Add(method, path, std::move(handler));
      return;
    }
    router_->Add(method, path,
                 [t = telemetry_, method, path, handler = std::move(handler)](
                     http::Request& request, http::Responder respond) {
                   const int64_t start = MonotonicNanos();
                   handler(request,
                           http::Responder([t, method, path, start, respond](http::Response r) {
                             t->RecordRequest(method, path, r.status,
                                              static_cast<double>(MonotonicNanos() - start) / 1e6);
                             respond(std::move(r));
                           }));
                 });
  }
  /// Not recorded: health checks and CORS preflights would drown the rest.
  void AddUnrecorded(const std::string& method, const std::string& path, http::Handler handler) {
    router_->Add(method, path, std::move(handler));
  }

 private:
  http::Router* const router_;
  services::SelfTelemetry* const telemetry_;
};

// A POST route browsers may call from other origins: it answers CORS preflights too.
void AddBrowserPost(Routes& routes, const std::string& path, http::Handler handler) {
  routes.Add("POST", path, std::move(handler));
  routes.AddUnrecorded("OPTIONS", path, [](http::Request& request, http::Responder respond) {
    respond(PreflightResponse(request));
  });
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
    auto handler = [sdk, as_call](http::Request& request, http::Responder respond) {
      sdk->Handle(SdkFormat::kSegment, as_call, request, std::move(respond));
    };
    AddBrowserPost(routes, std::string("/v1/") + call, handler);
    if (short_path != nullptr) AddBrowserPost(routes, std::string("/v1/") + short_path, handler);
  }
  // PostHog's capture endpoints, with and without the trailing slash.
  for (const char* path : {"/batch", "/capture", "/e", "/i/v0/e", "/track"}) {
    auto handler = [sdk](http::Request& request, http::Responder respond) {
      sdk->Handle(SdkFormat::kPostHog, "", request, std::move(respond));
    };
    AddBrowserPost(routes, path, handler);
    AddBrowserPost(routes, std::string(path) + "/", handler);
  }
}

}  // namespace

void AddRoutes(const RouteContext& context, http::Router* router) {
  Routes routes(router, context.telemetry);
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
  if (context.metrics) {
    routes.AddUnrecorded("GET", "/metrics",
                         [metrics = context.metrics](http::Request&, http::Responder respond) {
                           http::Response r = http::Response::Text(200, metrics());
                           r.content_type = "text/plain; version=0.0.4";
                           respond(std::move(r));
                         });
  }
  AddBrowserPost(routes, "/api/analytics/events",
                 [ingest = context.ingest](http::Request& request, http::Responder respond) {
                   ingest->Handle(request, std::move(respond));
                 });
  if (context.sdk != nullptr) AddSdkRoutes(context.sdk, routes);
  if (context.dead_letters != nullptr) {
    routes.Add("GET", "/analytics/dead-letters",
               [h = context.dead_letters](http::Request& request, http::Responder respond) {
                 h->HandleList(request, std::move(respond));
               });
    routes.Add("POST", "/analytics/dead-letters/replay",
               [h = context.dead_letters](http::Request& request, http::Responder respond) {
                 h->HandleReplay(request, std::move(respond));
               });
  }
  if (context.query == nullptr) return;
  routes.Add("POST", "/analytics/query",
             [query = context.query](http::Request& request, http::Responder respond) {
               query->HandleQuery(request, std::move(respond));
             });
  const std::pair<const char*, services::MetricsPeriod> periods[] = {
      {"day", services::MetricsPeriod::kDay},
      {"week", services::MetricsPeriod::kWeek},
      {"month", services::MetricsPeriod::kMonth},
      {"year", services::MetricsPeriod::kYear}};
  for (const auto& [name, period] : periods) {
    routes.Add(
        "GET", std::string("/analytics/metrics/") + name,
        [query = context.query, period = period](http::Request& request, http::Responder respond) {
          query->HandleMetrics(period, request, std::move(respond));
        });
  }
}

}  // namespace ca::api
