#include "query/spec.h"

#include <gtest/gtest.h>

namespace ca::query {
namespace {

constexpr const char* kRange = R"("from":"2025-01-01T00:00:00Z","to":"2025-02-01T00:00:00+01:00")";

std::string Trends(const std::string& extra) {
  return std::string(R"({"kind":"trends",)") + kRange +
         R"(,"series":[{"event":"job_apply","math":"count"}])" + extra + "}";
}

std::string WithFilter(const std::string& filter) {
  return Trends(R"(,"filters":[)" + filter + "]");
}

ErrorCode Code(const std::string& json) { return ParseQuerySpec(json).status().code(); }

TEST(SpecTest, ParsesTrendsWithDefaults) {
  auto spec = ParseQuerySpec(Trends(
      R"(,"filters":[{"property":"remote","op":"eq","value":true},
         {"field":"value","op":"in","value":[1,2.5]}],
         "breakdown":{"property":"source"})"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->from_ms, 1735689600000);
  EXPECT_EQ(spec->to_ms, 1738364400000);  // 2025-01-31T23:00:00Z
  EXPECT_EQ(spec->timezone, "UTC");
  EXPECT_EQ(spec->timeout_ms, 10000);
  ASSERT_EQ(spec->filters.size(), 2u);
  EXPECT_EQ(spec->filters[0].property, "remote");
  EXPECT_EQ(spec->filters[0].values[0], Literal(true));
  EXPECT_EQ(spec->filters[1].field, store::Column::kValue);
  EXPECT_EQ(spec->filters[1].op, FilterOp::kIn);
  EXPECT_EQ(spec->filters[1].values[1], Literal(2.5));
  const auto& t = std::get<TrendsSpec>(spec->kind);
  EXPECT_EQ(t.interval, Interval::kDay);
  ASSERT_EQ(t.series.size(), 1u);
  EXPECT_EQ(t.series[0].matcher.event, "job_apply");
  EXPECT_EQ(t.series[0].math, Math::kCount);
  ASSERT_TRUE(t.breakdown.has_value());
  EXPECT_EQ(t.breakdown->property, "source");
  EXPECT_EQ(t.breakdown->limit, 10);
}

TEST(SpecTest, ParsesEveryKind) {
  auto funnel = ParseQuerySpec(R"({"kind":"funnel","from":1000,"to":2000,"timezone":"Europe/Berlin",
      "by":"application","window_ms":1000,"steps":[{"event":"a"},{"event":"b",
      "filters":[{"field":"status","op":"eq","value":"interview"}]}]})");
  ASSERT_TRUE(funnel.ok()) << funnel.status().ToString();
  EXPECT_EQ(std::get<FunnelSpec>(funnel->kind).by, FunnelBy::kApplication);
  EXPECT_EQ(std::get<FunnelSpec>(funnel->kind).steps[1].filters[0].field, store::Column::kStatus);
  auto retention = ParseQuerySpec(std::string(R"({"kind":"retention",)") + kRange +
                                  R"(,"period":"week","start_event":{"event":"login"},
                                  "return_event":{"event":"job_apply"}})");
  ASSERT_TRUE(retention.ok()) << retention.status().ToString();
  EXPECT_EQ(std::get<RetentionSpec>(retention->kind).periods, 8);
  EXPECT_EQ(std::get<RetentionSpec>(retention->kind).period, Interval::kWeek);
  auto paths = ParseQuerySpec(std::string(R"({"kind":"paths",)") + kRange +
                              R"(,"event":{"event":"job_view"},"direction":"previous"})");
  ASSERT_TRUE(paths.ok()) << paths.status().ToString();
  EXPECT_EQ(std::get<PathsSpec>(paths->kind).direction, Direction::kPrevious);
  EXPECT_EQ(std::get<PathsSpec>(paths->kind).depth, 3);
  EXPECT_EQ(std::get<PathsSpec>(paths->kind).limit, 10);
  std::string cursor = EncodeCursor(1735689600123, "ev:1");
  auto events = ParseQuerySpec(std::string(R"({"kind":"events",)") + kRange +
                               R"(,"limit":5,"cursor":")" + cursor + "\"}");
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  const auto& e = std::get<EventsSpec>(events->kind);
  EXPECT_EQ(e.limit, 5);
  ASSERT_TRUE(e.after.has_value());
  EXPECT_EQ(e.after->first, 1735689600123);
  EXPECT_EQ(e.after->second, "ev:1");
  auto no_cursor =
      ParseQuerySpec(std::string(R"({"kind":"events",)") + kRange + R"(,"cursor":null})");
  ASSERT_TRUE(no_cursor.ok());
  EXPECT_FALSE(std::get<EventsSpec>(no_cursor->kind).after.has_value());
}

