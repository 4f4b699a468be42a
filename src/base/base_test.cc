#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "base/crc32c.h"
#include "base/random.h"
#include "base/result.h"
#include "base/utf8.h"

namespace ca {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 B.4 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros), 0x8a9136aau);
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::Value(ones), 0x62a8ab43u);
  std::string inc;
  for (int i = 0; i < 32; ++i) inc += static_cast<char>(i);
  EXPECT_EQ(crc32c::Value(inc), 0x46dd794eu);
  EXPECT_EQ(crc32c::Value("123456789"), 0xe3069283u);
}

TEST(Crc32c, ExtendComposes) {
  std::string s = "hello, write-ahead log with some more bytes";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t a = crc32c::Value(s.data(), cut);
    EXPECT_EQ(crc32c::Extend(a, s.data() + cut, s.size() - cut), crc32c::Value(s));
  }
}

TEST(Crc32c, EqualsTheBytewiseReferenceAtEveryLengthAndAlignment) {
  // The hardware path runs three lanes over blocks of 3 x 1024 and 3 x 128 bytes, then 8 bytes
  // and single bytes: every length around those boundaries, from every alignment and start.
  std::mt19937_64 random(42);
  std::string buffer(3 * 1024 * 3 + 64, '\0');
  for (char& c : buffer) c = static_cast<char>(random());
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 1200; ++n) lengths.push_back(n);
  for (size_t block : {3 * 128, 3 * 1024, 2 * 3 * 1024, 3 * 1024 + 3 * 128}) {
    for (size_t n = block - 9; n <= block + 9; ++n) lengths.push_back(n);
  }
  for (size_t n : lengths) {
    for (size_t offset = 0; offset<8; offset += n> 1200 ? 1 : 3) {
      const uint32_t start = static_cast<uint32_t>(random());
      ASSERT_EQ(crc32c::Extend(start, buffer.data() + offset, n),
                crc32c::ExtendBytewise(start, buffer.data() + offset, n))
          << "length " << n << ", offset " << offset;
    }
  }
}

TEST(Status, CarriesCodeAndMessage) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  Status s(ErrorCode::kDiskFull, "no space");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kDiskFull);
  EXPECT_EQ(s.ToString(), "disk_full: no space");
  EXPECT_EQ(s.WithContext("wal").message(), "wal: no space");
}

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  CA_ASSIGN_OR_RETURN(*out, Half(x));
  return Status::Ok();
}

TEST(Result, ValueOrStatus) {
  int out = 0;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(UseHalf(3, &out).code(), ErrorCode::kInvalidArgument);
}

TEST(Random, KeysAreDistinctAndLongEnough) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(RandomBase64Url(18));
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(RandomBase64Url(18).size(), 24u);
  EXPECT_EQ(RandomHex(16).size(), 32u);
  std::string u = RandomUuid();
  EXPECT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
}

}  // namespace
}  // namespace ca

namespace ca {
namespace {

TEST(Utf8Test, IsValidUtf8RejectsMalformedSequences) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("Z\xC3\xBCrich \xE2\x82\xAC \xF0\x9F\x98\x80"));  // ü, €, an emoji
  EXPECT_FALSE(IsValidUtf8("\xC3"));                                        // cut short
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));                                    // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));                                // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));                            // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("a\x80"));  // a lone continuation
  int count = 0;
  EXPECT_TRUE(ForEachCodePoint("a\xC3\xBC", [&](uint32_t) { return ++count > 0; }));
  EXPECT_EQ(count, 2);
  EXPECT_FALSE(ForEachCodePoint("ab", [](uint32_t cp) { return cp != 'b'; }));
}

}  // namespace
}  // namespace ca
