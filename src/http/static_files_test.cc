#include "http/static_files.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ca::http {
namespace {

namespace fs = std::filesystem;

std::string Gunzip(const std::string& in) {
  z_stream zs{};
  inflateInit2(&zs, 16 + MAX_WBITS);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

std::string HeaderOf(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("static_files_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "assets");
    Write("index.html",
          "<!doctype html><title>x</title><script src=\"assets/app-ABCD1234.js\"></script>");
    Write("assets/app-ABCD1234.js", std::string(4000, 'a'));
    Write("tracker.js", "console.log(1)");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& body) {
    std::ofstream(dir_ / name, std::ios::binary) << body;
  }
  fs::path dir_;
};

TEST_F(StaticFilesTest, ServesHtmlWithAStrictPolicyAndRevalidation) {
  auto files = StaticFiles::Load(dir_.string());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ((*files)->size(), 3u);
  Request request;
  const Response r = (*files)->Serve(request, "index.html");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
  const std::string csp = HeaderOf(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(r.body.substr(0, 15), "<!doctype html>");
}

TEST_F(StaticFilesTest, HashedNamesAreImmutableOthersAreNot) {
  auto files = StaticFiles::Load(dir_.string());
  ASSERT_TRUE(files.ok());
  Request request;
  EXPECT_EQ(HeaderOf((*files)->Serve(request, "assets/app-ABCD1234.js"), "Cache-Control"),
            "public, max-age=31536000, immutable");
  const Response tracker = (*files)->Serve(request, "tracker.js");
  EXPECT_EQ(HeaderOf(tracker, "Cache-Control"), "no-cache");
  EXPECT_EQ(tracker.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(HeaderOf(tracker, "Content-Security-Policy"), "");
}

TEST_F(StaticFilesTest, GzipOnlyWhenAcceptedAndSmaller) {
  auto files = StaticFiles::Load(dir_.string());
  ASSERT_TRUE(files.ok());
  Request request;
  Response plain = (*files)->Serve(request, "assets/app-ABCD1234.js");
  EXPECT_EQ(HeaderOf(plain, "Content-Encoding"), "");
  EXPECT_EQ(plain.body, std::string(4000, 'a'));
  EXPECT_EQ(HeaderOf(plain, "Vary"), "Accept-Encoding");

  request.headers.emplace_back("accept-encoding", "br, gzip;q=0.8");
  Response gz = (*files)->Serve(request, "assets/app-ABCD1234.js");
  EXPECT_EQ(HeaderOf(gz, "Content-Encoding"), "gzip");
  EXPECT_LT(gz.body.size(), 200u);
  EXPECT_EQ(Gunzip(gz.body), std::string(4000, 'a'));

  Request refused;
  refused.headers.emplace_back("accept-encoding", "gzip;q=0, identity");
  EXPECT_EQ(HeaderOf((*files)->Serve(refused, "assets/app-ABCD1234.js"), "Content-Encoding"), "");

  // Too small to be worth compressing: sent as is even when gzip is accepted.
  EXPECT_EQ(HeaderOf((*files)->Serve(request, "tracker.js"), "Content-Encoding"), "");
}

TEST_F(StaticFilesTest, MatchingEtagAnswers304) {
  auto files = StaticFiles::Load(dir_.string());
  ASSERT_TRUE(files.ok());
  Request request;
  const std::string etag = HeaderOf((*files)->Serve(request, "index.html"), "ETag");
  ASSERT_FALSE(etag.empty());
  request.headers.emplace_back("if-none-match", "\"other\", W/" + etag);
  const Response r = (*files)->Serve(request, "index.html");
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(StaticFilesTest, UnknownNamesAndTraversalAre404) {
  auto files = StaticFiles::Load(dir_.string());
  ASSERT_TRUE(files.ok());
  Request request;
  EXPECT_EQ((*files)->Serve(request, "nope.js").status, 404);
  EXPECT_EQ((*files)->Serve(request, "../static_files_test.cc").status, 404);
  EXPECT_EQ((*files)->Serve(request, "/etc/passwd").status, 404);
}

TEST(StaticFilesLoad, AMissingDirectoryIsNotFound) {
  auto files = StaticFiles::Load("/nonexistent/web");
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace ca::http
