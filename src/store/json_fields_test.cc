#include "store/json_fields.h"

#include <gtest/gtest.h>

namespace ca::store {
namespace {

TEST(JsonFieldsTest, FindsTopLevelMembersOnly) {
  std::string_view j =
      R"({"a":{"job_id":"x"},"job_id":"j1","n":-1.5e2,"b":[1,{"c":"}"}],"t":true})";
  EXPECT_EQ(FindMember(j, "job_id"), R"("j1")");
  EXPECT_EQ(FindMember(j, "n"), "-1.5e2");
  EXPECT_EQ(FindMember(j, "t"), "true");
  EXPECT_EQ(FindMember(j, "b"), R"([1,{"c":"}"}])");
  EXPECT_EQ(FindMember(j, "c"), std::nullopt);
  EXPECT_EQ(FindMember("{}", "a"), std::nullopt);
  EXPECT_EQ(FindMember("not json", "a"), std::nullopt);
  EXPECT_EQ(FindMember(R"({"a":1,"a":2})", "a"), "1");
}

TEST(JsonFieldsTest, DecodesStringsAndNumbers) {
  EXPECT_EQ(AsString(R"("a\"b\\c\u00e9\ud83d\ude00")"), "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(AsString("12"), std::nullopt);
  EXPECT_EQ(AsNumber("12"), 12.0);
  EXPECT_EQ(AsNumber("-0.25"), -0.25);
  EXPECT_EQ(AsNumber(R"("12")"), std::nullopt);
  EXPECT_EQ(AsNumber("true"), std::nullopt);
  EXPECT_EQ(FindMember(R"({"k\u0065y":"v"})", "key"), R"("v")");
}

}  // namespace
}  // namespace ca::store
