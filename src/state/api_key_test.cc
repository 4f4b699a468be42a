#include "state/api_key.h"

#include <gtest/gtest.h>

namespace ca::state {
namespace {

TEST(ApiKeyTest, GeneratedKeysParse) {
  for (KeyKind kind : {KeyKind::kWrite, KeyKind::kSecret}) {
    std::string key = GenerateApiKey(kind);
    EXPECT_EQ(key.size(), kKeyLength);
    auto parsed = ParseApiKey(key);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->kind, kind);
    EXPECT_EQ(parsed->key_id, std::string_view(key).substr(4, kKeyIdLength));
  }
}

TEST(ApiKeyTest, MalformedKeysDoNotParse) {
  std::string key = GenerateApiKey(KeyKind::kWrite);
  EXPECT_FALSE(ParseApiKey(""));
  EXPECT_FALSE(ParseApiKey(key.substr(1)));
  EXPECT_FALSE(ParseApiKey("cax_" + key.substr(4)));
  EXPECT_FALSE(ParseApiKey("CAW_" + key.substr(4)));
  std::string bad = key;
  bad[10] = '+';
  EXPECT_FALSE(ParseApiKey(bad));
  bad[10] = '=';
  EXPECT_FALSE(ParseApiKey(bad));
}

TEST(ApiKeyTest, Sha256MatchesKnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("abc").size(), 32u);
}

TEST(ApiKeyTest, TenantNames) {
  EXPECT_TRUE(IsValidTenantName("a"));
  EXPECT_TRUE(IsValidTenantName("9lives_x-y"));
  EXPECT_FALSE(IsValidTenantName(""));
  EXPECT_FALSE(IsValidTenantName("-a"));
  EXPECT_FALSE(IsValidTenantName("aB"));
  EXPECT_TRUE(IsValidTenantName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidTenantName(std::string(65, 'a')));
}

}  // namespace
}  // namespace ca::state