TEST(SpecTest, CursorRoundTrip) {
  for (const char* id :
       {"a", "ab", "abc", "abcd", "x:y:z", "550e8400-e29b-41d4-a716-446655440000"}) {
    std::string c = EncodeCursor(-5, id);
    EXPECT_EQ(c.find_first_of("+/="), std::string::npos);
    auto d = DecodeCursor(c);
    ASSERT_TRUE(d.ok()) << id;
    EXPECT_EQ(d->first, -5);
    EXPECT_EQ(d->second, id);
  }
  EXPECT_EQ(EncodeCursor(1, "a"), "MTph");  // base64url("1:a")
  for (const char* bad : {"", "!!!!", "MTph=", "YWJj" /* abc: no colon */, "OmE" /* ":a" */,
                          "MTo" /* "1:" */, "eDph" /* "x:a" */, "A"}) {
    EXPECT_EQ(DecodeCursor(bad).status().code(), ErrorCode::kInvalidCursor) << bad;
  }
  EXPECT_EQ(Code(std::string(R"({"kind":"events",)") + kRange + R"(,"cursor":"%%"})"),
            ErrorCode::kInvalidCursor);
}

TEST(SpecTest, MalformedJson) {
  EXPECT_EQ(Code("{"), ErrorCode::kMalformedJson);
  EXPECT_EQ(Code(""), ErrorCode::kMalformedJson);
  EXPECT_EQ(Code("{\"kind\":\"trends\",}"), ErrorCode::kMalformedJson);
}

TEST(SpecTest, UnknownFields) {
  EXPECT_EQ(Code(Trends(R"(,"extra":1)")), ErrorCode::kUnknownField);
  EXPECT_EQ(Code(Trends(R"(,"window_ms":1000)")), ErrorCode::kUnknownField);  // another kind's
  EXPECT_EQ(Code(R"({"kind":"histogram","from":0,"to":1})"), ErrorCode::kUnknownField);
  EXPECT_EQ(Code(std::string(R"({"kind":"trends",)") + kRange +
                 R"(,"series":[{"event":"a"},{"event":"b","maths":"count"}]})"),
            ErrorCode::kUnknownField);
  auto s = ParseQuerySpec(std::string(R"({"kind":"trends",)") + kRange +
                          R"(,"series":[{"event":"a"},{"event":"b","maths":"count"}]})");
  EXPECT_NE(s.status().message().find("series[1].maths"), std::string::npos);
  EXPECT_EQ(Code(WithFilter(R"({"field":"nope","op":"exists"})")), ErrorCode::kUnknownField);
  EXPECT_EQ(Code(WithFilter(R"({"field":"timestamp","op":"exists"})")), ErrorCode::kUnknownField);
  EXPECT_EQ(Code(WithFilter(R"({"field":"status","op":"exists","x":1})")),
            ErrorCode::kUnknownField);
  EXPECT_EQ(Code(Trends(R"(,"breakdown":{"field":"nope"})")), ErrorCode::kUnknownField);
  EXPECT_EQ(Code(Trends(R"(,"breakdown":{"field":"status","top":3})")), ErrorCode::kUnknownField);
}

TEST(SpecTest, InvalidQuery) {
  auto code = [](const std::string& body) { return Code(body); };
  EXPECT_EQ(code("[]"), ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(R"({"from":0,"to":1})"), ErrorCode::kInvalidQuery);  // no kind
  EXPECT_EQ(code(R"({"kind":"trends","to":1,"series":[{"event":"a"}]})"), ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(R"({"kind":"trends","from":"2025-01-01","to":1,"series":[{"event":"a"}]})"),
            ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(R"({"kind":"trends","from":1.5,"to":10,"series":[{"event":"a"}]})"),
            ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(R"({"kind":"trends","from":10,"to":10,"series":[{"event":"a"}]})"),
            ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(Trends(R"(,"timezone":"Mars/Olympus")")), ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(Trends(R"(,"timeout_ms":0)")), ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(Trends(R"(,"timeout_ms":60001)")), ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(std::string(R"({"kind":"trends",)") + kRange + R"(,"series":[]})"),
            ErrorCode::kInvalidQuery);
  std::string eleven;
  for (int i = 0; i < 11; ++i) eleven += std::string(i ? "," : "") + R"({"event":"a"})";
  EXPECT_EQ(code(std::string(R"({"kind":"trends",)") + kRange + R"(,"series":[)" + eleven + "]}"),
            ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(std::string(R"({"kind":"trends",)") + kRange +
                 R"(,"series":[{"event":"a","math":"median"}]})"),
            ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(std::string(R"({"kind":"trends",)") + kRange + R"(,"series":[{"event":""}]})"),
            ErrorCode::kInvalidQuery);
  std::string filters;
  for (int i = 0; i < 21; ++i) {
    filters += std::string(i ? "," : "") + R"({"field":"status","op":"exists"})";
  }
  EXPECT_EQ(code(Trends(R"(,"filters":[)" + filters + "]")), ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(Trends(R"(,"breakdown":{"field":"status","limit":101})")),
            ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(Trends(R"(,"breakdown":{"field":"value"})")), ErrorCode::kInvalidQuery);
  std::string funnel = std::string(R"({"kind":"funnel",)") + kRange;
  EXPECT_EQ(code(funnel + R"(,"window_ms":999,"steps":[{"event":"a"},{"event":"b"}]})"),
            ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(funnel + R"(,"steps":[{"event":"a"},{"event":"b"}]})"), ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(funnel + R"(,"window_ms":1000,"steps":[{"event":"a"}]})"),
            ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(funnel + R"(,"window_ms":1000,"by":"job","steps":[{"event":"a"},{"event":"b"}]})"),
            ErrorCode::kInvalidQuery);
  std::string retention = std::string(R"({"kind":"retention",)") + kRange +
                          R"(,"start_event":{"event":"a"},"return_event":{"event":"b"})";
  EXPECT_EQ(code(retention + R"(,"periods":53})"), ErrorCode::kInvalidQuery);
  EXPECT_EQ(
      code(std::string(R"({"kind":"retention",)") + kRange + R"(,"start_event":{"event":"a"}})"),
      ErrorCode::kInvalidQuery);
  std::string paths = std::string(R"({"kind":"paths",)") + kRange + R"(,"event":{"event":"a"})";
  EXPECT_EQ(code(paths + R"(,"depth":6})"), ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(paths + R"(,"limit":0})"), ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(paths + R"(,"direction":"up"})"), ErrorCode::kInvalidQuery);
  std::string events = std::string(R"({"kind":"events",)") + kRange;
  EXPECT_EQ(code(events + R"(,"limit":1001})"), ErrorCode::kInvalidQuery);
  EXPECT_EQ(code(events + R"(,"cursor":5})"), ErrorCode::kInvalidQuery);
}

