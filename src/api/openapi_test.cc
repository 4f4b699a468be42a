#include "api/openapi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "api/routes.h"

namespace ca::api {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Every (method, path) the server registers, but CORS preflights (OPTIONS), which answer for the
// POST route of the same path.
std::set<std::pair<std::string, std::string>> RegisteredRoutes() {
  http::Router router;
  AddRoutes(RouteContext{}, &router);  // every route is registered, with or without its parts
  std::set<std::pair<std::string, std::string>> routes;
  for (auto& [method, path] : router.Routes()) {
    if (method != "OPTIONS") routes.emplace(Lower(method), path);
  }
  return routes;
}

TEST(OpenApiTest, TheDocumentIsOpenApi31) {
  const auto doc = nlohmann::json::parse(OpenApiDocument(), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << "docs/api/openapi.json is not valid JSON";
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_TRUE(doc["info"].contains("title"));
  EXPECT_TRUE(doc["info"].contains("version"));
}

TEST(OpenApiTest, EveryRouteIsDescribedAndNothingElse) {
  const auto doc = nlohmann::json::parse(OpenApiDocument());
  std::set<std::pair<std::string, std::string>> described;
  for (const auto& [path, operations] : doc["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) described.emplace(method, path);
  }
  const auto registered = RegisteredRoutes();
  ASSERT_GT(registered.size(), 30u);
  for (const auto& route : registered) {
    EXPECT_TRUE(described.count(route)) << route.first << " " << route.second
                                        << " is served but missing from docs/api/openapi.json";
  }
  for (const auto& route : described) {
    EXPECT_TRUE(registered.count(route))
        << route.first << " " << route.second << " is in docs/api/openapi.json but not served";
  }
}

TEST(OpenApiTest, EveryOperationSaysWhoMayCallIt) {
  const auto doc = nlohmann::json::parse(OpenApiDocument());
  const std::set<std::string> kinds = {"public", "write", "tenant", "user", "reader"};
  for (const auto& [path, operations] : doc["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      ASSERT_TRUE(operation.contains("x-auth")) << method << " " << path;
      EXPECT_TRUE(kinds.count(operation["x-auth"].get<std::string>())) << method << " " << path;
      EXPECT_TRUE(operation.contains("responses")) << method << " " << path;
      // Path parameters are declared.
      for (size_t open = path.find('{'); open != std::string::npos;
           open = path.find('{', open + 1)) {
        const std::string name = path.substr(open + 1, path.find('}', open) - open - 1);
        bool declared = false;
        for (const auto& parameter : operation.value("parameters", nlohmann::json::array())) {
          declared |= parameter["in"] == "path" && parameter["name"] == name;
        }
        EXPECT_TRUE(declared) << method << " " << path << ": {" << name << "} not declared";
      }
    }
  }
}

}  // namespace
}  // namespace ca::api
