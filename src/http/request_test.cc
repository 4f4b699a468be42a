#include "http/request.h"

#include <gtest/gtest.h>

#include "http/errors.h"
#include "http/router.h"

namespace ca::http {
namespace {

TEST(RequestTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b%2fc+d", false), "a b/c+d");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_FALSE(PercentDecode("bad%2", false).has_value());
  EXPECT_FALSE(PercentDecode("bad%zz", false).has_value());
}

TEST(RequestTest, SplitTarget) {
  std::string path, query;
  ASSERT_TRUE(SplitTarget("/a%20b?x=1&y=2", &path, &query));
  EXPECT_EQ(path, "/a b");
  EXPECT_EQ(query, "x=1&y=2");
  ASSERT_TRUE(SplitTarget("http://example.com/p?q", &path, &query));
  EXPECT_EQ(path, "/p");
  EXPECT_EQ(query, "q");
  ASSERT_TRUE(SplitTarget("http://example.com", &path, &query));
  EXPECT_EQ(path, "/");
  EXPECT_FALSE(SplitTarget("relative", &path, &query));
  EXPECT_FALSE(SplitTarget("/bad%zz", &path, &query));
}

TEST(RequestTest, HeaderAndQueryParam) {
  Request r;
  r.headers = {{"content-type", "application/json"}, {"x-a", "1"}, {"x-a", "2"}};
  r.query = "name=J%C3%BCrgen+M&empty=&flag&name=second";
  EXPECT_EQ(r.Header("x-a"), "1");
  EXPECT_EQ(r.Header("missing"), "");
  EXPECT_EQ(r.QueryParam("name"), "J\xC3\xBCrgen M");
  EXPECT_EQ(r.QueryParam("empty"), "");
  EXPECT_EQ(r.QueryParam("flag"), "");
  EXPECT_EQ(r.QueryParam("absent"), "");
}

TEST(ErrorsTest, StatusMapping) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnauthorized), 401);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kForbidden), 403);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kBodyTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kTooManyEvents), 413);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnsupportedEncoding), 415);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kDiskFull), 503);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kMalformedJson), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kMissingField), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kRouteNotFound), 404);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kMethodNotAllowed), 405);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kCorruption), 500);
}

TEST(ErrorsTest, ErrorResponseBodyAndRetryAfter) {
  Response r = ErrorResponse({ErrorCode::kDiskFull, "no \"space\""});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":{"code":"disk_full","message":"no \"space\""}})");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_TRUE(ErrorResponse({ErrorCode::kBadRequest, "x"}).headers.empty());
}

Response Route(const Router& router, std::string method, std::string path) {
  Request request;
  request.method = std::move(method);
  request.path = std::move(path);
  Response got;
  router.Dispatch(request, Responder([&](Response r) { got = std::move(r); }));
  return got;
}

TEST(RouterTest, DispatchesAndReportsMissingRoutes) {
  Router router;
  router.Add("GET", "/a", [](Request&, Responder respond) { respond(Response::Text(200, "a")); });
  router.Add("POST", "/a", [](Request&, Responder respond) { respond(Response::Text(201, "p")); });
  EXPECT_EQ(Route(router, "GET", "/a").body, "a");
  EXPECT_EQ(Route(router, "POST", "/a").status, 201);
  EXPECT_EQ(Route(router, "HEAD", "/a").status, 200);
  EXPECT_EQ(Route(router, "GET", "/b").status, 404);
  Response r = Route(router, "DELETE", "/a");
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "GET, POST, HEAD");
}

TEST(ResponderTest, FirstCallWinsAndDroppedResponderSends500) {
  std::vector<int> sent;
  {
    Responder responder([&](Response r) { sent.push_back(r.status); });
    Responder copy = responder;
    EXPECT_TRUE(copy.TryRespond(Response::Text(200, "")));
    EXPECT_FALSE(responder.TryRespond(Response::Text(201, "")));
    EXPECT_TRUE(responder.answered());
  }
  {
    Responder dropped([&](Response r) { sent.push_back(r.status); });
  }
  EXPECT_EQ(sent, (std::vector<int>{200, 500}));
}

}  // namespace
}  // namespace ca::http
