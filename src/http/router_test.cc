#include "http/router.h"

#include <gtest/gtest.h>

#include <string>

namespace ca::http {
namespace {

// Dispatches `method path` and returns "status body-or-handler-name".
std::string Call(const Router& router, const std::string& method, const std::string& path,
                 Request* seen = nullptr) {
  Request request;
  request.method = method;
  request.path = path;
  std::string out;
  router.Dispatch(request,
                  Responder([&](Response r) { out = std::to_string(r.status) + " " + r.body; }));
  if (seen != nullptr) *seen = request;
  return out;
}

// The same for a request target as it comes off the wire (split and decoded like the server does).
std::string CallTarget(const Router& router, const std::string& method, const std::string& target) {
  Request request;
  request.method = method;
  request.target = target;
  EXPECT_TRUE(SplitTarget(target, &request.path, &request.query, &request.raw_path)) << target;
  std::string out;
  router.Dispatch(request,
                  Responder([&](Response r) { out = std::to_string(r.status) + " " + r.body; }));
  return out;
}

Handler Named(std::string name) {
  return [name](Request& request, Responder respond) {
    std::string params;
    for (const auto& [k, v] : request.path_params) params += " " + k + "=" + v;
    respond(Response::Text(200, name + params));
  };
}

TEST(RouterTest, PatternsMatchOneSegmentPerParameter) {
  Router router;
  router.Add("GET", "/analytics/exports/{id}", Named("export"));
  router.Add("GET", "/analytics/users/{id}/export", Named("user-export"));
  router.Add("DELETE", "/analytics/users/{id}", Named("user-delete"));
  router.Add("GET", "/analytics/exports/latest", Named("exact"));
  EXPECT_EQ(Call(router, "GET", "/analytics/exports/x1"), "200 export id=x1");
  EXPECT_EQ(Call(router, "GET", "/analytics/exports/latest"), "200 exact");
  EXPECT_EQ(Call(router, "GET", "/analytics/users/u%2F1/export"), "200 user-export id=u%2F1");
  EXPECT_EQ(Call(router, "DELETE", "/analytics/users/u 1"), "200 user-delete id=u 1");
  EXPECT_EQ(Call(router, "GET", "/analytics/users/u1").substr(0, 3), "405");
  EXPECT_EQ(Call(router, "GET", "/analytics/exports/").substr(0, 3), "404");
  EXPECT_EQ(Call(router, "GET", "/analytics/exports/a/b").substr(0, 3), "404");
  EXPECT_EQ(Call(router, "GET", "/analytics/users//export").substr(0, 3), "404");
  Request seen;
  Call(router, "GET", "/analytics/users/u7/export", &seen);
  EXPECT_EQ(seen.PathParam("id"), "u7");
  EXPECT_EQ(seen.PathParam("nope"), "");
}

// A user id may hold a '/': sent as "%2F", it stays inside its segment (RFC 3986), so the person's
// export and deletion routes reach it.
TEST(RouterTest, AnEncodedSlashStaysInsideItsSegment) {
  Router router;
  router.Add("GET", "/analytics/users/{id}/export", Named("user-export"));
  router.Add("DELETE", "/analytics/users/{id}", Named("user-delete"));
  EXPECT_EQ(CallTarget(router, "GET", "/analytics/users/org%2F42/export"),
            "200 user-export id=org/42");
  EXPECT_EQ(CallTarget(router, "DELETE", "/analytics/users/a%2Fb%2Fc?tenant=acme"),
            "200 user-delete id=a/b/c");
  EXPECT_EQ(CallTarget(router, "DELETE", "/analytics/users/%61%20b%25"), "200 user-delete id=a b%");
  EXPECT_EQ(CallTarget(router, "GET", "/analytics/%75sers/u1/export"), "200 user-export id=u1");
  // Not a separator in the route's own segments either.
  EXPECT_EQ(CallTarget(router, "GET", "/analytics%2Fusers/u1/export").substr(0, 3), "404");
  // A plain '/' still separates: one segment too many.
  EXPECT_EQ(CallTarget(router, "DELETE", "/analytics/users/a/b").substr(0, 3), "404");
}

TEST(RouterTest, RoutesListsExactPathsAndPatterns) {
  Router router;
  router.Add("POST", "/b", Named("b"));
  router.Add("GET", "/a/{x}", Named("a"));
  router.Add("GET", "/b", Named("b"));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"GET", "/a/{x}"}, {"GET", "/b"}, {"POST", "/b"}};
  EXPECT_EQ(router.Routes(), expected);
}

}  // namespace
}  // namespace ca::http