TEST(SpecTest, InvalidInterval) {
  EXPECT_EQ(Code(Trends(R"(,"interval":"minute")")), ErrorCode::kInvalidInterval);
  std::string retention = std::string(R"({"kind":"retention",)") + kRange +
                          R"(,"start_event":{"event":"a"},"return_event":{"event":"b"})";
  EXPECT_EQ(Code(retention + R"(,"period":"month"})"), ErrorCode::kInvalidInterval);
  EXPECT_EQ(Code(retention + R"(,"period":"hour"})"), ErrorCode::kInvalidInterval);
  EXPECT_TRUE(ParseQuerySpec(retention + R"(,"period":"day"})").ok());
}

TEST(SpecTest, RangeTooLarge) {
  int64_t day = 86400000;
  auto trends = [](int64_t to, const char* interval) {
    return R"({"kind":"trends","from":0,"to":)" + std::to_string(to) + R"(,"interval":")" +
           interval + R"(","series":[{"event":"a"}]})";
  };
  EXPECT_TRUE(ParseQuerySpec(trends(1830 * day, "month")).ok());
  EXPECT_EQ(Code(trends(1830 * day + 1, "month")), ErrorCode::kRangeTooLarge);
  EXPECT_EQ(Code(trends(500 * day, "hour")), ErrorCode::kRangeTooLarge);  // 12000 buckets
  EXPECT_TRUE(ParseQuerySpec(trends(400 * day, "hour")).ok());
}

TEST(SpecTest, InvalidFilter) {
  for (const char* f : {R"({"field":"status","op":"gt","value":"a"})",
                        R"({"field":"status","op":"eq","value":5})",
                        R"({"field":"status","op":"eq","value":""})",
                        R"({"field":"status","op":"eq","value":true})",
                        R"({"field":"status","op":"in","value":[]})",
                        R"({"field":"status","op":"in","value":"a"})",
                        R"({"field":"status","op":"eq"})",
                        R"({"field":"status","op":"exists","value":"a"})",
                        R"({"field":"status","op":"like","value":"a"})",
                        R"({"field":"status"})",
                        R"({"field":"value","op":"contains","value":"1"})",
                        R"({"field":"value","op":"eq","value":"1"})",
                        R"({"field":"value","op":"eq","value":false})",
                        R"({"property":"a.b","op":"exists"})",
                        R"({"property":"","op":"exists"})",
                        R"({"property":"x","op":"contains","value":1})",
                        R"({"property":"x","op":"gt","value":"1"})",
                        R"({"property":"x","op":"gt","value":true})",
                        R"({"property":"x","op":"eq","value":null})",
                        R"({"property":"x","op":"eq","value":{"a":1}})",
                        R"({"property":"x","field":"status","op":"exists"})",
                        R"({"op":"exists"})",
                        R"("status")"}) {
    EXPECT_EQ(Code(WithFilter(f)), ErrorCode::kInvalidFilter) << f;
  }
  std::string many = "[";
  for (int i = 0; i < 101; ++i) many += std::string(i ? "," : "") + "\"v\"";
  EXPECT_EQ(Code(WithFilter(R"({"field":"status","op":"in","value":)" + many + "]}")),
            ErrorCode::kInvalidFilter);
  // Allowed: property names with $ and -, booleans and mixed kinds for properties.
  EXPECT_TRUE(
      ParseQuerySpec(WithFilter(R"({"property":"a$-_9","op":"in","value":[1,"x",true]})")).ok());
  EXPECT_TRUE(
      ParseQuerySpec(WithFilter(R"({"field":"event_id","op":"contains","value":"x"})")).ok());
}

}  // namespace
}  // namespace ca::query
