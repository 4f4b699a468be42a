#include "store/json_shred.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "store/column_codec.h"

namespace ca::store {
namespace {

std::string Encode(const std::vector<std::string>& values, JsonShredStats* stats = nullptr) {
  std::string out;
  EncodeJsonShred(values, &out, stats);
  return out;
}

/// Encodes, decodes and checks the values come back byte for byte; returns the stats.
JsonShredStats RoundTrip(const std::vector<std::string>& values) {
  JsonShredStats stats;
  const std::string bytes = Encode(values, &stats);
  std::vector<std::string> out(2, "junk");
  Status s = DecodeJsonShred(bytes, values.size(), &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.size(), values.size());
  for (size_t i = 0; i < values.size() && i < out.size(); ++i) {
    EXPECT_EQ(out[i], values[i]) << "row " << i;
  }
  EXPECT_EQ(stats.shredded_rows + stats.raw_rows, values.size());
  return stats;
}

const std::vector<std::string>& ShreddableExamples() {
  static const std::vector<std::string> kExamples = {
      "{}",
      R"({"a":1})",
      R"({"job_id":"job-00042","source":"search"})",
      R"({"application_id":"app-42-17","job_id":"job-00042","status":"applied","previous_status":""})",
      R"j({"library":{"name":"copilot-web","version":"2.4.1"},"user_agent":"Mozilla/5.0 (X11)","locale":"en-US","page":{"url":"https://x.example/jobs/job-00042","path":"/jobs/job-00042","referrer":"","title":"Jobs"}})j",
      R"({"a":{}})",
      R"({"a":{"b":{}},"c":{}})",
      R"({"a":[],"b":[1,2,[3,{"x":"]"}]],"c":[{"d":null}]})",
      R"({"s":"quote \" backslash \\ slash \/ \b\f\n\r\t \u00e9\uD83D\uDE00"})",
      "{\"utf8\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac\"}",
      R"({"n":0,"m":-0,"f":-12.50,"e":1e5,"E":1E+5,"g":0.5e-3,"big":123456789012345678901234567890})",
      R"({"t":true,"f":false,"n":null})",
      R"({"a":1,"a":2,"a":{"a":3}})",
      R"({"":"","\"":"\u0000"})",
      R"({"k\u00e9y":"v","k\\ey":"w"})",
  };
  return kExamples;
}

const std::vector<std::string>& UnshreddableExamples() {
  static const std::vector<std::string> kExamples = {
      "",
      "x",
      "[1,2]",
      "\"str\"",
      "42",
      R"({"a": 1})",
      R"( {"a":1})",
      R"({"a":1} )",
      "{\n}",
      R"({"a":1}x)",
      R"({"a":1}{})",
      R"({"a":1,})",
      R"({"a"})",
      R"({"a":})",
      R"({a:1})",
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":.5})",
      R"({"a":1e})",
      R"({"a":+1})",
      R"({"a":tru})",
      R"({"a":nulls})",
      R"({"a":"\q"})",
      R"({"a":"\u12G4"})",
      "{\"a\":\"ctl\x01\"}",
      R"({"a":"unterminated)",
      R"({"a":[1,2})",
      R"({"a":[1, 2]})",
      R"({"a":{"b":1})",
      "{",
      "{\"a\":\"\\",
      std::string("{\"a\":\"nul\0\"}", 12),
  };
  return kExamples;
}

TEST(JsonShredTest, ShreddableExamplesRoundTrip) {
  for (const auto& v : ShreddableExamples()) {
    EXPECT_TRUE(IsShreddableJson(v)) << v;
    const JsonShredStats stats = RoundTrip({v});
    EXPECT_EQ(stats.shredded_rows, 1u) << v;
  }
  const JsonShredStats stats = RoundTrip(ShreddableExamples());
  EXPECT_EQ(stats.raw_rows, 0u);
  EXPECT_EQ(stats.shapes, ShreddableExamples().size());
}

