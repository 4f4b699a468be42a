#include "api/routes.h"

#include "api/cors.h"
#include "http/errors.h"

namespace ca::api {
namespace {

// A POST route browsers may call from other origins: it answers CORS preflights too.
void AddBrowserPost(http::Router* router, const std::string& path, http::Handler handler) {
  router->Add("POST", path, std::move(handler));
  router->Add("OPTIONS", path, [](http::Request& request, http::Responder respond) {
    respond(PreflightResponse(request));
  });
}

// docs/api/sdk-compat.md lists these paths.
void AddSdkRoutes(SdkHandler* sdk, http::Router* router) {
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
    AddBrowserPost(router, std::string("/v1/") + call, handler);
    if (short_path != nullptr) AddBrowserPost(router, std::string("/v1/") + short_path, handler);
  }
  // PostHog's capture endpoints, with and without the trailing slash.
  for (const char* path : {"/batch", "/capture", "/e", "/i/v0/e", "/track"}) {
    auto handler = [sdk](http::Request& request, http::Responder respond) {
      sdk->Handle(SdkFormat::kPostHog, "", request, std::move(respond));
    };
    AddBrowserPost(router, path, handler);
    AddBrowserPost(router, std::string(path) + "/", handler);
  }
}

}  // namespace

void AddRoutes(const RouteContext& context, http::Router* router) {
  router->Add("GET", "/healthz", [](http::Request&, http::Responder respond) {
    respond(http::Response::Json(200, R"({"status":"ok"})"));
  });
  router->Add("GET", "/readyz", [ready = context.ready](http::Request&, http::Responder respond) {
    if (ready && !ready()) {
      respond(http::ErrorResponse(
          Status(ErrorCode::kUnavailable, "write-ahead log cannot take writes")));
      return;
    }
    respond(http::Response::Json(200, R"({"status":"ready"})"));
  });
  AddBrowserPost(router, "/api/analytics/events",
                 [ingest = context.ingest](http::Request& request, http::Responder respond) {
                   ingest->Handle(request, std::move(respond));
                 });
  if (context.sdk != nullptr) AddSdkRoutes(context.sdk, router);
  if (context.dead_letters != nullptr) {
    router->Add("GET", "/analytics/dead-letters",
                [h = context.dead_letters](http::Request& request, http::Responder respond) {
                  h->HandleList(request, std::move(respond));
                });
    router->Add("POST", "/analytics/dead-letters/replay",
                [h = context.dead_letters](http::Request& request, http::Responder respond) {
                  h->HandleReplay(request, std::move(respond));
                });
  }
  if (context.query == nullptr) return;
  router->Add("POST", "/analytics/query",
              [query = context.query](http::Request& request, http::Responder respond) {
                query->HandleQuery(request, std::move(respond));
              });
  const std::pair<const char*, services::MetricsPeriod> periods[] = {
      {"day", services::MetricsPeriod::kDay},
      {"week", services::MetricsPeriod::kWeek},
      {"month", services::MetricsPeriod::kMonth},
      {"year", services::MetricsPeriod::kYear}};
  for (const auto& [name, period] : periods) {
    router->Add(
        "GET", std::string("/analytics/metrics/") + name,
        [query = context.query, period = period](http::Request& request, http::Responder respond) {
          query->HandleMetrics(period, request, std::move(respond));
        });
  }
}

}  // namespace ca::api
