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
