#include "store/column_codec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

namespace ca::store {
namespace {

constexpr std::array<Encoding, kEncodingCount> kAllEncodings = {
    Encoding::kPlain, Encoding::kConstant,     Encoding::kFor,           Encoding::kDelta,
    Encoding::kRle,   Encoding::kDictionary,   Encoding::kDiffTimestamp, Encoding::kScaled,
    Encoding::kXor,   Encoding::kPrefixNumber, Encoding::kJsonShred};
constexpr std::array<Compression, kCompressionCount> kAllCompressions = {
    Compression::kNone, Compression::kLz4, Compression::kZstd};

/// Encodes with every applicable (encoding, compression) pair and the automatic choice and hands
/// the decompressed bytes to `check`.
template <typename Check>
void RoundTripAll(const BlockValues& v, Check check) {
  std::vector<std::optional<Encoding>> encodings = {std::nullopt};
  for (Encoding e : kAllEncodings) encodings.push_back(e);
  for (auto e : encodings) {
    for (auto c : {std::optional<Compression>(), std::optional<Compression>(Compression::kNone),
                   std::optional<Compression>(Compression::kLz4),
                   std::optional<Compression>(Compression::kZstd)}) {
      CodecOptions options;
      options.force_encoding = e;
      options.force_compression = c;
      EncodedBlock block;
      Status s = EncodeBlock(v, options, &block);
      if (!s.ok()) {
        EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
        EXPECT_TRUE(e.has_value()) << "automatic choice must always work";
        continue;
      }
      if (e) {
        EXPECT_EQ(block.encoding, *e);
      }
      if (c) {
        EXPECT_EQ(block.compression, *c);
      }
      std::string raw;
      ASSERT_TRUE(Decompress(block.compression, block.data, block.raw_size, &raw).ok());
      check(block.encoding, raw);
    }
  }
}

void RoundTripInt64(const std::vector<int64_t>& values, const std::vector<int64_t>& ts = {}) {
  BlockValues v;
  v.kind = ColumnKind::kInt64;
  v.i64 = values;
  v.timestamps = ts;
  RoundTripAll(v, [&](Encoding e, const std::string& raw) {
    std::vector<int64_t> out = {1, 2, 3};
    Status s = DecodeInt64(e, raw, values.size(), ts, &out);
    ASSERT_TRUE(s.ok()) << EncodingName(e) << ": " << s.ToString();
    EXPECT_EQ(out, values) << EncodingName(e);
  });
}

void RoundTripUInt32(const std::vector<uint32_t>& values) {
  BlockValues v;
  v.kind = ColumnKind::kUInt32;
  v.u32 = values;
  RoundTripAll(v, [&](Encoding e, const std::string& raw) {
    std::vector<uint32_t> out;
    Status s = DecodeUInt32(e, raw, values.size(), &out);
    ASSERT_TRUE(s.ok()) << EncodingName(e) << ": " << s.ToString();
    EXPECT_EQ(out, values) << EncodingName(e);
  });
}

void RoundTripDouble(const std::vector<double>& values) {
  BlockValues v;
  v.kind = ColumnKind::kDouble;
  v.f64 = values;
  RoundTripAll(v, [&](Encoding e, const std::string& raw) {
    std::vector<double> out;
    Status s = DecodeDouble(e, raw, values.size(), &out);
    ASSERT_TRUE(s.ok()) << EncodingName(e) << ": " << s.ToString();
    ASSERT_EQ(out.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::isnan(values[i])) {
        EXPECT_TRUE(std::isnan(out[i])) << EncodingName(e) << " row " << i;
      } else {
        EXPECT_EQ(std::bit_cast<uint64_t>(out[i]), std::bit_cast<uint64_t>(values[i]))
            << EncodingName(e) << " row " << i << " " << values[i];
      }
    }
  });
}

void RoundTripString(const std::vector<std::string>& values) {
  BlockValues v;
  v.kind = ColumnKind::kString;
  v.str = values;
  RoundTripAll(v, [&](Encoding e, const std::string& raw) {
    std::vector<std::string> out(3, "junk");
    Status s = DecodeString(e, raw, values.size(), &out);
    ASSERT_TRUE(s.ok()) << EncodingName(e) << ": " << s.ToString();
    EXPECT_EQ(out, values) << EncodingName(e);
  });
}

TEST(ColumnCodecTest, Int64EdgeCases) {
  RoundTripInt64({});
  RoundTripInt64({42});
  RoundTripInt64({-5, -5, -5});
  RoundTripInt64({std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 0,
                  std::numeric_limits<int64_t>::min()});
  std::mt19937_64 rng(7);
  for (size_t n : {1, 2, 127, 128, 129, 255, 256, 1000, 8192, 8193}) {
    std::vector<int64_t> v(n), ts(n);
    int64_t t = 1735689600000;
    for (size_t i = 0; i < n; ++i) {
      t += (i % 100 == 0) ? -static_cast<int64_t>(rng() % 80000000) : rng() % 60000;
      ts[i] = t;
      v[i] = t + static_cast<int64_t>(rng() % 2000);
    }
    RoundTripInt64(ts);
    RoundTripInt64(v, ts);
    for (auto& x : v) x = static_cast<int64_t>(rng());
    RoundTripInt64(v, ts);
  }
}

TEST(ColumnCodecTest, EveryBitWidthRoundTrips) {
  std::mt19937_64 rng(11);
  for (int width = 1; width <= 64; ++width) {
    std::vector<int64_t> v(300);
    for (auto& x : v) {
      x = static_cast<int64_t>(width == 64 ? rng() : rng() & ((uint64_t{1} << width) - 1));
    }
    v[5] = 0;
    v[6] = width == 64 ? -1 : static_cast<int64_t>((uint64_t{1} << width) - 1);
    BlockValues bv;
    bv.kind = ColumnKind::kInt64;
    bv.i64 = v;
    std::string raw;
    ASSERT_TRUE(EncodeWith(Encoding::kFor, bv, &raw));
    std::vector<int64_t> out;
    ASSERT_TRUE(DecodeInt64(Encoding::kFor, raw, v.size(), {}, &out).ok()) << width;
    EXPECT_EQ(out, v) << "width " << width;
  }
}

TEST(ColumnCodecTest, UInt32EdgeCases) {
  RoundTripUInt32({});
  RoundTripUInt32({0});
  RoundTripUInt32({0xffffffffu, 0, 0xffffffffu});
  std::mt19937 rng(3);
  for (size_t n : {1, 100, 8192, 8193}) {
    std::vector<uint32_t> sorted(n), few(n), wide(n);
    uint32_t u = 1;
    for (size_t i = 0; i < n; ++i) {
      if (rng() % 90 == 0) u += 1 + rng() % 3;
      sorted[i] = u;
      few[i] = 1000000 + (rng() % 7) * 12345;
      wide[i] = rng();
    }
    RoundTripUInt32(sorted);
    RoundTripUInt32(few);
    RoundTripUInt32(wide);
  }
}

TEST(ColumnCodecTest, DoubleEdgeCases) {
  RoundTripDouble({});
  RoundTripDouble({kNoValue});
  RoundTripDouble(std::vector<double>(8193, kNoValue));
  RoundTripDouble({-0.0, 0.0, kNoValue});
  RoundTripDouble({1.5, kNoValue, 120.0, 0.1, 99999.9, -3.25});
  RoundTripDouble({std::numeric_limits<double>::infinity(), 1e300, 5e-324, 1.0 / 3});
  std::mt19937_64 rng(5);
  std::vector<double> v(9000);
  for (auto& x : v) x = rng() % 3 == 0 ? kNoValue : static_cast<double>(rng() % 100000) / 10;
  RoundTripDouble(v);
  for (auto& x : v) x = std::bit_cast<double>(rng() >> 2);
  RoundTripDouble(v);
}

TEST(ColumnCodecTest, StringEdgeCases) {
  RoundTripString({});
  RoundTripString({""});
  RoundTripString({"", "", ""});
  RoundTripString({"demo-42-1", "demo-42-10", "demo-42-0", "demo-42-999999999999999999"});
  RoundTripString({"demo-42-01", "demo-42-1"});  // leading zero: not a prefix number
  RoundTripString({"123", "7", "0"});            // empty prefix
  RoundTripString({"a", "b", std::string(100000, 'x'), std::string("nul\0byte", 8)});
  std::vector<std::string> v;
  for (int i = 0; i < 8193; ++i) {
    v.push_back(i % 3 ? "{\"job_id\":\"job-" + std::to_string(i % 17) + "\"}" : std::string());
  }
  RoundTripString(v);
}

TEST(ColumnCodecTest, ChoosesCompactEncodings) {
  std::vector<uint32_t> users;
  for (uint32_t u = 1; u <= 80; ++u) users.insert(users.end(), 100, u);
  BlockValues v;
  v.kind = ColumnKind::kUInt32;
  v.u32 = users;
  EncodedBlock b;
  ASSERT_TRUE(EncodeBlock(v, {}, &b).ok());
  EXPECT_EQ(b.encoding, Encoding::kRle);
  EXPECT_LT(b.data.size(), 400u);

  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back("demo-42-" + std::to_string(100000 + i * 3));
  BlockValues s;
  s.kind = ColumnKind::kString;
  s.str = ids;
  ASSERT_TRUE(EncodeBlock(s, {}, &b).ok());
  EXPECT_EQ(b.encoding, Encoding::kPrefixNumber);
  EXPECT_LT(b.data.size(), 200u);
}

TEST(ColumnCodecTest, JsonObjectsAlsoTryShreddedJson) {
  std::vector<std::string> props;
  for (int i = 0; i < 2000; ++i) {
    props.push_back(i % 4 == 0 ? "{}"
                               : "{\"job_id\":\"job-" + std::to_string(i % 97) +
                                     "\",\"seconds\":" + std::to_string(i % 13) + "}");
  }
  BlockValues v;
  v.kind = ColumnKind::kString;
  v.str = props;
  EncodedBlock plain_choice, json_choice;
  ASSERT_TRUE(EncodeBlock(v, {}, &plain_choice).ok());
  EXPECT_NE(plain_choice.encoding, Encoding::kJsonShred) << "only tried when hinted";
  v.json_objects = true;
  ASSERT_TRUE(EncodeBlock(v, {}, &json_choice).ok());
  EXPECT_EQ(json_choice.encoding, Encoding::kJsonShred);
  EXPECT_LT(json_choice.data.size(), plain_choice.data.size());
  std::string raw;
  ASSERT_TRUE(
      Decompress(json_choice.compression, json_choice.data, json_choice.raw_size, &raw).ok());
  std::vector<std::string> out;
  ASSERT_TRUE(DecodeString(json_choice.encoding, raw, props.size(), &out).ok());
  EXPECT_EQ(out, props);
  // Strings that are not JSON: the existing encodings win.
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back("demo-42-" + std::to_string(100000 + i));
  v.str = ids;
  ASSERT_TRUE(EncodeBlock(v, {}, &json_choice).ok());
  EXPECT_EQ(json_choice.encoding, Encoding::kPrefixNumber);
}

TEST(ColumnCodecTest, ForcedEncodingThatDoesNotApplyIsInvalidArgument) {
  std::vector<std::string> strs = {"x", "y"};
  BlockValues v;
  v.kind = ColumnKind::kString;
  v.str = strs;
  CodecOptions o;
  o.force_encoding = Encoding::kPrefixNumber;
  EncodedBlock b;
  EXPECT_EQ(EncodeBlock(v, o, &b).code(), ErrorCode::kInvalidArgument);
  o.force_encoding = Encoding::kDelta;
  EXPECT_EQ(EncodeBlock(v, o, &b).code(), ErrorCode::kInvalidArgument);
}

TEST(ColumnCodecTest, GarbageNeverCrashes) {
  std::mt19937_64 rng(99);
  std::vector<int64_t> i64;
  std::vector<uint32_t> u32;
  std::vector<double> f64;
  std::vector<std::string> str;
  std::vector<int64_t> ts(64, 0);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string data(rng() % 64, '\0');
    for (auto& c : data) c = static_cast<char>(rng() % 4 == 0 ? rng() : rng() % 4);
    const auto e = static_cast<Encoding>(rng() % (kEncodingCount + 1));
    const size_t n = rng() % 65;
    DecodeInt64(e, data, n, std::span(ts).first(n), &i64).IgnoreError();
    DecodeUInt32(e, data, n, &u32).IgnoreError();
    DecodeDouble(e, data, n, &f64).IgnoreError();
    DecodeString(e, data, n, &str).IgnoreError();
    std::string raw;
    for (Compression c : kAllCompressions) {
      Decompress(c, data, static_cast<uint32_t>(rng() % 1000), &raw).IgnoreError();
    }
  }
}

