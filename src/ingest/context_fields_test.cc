#include "ingest/context_fields.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

namespace ca::ingest {
namespace {

void ExpectSame(const std::string& json) {
  SCOPED_TRACE(json);
  ContextFields scanned;
  ASSERT_TRUE(ScanContextFields(json, &scanned));
  simdjson::dom::parser parser;
  ContextFields parsed;
  ASSERT_TRUE(ParseContextFields(json, parser, &parsed));
  EXPECT_EQ(scanned.ip, parsed.ip);
  EXPECT_EQ(scanned.user_agent, parsed.user_agent);
  EXPECT_EQ(scanned.page_url, parsed.page_url);
  EXPECT_EQ(scanned.page_path, parsed.page_path);
  EXPECT_EQ(scanned.referrer, parsed.referrer);
  EXPECT_EQ(scanned.present, parsed.present);
  EXPECT_EQ(scanned.device_is_object, parsed.device_is_object);
}

TEST(ContextFieldsTest, ReadsWhatAJsonParserReads) {
  // Spot checks of the reference itself.
  simdjson::dom::parser parser;
  ContextFields f;
  ASSERT_TRUE(ParseContextFields(
      R"({"userAgent":"ua","device":{},"ip":1,"page":{"url":"u","referrer":"r"}})", parser, &f));
  EXPECT_EQ(f.user_agent, "ua");
  EXPECT_TRUE(f.device_is_object && f.has(ContextFields::kDevice));
  EXPECT_FALSE(f.has(ContextFields::kCountry));
  EXPECT_EQ(f.ip, "");
  EXPECT_EQ(f.page_url, "u");
  EXPECT_EQ(f.referrer, "r");
  EXPECT_FALSE(ParseContextFields("[]", parser, &f));

  ExpectSame("{}");
  ExpectSame(R"({"ip":"203.0.113.9","user_agent":"Mozilla/5.0 (X11) Chrome/120","locale":"en",)"
             R"("page":{"url":"https://x.example/jobs?a=1","path":"/jobs","referrer":"",)"
             R"("title":"A {b} [c], d:e"}})");
  ExpectSame(R"({"userAgent":"curl/8","device":{"type":"phone"},"country":null,"os":{},)"
             R"("campaign":[1,{"a":[2]}],"session":"s","profile":{},"region":"x","browser":1,)"
             R"("channel":true,"referrer_host":-1.5e3,"device_type":"x"})");
  ExpectSame(R"({"user_agent":"","userAgent":"fallback","device":"mobile"})");
  // The first of keys given twice counts, as in a parser's lookup.
  ExpectSame(R"({"ip":1,"ip":"1.2.3.4","page":{"url":"a","url":"b"},"page":{"url":"c"}})");
  ExpectSame(R"({"page":"not an object","nested":{"ip":"inner","page":{"url":"u"}}})");
  ExpectSame(R"({"page":{"url":null,"path":7,"referrer":{"x":"y"}},"ip":[]})");
  ExpectSame(R"({"a":{"b":{"c":{"d":[[[]]]}}},"user_agent":"ua","x":"}]{["})");
}

TEST(ContextFieldsTest, LeavesEscapesAndBrokenTextToAParser) {
  ContextFields f;
  EXPECT_FALSE(ScanContextFields(R"({"user_agent":"a \"quoted\" agent"})", &f));
  EXPECT_FALSE(ScanContextFields(R"({"ip":"\u0031.2.3.4"})", &f));
  for (const char* broken :
       {"", "{", "}", "[]", R"({"a")", R"({"a":})", R"({"a":1,})", R"({"a":"b)", R"({"a":{"b":1})",
        R"({"a":1}x)", R"({a:1})", R"({"a":1 "b":2})"}) {
    EXPECT_FALSE(ScanContextFields(broken, &f)) << broken;
  }
}

}  // namespace
}  // namespace ca::ingest