TEST(JsonShredTest, UnshreddableRowsAreStoredRaw) {
  for (const auto& v : UnshreddableExamples()) {
    EXPECT_FALSE(IsShreddableJson(v)) << v;
    const JsonShredStats stats = RoundTrip({v});
    EXPECT_EQ(stats.raw_rows, 1u) << v;
  }
  std::vector<std::string> mixed;
  for (size_t i = 0; i < 40; ++i) {
    const auto& good = ShreddableExamples();
    const auto& bad = UnshreddableExamples();
    mixed.push_back(i % 3 == 0 ? bad[i % bad.size()] : good[i % good.size()]);
  }
  const JsonShredStats stats = RoundTrip(mixed);
  EXPECT_EQ(stats.raw_rows, 14u);
  EXPECT_EQ(stats.shredded_rows, 26u);
}

TEST(JsonShredTest, CountersUsePrefixNumberSubColumns) {
  std::vector<std::string> values;
  for (int i = 0; i < 500; ++i) {
    values.push_back("{\"seq\":" + std::to_string(1000 + i * 7) + ",\"id\":\"e" +
                     std::to_string(i) + "\"}");
  }
  RoundTrip(values);
  std::string prefix_coded, all_plain;
  EncodeJsonShred(values, &prefix_coded);
  // The same rows with a leading zero in one number: prefix_number no longer applies to "seq".
  values[250] = R"({"seq":0999,"id":"e250"})";
  EXPECT_FALSE(IsShreddableJson(values[250]));
  values[250] = R"({"seq":-1,"id":"e250"})";
  RoundTrip(values);
  EncodeJsonShred(values, &all_plain);
  EXPECT_LT(prefix_coded.size() + 500, all_plain.size());
}

TEST(JsonShredTest, EmptyAndSingleRowBlocks) {
  RoundTrip({});
  RoundTrip({""});
  RoundTrip({"{}"});
  RoundTrip(std::vector<std::string>(8192, R"({"a":"b"})"));
}

TEST(JsonShredTest, DeepNesting) {
  std::string ok, deep;
  for (size_t i = 0; i < kMaxJsonDepth; ++i) ok += "{\"a\":";
  ok += "1";
  for (size_t i = 0; i < kMaxJsonDepth; ++i) ok += "}";
  deep = "{\"b\":" + ok + "}";
  EXPECT_EQ(RoundTrip({ok}).shredded_rows, 1u);
  EXPECT_EQ(RoundTrip({deep}).raw_rows, 1u);
  std::string deep_array =
      "{\"a\":" + std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']') + "}";
  EXPECT_EQ(RoundTrip({deep_array}).raw_rows, 1u);
}

TEST(JsonShredTest, VeryLongStrings) {
  const std::string big(1 << 20, 'x');
  RoundTrip({"{\"a\":\"" + big + "\"}", "{\"a\":\"" + big + "y\"}", big, "{\"" + big + "\":1}"});
}

TEST(JsonShredTest, TooManyValuesInOneSubColumnFallsBackToRaw) {
  std::string many = "{";
  for (size_t i = 0; i < 40000; ++i) many += i == 0 ? "\"a\":1" : ",\"a\":1";
  many += "}";
  const JsonShredStats stats = RoundTrip({many, many, R"({"a":2})"});
  EXPECT_EQ(stats.shredded_rows, 2u);  // the first and the last
  EXPECT_EQ(stats.raw_rows, 1u);
}

/// Random JSON objects: keys from a small pool (so paths repeat), nested objects, arrays, every
/// kind of leaf.
class RandomJson {
 public:
  explicit RandomJson(uint64_t seed) : rng_(seed) {}

  std::string Object(int depth = 0) {
    std::string s = "{";
    const int keys = static_cast<int>(rng_() % (depth == 0 ? 6 : 4));
    for (int i = 0; i < keys; ++i) {
      if (i > 0) s += ',';
      s += String(true);
      s += ':';
      s += depth < 4 && rng_() % 4 == 0 ? Object(depth + 1) : Leaf(depth);
    }
    return s + "}";
  }