TEST(ColumnCodecTest, TruncatedBlocksAreCorruption) {
  std::vector<int64_t> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i * i);
  BlockValues bv;
  bv.kind = ColumnKind::kInt64;
  bv.i64 = v;
  for (Encoding e : {Encoding::kPlain, Encoding::kFor, Encoding::kDelta, Encoding::kRle}) {
    std::string raw;
    ASSERT_TRUE(EncodeWith(e, bv, &raw));
    std::vector<int64_t> out;
    EXPECT_EQ(
        DecodeInt64(e, std::string_view(raw).substr(0, raw.size() - 1), v.size(), {}, &out).code(),
        ErrorCode::kCorruption)
        << EncodingName(e);
    EXPECT_EQ(DecodeInt64(e, raw + "x", v.size(), {}, &out).code(), ErrorCode::kCorruption)
        << EncodingName(e);
  }
}

/// Not a benchmark with a bound (the machine is shared): prints the decode rate of a bit-packed
/// delta column, as a guard against accidental per-value overhead.
TEST(ColumnCodecTest, DecodeThroughput) {
  std::vector<uint32_t> v(8192);
  std::mt19937 rng(1);
  for (auto& x : v) x = rng() % 5000;
  BlockValues bv;
  bv.kind = ColumnKind::kUInt32;
  bv.u32 = v;
  std::string raw;
  ASSERT_TRUE(EncodeWith(Encoding::kFor, bv, &raw));
  std::vector<uint32_t> out;
  const auto start = std::chrono::steady_clock::now();
  constexpr int kIters = 200;
  for (int i = 0; i < kIters; ++i) {
    ASSERT_TRUE(DecodeUInt32(Encoding::kFor, raw, v.size(), &out).ok());
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("for-bitpacked uint32 decode: %.0f M values/s\n", kIters * v.size() / secs / 1e6);
  EXPECT_EQ(out, v);
}

}  // namespace
}  // namespace ca::store
