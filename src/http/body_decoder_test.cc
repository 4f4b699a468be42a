#include "http/body_decoder.h"

#include <gtest/gtest.h>

#include "http/test_compress.h"

namespace ca::http {
namespace {

using testing::Compress;
using testing::Wrapper;

constexpr size_t kLimit = 1 << 20;

std::string Sample() {
  std::string s;
  for (int i = 0; i < 5000; ++i) s += "{\"event\":\"page_view\",\"n\":" + std::to_string(i) + "}";
  return s;
}

TEST(BodyDecoderTest, IdentityPassesThrough) {
  std::string out = "stale";
  ASSERT_TRUE(DecodeBody("", "hello", kLimit, &out).ok());
  EXPECT_EQ(out, "hello");
  ASSERT_TRUE(DecodeBody("Identity", "abc", kLimit, &out).ok());
  EXPECT_EQ(out, "abc");
}

TEST(BodyDecoderTest, IdentityOverLimitIsTooLarge) {
  std::string out;
  EXPECT_EQ(DecodeBody("identity", std::string(11, 'x'), 10, &out), ErrorCode::kBodyTooLarge);
  EXPECT_TRUE(out.empty());
}

TEST(BodyDecoderTest, GzipRoundTrip) {
  std::string data = Sample();
  std::string out;
  ASSERT_TRUE(DecodeBody("gzip", Compress(data, Wrapper::kGzip), kLimit, &out).ok());
  EXPECT_EQ(out, data);
  ASSERT_TRUE(DecodeBody(" X-GZIP ", Compress(data, Wrapper::kGzip), kLimit, &out).ok());
  EXPECT_EQ(out, data);
}

TEST(BodyDecoderTest, DeflateZlibAndRawRoundTrip) {
  std::string data = Sample();
  std::string out;
  ASSERT_TRUE(DecodeBody("deflate", Compress(data, Wrapper::kZlib), kLimit, &out).ok());
  EXPECT_EQ(out, data);
  ASSERT_TRUE(DecodeBody("deflate", Compress(data, Wrapper::kRaw), kLimit, &out).ok());
  EXPECT_EQ(out, data);
}

TEST(BodyDecoderTest, ConcatenatedGzipMembers) {
  std::string raw = Compress("first,", Wrapper::kGzip) + Compress("second", Wrapper::kGzip);
  std::string out;
  ASSERT_TRUE(DecodeBody("gzip", raw, kLimit, &out).ok());
  EXPECT_EQ(out, "first,second");
}

TEST(BodyDecoderTest, LayeredEncodingsDecodeLastFirst) {
  std::string data = Sample();
  std::string raw = Compress(Compress(data, Wrapper::kZlib), Wrapper::kGzip);
  std::string out;
  ASSERT_TRUE(DecodeBody("deflate, gzip", raw, kLimit, &out).ok());
  EXPECT_EQ(out, data);
}

TEST(BodyDecoderTest, GzipBombIsCutOffAtLimit) {
  std::string zeros(10 << 20, '\0');
  std::string bomb = Compress(zeros, Wrapper::kGzip);
  ASSERT_LT(bomb.size(), 64u * 1024);
  std::string out;
  Status s = DecodeBody("gzip", bomb, kLimit, &out);
  EXPECT_EQ(s, ErrorCode::kBodyTooLarge);
  EXPECT_LE(out.size(), kLimit);
}

TEST(BodyDecoderTest, OutputExactlyAtLimitIsAccepted) {
  std::string data(4096, 'a');
  std::string out;
  ASSERT_TRUE(DecodeBody("gzip", Compress(data, Wrapper::kGzip), 4096, &out).ok());
  EXPECT_EQ(out.size(), 4096u);
  EXPECT_EQ(DecodeBody("gzip", Compress(data, Wrapper::kGzip), 4095, &out),
            ErrorCode::kBodyTooLarge);
  EXPECT_LE(out.size(), 4095u);
}

TEST(BodyDecoderTest, UnknownEncodingIsUnsupported) {
  std::string out;
  EXPECT_EQ(DecodeBody("br", "xyz", kLimit, &out), ErrorCode::kUnsupportedEncoding);
  EXPECT_EQ(DecodeBody("gzip, compress", "xyz", kLimit, &out), ErrorCode::kUnsupportedEncoding);
}

TEST(BodyDecoderTest, CorruptGzipIsBadRequest) {
  std::string out;
  EXPECT_EQ(DecodeBody("gzip", "definitely not gzip", kLimit, &out), ErrorCode::kBadRequest);
  std::string raw = Compress(Sample(), Wrapper::kGzip);
  raw[raw.size() / 2] = static_cast<char>(raw[raw.size() / 2] ^ 0x55);
  EXPECT_EQ(DecodeBody("gzip", raw, kLimit, &out), ErrorCode::kBadRequest);
  EXPECT_TRUE(out.empty());
}

TEST(BodyDecoderTest, TruncatedGzipIsBadRequest) {
  std::string raw = Compress(Sample(), Wrapper::kGzip);
  std::string out;
  EXPECT_EQ(DecodeBody("gzip", raw.substr(0, raw.size() - 10), kLimit, &out),
            ErrorCode::kBadRequest);
}

TEST(BodyDecoderTest, TrailingGarbageIsBadRequest) {
  std::string raw = Compress("payload", Wrapper::kGzip) + "junk";
  std::string out;
  EXPECT_EQ(DecodeBody("gzip", raw, kLimit, &out), ErrorCode::kBadRequest);
}

TEST(BodyDecoderTest, EmptyCompressedBodyIsEmpty) {
  std::string out = "x";
  ASSERT_TRUE(DecodeBody("gzip", "", kLimit, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(BodyDecoderTest, ContentEncodingTokens) {
  EXPECT_EQ(ContentEncodingTokens(" GZip ,, deflate"),
            (std::vector<std::string>{"gzip", "deflate"}));
  EXPECT_TRUE(ContentEncodingTokens("").empty());
}

}  // namespace
}  // namespace ca::http