 private:
  std::string String(bool key) {
    static const char* kKeys[] = {"a",    "name", "job_id", "k\\\"q", "", "\\u00e9t\\u00e9",
                                  "page", "x"};
    if (key) return std::string("\"") + kKeys[rng_() % 8] + "\"";
    std::string s = "\"";
    const int len = static_cast<int>(rng_() % 12);
    for (int i = 0; i < len; ++i) {
      switch (rng_() % 10) {
        case 0:
          s += "\\n";
          break;
        case 1:
          s += "\\\"";
          break;
        case 2:
          s += "\\u20AC";
          break;
        case 3:
          s += "\xc3\xa9";
          break;
        case 4:
          s += "\xf0\x9f\x98\x80";
          break;
        default:
          s += static_cast<char>('a' + rng_() % 26);
      }
    }
    return s + "\"";
  }
  std::string Number() {
    static const char* kNumbers[] = {
        "0", "-0", "7", "-12", "3.25", "1e10", "-2.5E-3", "6.02e+23", "123456789012345678901234"};
    if (rng_() % 2) return std::to_string(static_cast<int64_t>(rng_() % 100000) - 500);
    return kNumbers[rng_() % 9];
  }
  std::string Leaf(int depth) {
    switch (rng_() % 8) {
      case 0:
        return Number();
      case 1:
        return rng_() % 2 ? "true" : "false";
      case 2:
        return "null";
      case 3: {
        std::string a = "[";
        const int n = static_cast<int>(rng_() % 4);
        for (int i = 0; i < n; ++i) {
          if (i > 0) a += ',';
          a += rng_() % 3 == 0 && depth < 3 ? Object(depth + 1) : Leaf(depth + 1);
        }
        return a + "]";
      }
      default:
        return String(false);
    }
  }

  std::mt19937_64 rng_;
};

TEST(JsonShredTest, RandomObjectsRoundTrip) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    RandomJson gen(seed);
    std::mt19937_64 rng(seed);
    const size_t n = seed == 1 ? 8192 : rng() % 600;
    std::vector<std::string> values;
    size_t invalid = 0;
    for (size_t i = 0; i < n; ++i) {
      std::string v = gen.Object();
      ASSERT_TRUE(IsShreddableJson(v)) << v;
      if (seed % 3 == 0 && rng() % 7 == 0) {
        // Damage it: a space, a cut, or a trailing byte.
        switch (rng() % 3) {
          case 0:
            v.insert(v.size() - 1, " ");
            break;
          case 1:
            v.resize(v.size() - 1);
            break;
          default:
            v += "}";
        }
        ++invalid;
      }
      values.push_back(std::move(v));
    }
    SCOPED_TRACE(seed);
    const JsonShredStats stats = RoundTrip(values);
    EXPECT_EQ(stats.raw_rows, invalid);
  }
}

TEST(JsonShredTest, ThroughEncodeBlockWithEveryCompression) {
  RandomJson gen(77);
  std::vector<std::string> values;
  for (int i = 0; i < 3000; ++i) values.push_back(i % 50 == 0 ? "not json" : gen.Object());
  BlockValues v;
  v.kind = ColumnKind::kString;
  v.str = values;
  for (auto c : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    CodecOptions options;
    options.force_encoding = Encoding::kJsonShred;
    options.force_compression = c;
    EncodedBlock block;
    ASSERT_TRUE(EncodeBlock(v, options, &block).ok());
    EXPECT_EQ(block.encoding, Encoding::kJsonShred);
    std::string raw;
    ASSERT_TRUE(Decompress(block.compression, block.data, block.raw_size, &raw).ok());
    std::vector<std::string> out;
    ASSERT_TRUE(DecodeString(Encoding::kJsonShred, raw, values.size(), &out).ok());
    EXPECT_EQ(out, values);
  }
}

/// Rows like the demo's context column: few user agents and locales, per-page fields.
std::vector<std::string> ContextLike(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const char* agents[] = {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0",
                          "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Version/17.1 Safari",
                          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile"};
  const char* locales[] = {"en-US", "en-GB", "de-DE", "nl-NL"};
  std::vector<std::string> out;
  std::string agent, locale, path = "/dashboard", previous = "";
  for (size_t i = 0; i < n; ++i) {
    if (i % 90 == 0) {
      agent = agents[rng() % 3];
      locale = locales[rng() % 4];
    }
    std::string v = R"({"library":{"name":"tracker.js","version":"1.4.2"},"user_agent":")" + agent +
                    R"(","locale":")" + locale + "\"";
    if (rng() % 3 == 0) {
      char job[16];
      std::snprintf(job, sizeof(job), "%05u", static_cast<unsigned>(rng() % 500));
      previous = "https://app.example" + path;
      path = std::string("/jobs/job-") + job;
      v += R"(,"page":{"url":"https://app.example)" + path + R"(","path":")" + path +
           R"(","referrer":")" + previous + R"(","title":"Engineer at Co )" + job + "\"}}";
    } else {
      v += R"(,"page":{"path":")" + path + "\"}}";
    }
    out.push_back(std::move(v));
  }
  return out;
}

