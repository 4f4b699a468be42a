#include "ingest/context_fields.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

namespace ca::ingest {
namespace {

std::string_view StringAt(simdjson::dom::object o, std::string_view key) {
  std::string_view s;
  if (o[key].get_string().get(s) != simdjson::SUCCESS) return {};
  return s;
}

// What a JSON parser reads of the same context: ScanContextFields must agree with it.
ContextFields Parsed(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::object context = parser.parse(json).get_object().value();
  ContextFields f;
  using K = ContextFields;
  const std::pair<std::string_view, K::Key> keys[] = {
      {"country", K::kCountry},   {"region", K::kRegion},
      {"browser", K::kBrowser},   {"os", K::kOs},
      {"device", K::kDevice},     {"device_type", K::kDeviceType},
      {"campaign", K::kCampaign}, {"referrer_host", K::kReferrerHost},
      {"channel", K::kChannel},   {"session", K::kSession},
      {"profile", K::kProfile}};
  for (const auto& [key, bit] : keys) {
    if (context[key].error() == simdjson::SUCCESS) f.present |= 1u << bit;
  }
  simdjson::dom::element device;
  f.device_is_object = context["device"].get(device) == simdjson::SUCCESS && device.is_object();
  // Copies outlive the parser through static storage, one per call site below.
  static thread_local std::string ip, ua, url, path, referrer;
  ip = StringAt(context, "ip");
  ua = StringAt(context, "user_agent");
  if (ua.empty()) ua = StringAt(context, "userAgent");
  simdjson::dom::object page;
  url.clear(), path.clear(), referrer.clear();
  if (context["page"].get_object().get(page) == simdjson::SUCCESS) {
    url = StringAt(page, "url");
    path = StringAt(page, "path");
    referrer = StringAt(page, "referrer");
  }
  f.ip = ip, f.user_agent = ua, f.page_url = url, f.page_path = path, f.referrer = referrer;
  return f;
}

void ExpectSame(const std::string& json) {
  SCOPED_TRACE(json);
  ContextFields scanned;
  ASSERT_TRUE(ScanContextFields(json, &scanned));
  const ContextFields parsed = Parsed(json);
  EXPECT_EQ(scanned.ip, parsed.ip);
  EXPECT_EQ(scanned.user_agent, parsed.user_agent);
  EXPECT_EQ(scanned.page_url, parsed.page_url);
  EXPECT_EQ(scanned.page_path, parsed.page_path);
  EXPECT_EQ(scanned.referrer, parsed.referrer);
  EXPECT_EQ(scanned.present, parsed.present);
  EXPECT_EQ(scanned.device_is_object, parsed.device_is_object);
}

TEST(ContextFieldsTest, ReadsWhatAJsonParserReads) {
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