TEST(JsonShredTest, HalvesRealisticContextBlocks) {
  const std::vector<std::string> values = ContextLike(8192, 5);
  BlockValues v;
  v.kind = ColumnKind::kString;
  v.str = values;
  EncodedBlock existing, shredded;
  ASSERT_TRUE(EncodeBlock(v, {}, &existing).ok());
  v.json_objects = true;
  ASSERT_TRUE(EncodeBlock(v, {}, &shredded).ok());
  EXPECT_EQ(shredded.encoding, Encoding::kJsonShred);
  std::printf("context-like block of %zu rows: best existing %s %zu bytes, json_shred %zu bytes\n",
              values.size(), std::string(EncodingName(existing.encoding)).c_str(),
              existing.data.size(), shredded.data.size());
  EXPECT_LE(shredded.data.size() * 2, existing.data.size());
}

TEST(JsonShredTest, DamageIsCorruptionOrHarmless) {
  std::vector<std::string> values = ContextLike(60, 9);
  values[7] = "raw row";
  values[8] = "";
  values[9] = R"({"seconds":15,"path":"/jobs"})";
  const std::string good = Encode(values);
  std::vector<std::string> out;
  ASSERT_TRUE(DecodeJsonShred(good, values.size(), &out).ok());
  for (size_t len = 0; len < good.size(); ++len) {
    ASSERT_EQ(DecodeJsonShred(good.substr(0, len), values.size(), &out).code(),
              ErrorCode::kCorruption)
        << len;
  }
  EXPECT_EQ(DecodeJsonShred(good + "x", values.size(), &out).code(), ErrorCode::kCorruption);
  EXPECT_EQ(DecodeJsonShred(good, values.size() + 1, &out).code(), ErrorCode::kCorruption);
  EXPECT_EQ(DecodeJsonShred(good, values.size() - 1, &out).code(), ErrorCode::kCorruption);
  EXPECT_EQ(DecodeJsonShred(good, kMaxBlockRows + 1, &out).code(), ErrorCode::kCorruption);
  // A flipped byte either breaks the structure (corruption) or changes some text; never a crash.
  size_t corrupt = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      Status s = DecodeJsonShred(bad, values.size(), &out);
      if (!s.ok()) {
        ASSERT_EQ(s.code(), ErrorCode::kCorruption);
        ++corrupt;
      } else {
        ASSERT_EQ(out.size(), values.size());
      }
    }
  }
  EXPECT_GT(corrupt, 0u);
}

TEST(JsonShredTest, GarbageNeverCrashes) {
  std::mt19937_64 rng(123);
  const std::string good = Encode(ContextLike(50, 1));
  std::vector<std::string> out;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string data;
    if (iter % 2 == 0) {
      data.assign(rng() % 80, '\0');
      for (auto& c : data) c = static_cast<char>(rng() % 4 == 0 ? rng() : rng() % 6);
    } else {
      data = good;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips; ++f) data[rng() % data.size()] = static_cast<char>(rng());
    }
    const size_t n = iter % 2 == 0 ? rng() % 70 : 50;
    Status s = DecodeJsonShred(data, n, &out);
    if (!s.ok()) {
      ASSERT_EQ(s.code(), ErrorCode::kCorruption);
    } else {
      ASSERT_EQ(out.size(), n);
    }
  }
}

/// Not a benchmark with a bound (the machine is shared): prints the decode rate.
TEST(JsonShredTest, DecodeThroughput) {
  const std::vector<std::string> values = ContextLike(8192, 3);
  size_t bytes = 0;
  for (const auto& v : values) bytes += v.size();
  const std::string encoded = Encode(values);
  std::vector<std::string> out;
  constexpr int kIters = 20;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kIters; ++i) ASSERT_TRUE(DecodeJsonShred(encoded, values.size(), &out).ok());
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("json_shred decode: %.0f MB/s of JSON (%zu bytes encoded from %zu)\n",
              kIters * bytes / secs / 1e6, encoded.size(), bytes);
  EXPECT_EQ(out, values);
}

}  // namespace
}  // namespace ca::store
