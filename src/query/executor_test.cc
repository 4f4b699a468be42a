#include "query/executor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "event/timestamp.h"
#include "query/test_snapshot.h"

namespace ca::query {
namespace {

using event::Event;
using Json = nlohmann::json;
using store::Column;

int64_t T(std::string_view iso) {
  auto r = event::ParseIso8601Millis(iso);
  EXPECT_TRUE(r.ok()) << iso;
  return r.ok() ? *r : 0;
}

Event Ev(std::string id, std::string type, std::string user, std::string_view ts,
         std::string props = "{}", std::string ctx = "{}") {
  Event e;
  e.tenant = "t";
  e.event_id = std::move(id);
  e.type = std::move(type);
  e.user_id = std::move(user);
  if (e.user_id.empty()) e.anonymous_id = "anon";
  e.timestamp_ms = T(ts);
  e.received_at_ms = e.timestamp_ms + 5;
  e.properties_json = std::move(props);
  e.context_json = std::move(ctx);
  return e;
}

Filter F(std::string_view field, FilterOp op, std::vector<Literal> values = {}) {
  Filter f;
  f.field = store::ColumnFromName(field);
  EXPECT_TRUE(f.field.has_value()) << field;
  f.op = op;
  f.values = std::move(values);
  return f;
}

Filter P(std::string property, FilterOp op, std::vector<Literal> values = {}) {
  Filter f;
  f.property = std::move(property);
  f.op = op;
  f.values = std::move(values);
  return f;
}

QuerySpec Spec(std::string_view from, std::string_view to) {
  QuerySpec s;
  s.from_ms = T(from);
  s.to_ms = T(to);
  return s;
}

EventMatcher M(std::string event, std::vector<Filter> filters = {}) {
  return EventMatcher{std::move(event), std::move(filters)};
}

Series S(std::string event, Math math, std::vector<Filter> filters = {}) {
  return Series{M(std::move(event), std::move(filters)), math};
}

// Runs `spec` over several block layouts of `events`; all must agree.
Result<Json> Run(const std::vector<Event>& events, const QuerySpec& spec,
                 ExecOptions options = {}) {
  std::optional<Result<Json>> first;
  for (uint64_t seed : {1, 2, 3}) {
    for (size_t block : {size_t{1}, size_t{3}, size_t{65536}}) {
      TestSnapshot snap(events, {.seed = seed, .max_block_rows = block});
      Result<Json> r = Execute(snap, spec, options);
      if (!first.has_value()) {
        first = r;
        continue;
      }
      EXPECT_EQ(r.ok(), first->ok());
      if (r.ok() && first->ok()) {
        EXPECT_EQ(*r, **first) << "seed " << seed << " block " << block;
      } else {
        EXPECT_EQ(r.status().code(), first->status().code());
      }
    }
  }
  return *first;
}

Json RunOk(const std::vector<Event>& events, const QuerySpec& spec) {
  Result<Json> r = Run(events, spec);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Json();
}

// ---- trends

std::vector<Event> DayEvents() {
  return {
      Ev("e1", "job_view", "u1", "2025-01-01T10:00:00Z"),
      Ev("e2", "job_view", "u2", "2025-01-01T23:59:59.999Z"),
      Ev("e3", "job_view", "u1", "2025-01-02T00:00:00Z"),
      Ev("e4", "job_apply", "u1", "2025-01-02T05:00:00Z"),
      Ev("e5", "job_view", "u1", "2024-12-31T23:59:59.999Z"),
      Ev("e6", "job_view", "u3", "2025-01-04T00:00:00Z"),
      Ev("e7", "job_view", "", "2025-01-03T12:00:00Z"),
  };
}

TEST(ExecutorTrends, CountAndUniqueUsersByDay) {
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-04T00:00:00Z");
  TrendsSpec t;
  t.series = {S("job_view", Math::kCount), S("job_view", Math::kUniqueUsers),
              S("job_apply", Math::kCount), S("nope", Math::kCount)};
  spec.kind = t;
  const Json expected = Json::parse(R"({
    "kind": "trends", "interval": "day", "timezone": "UTC",
    "buckets": ["2025-01-01T00:00:00+00:00", "2025-01-02T00:00:00+00:00",
                "2025-01-03T00:00:00+00:00"],
    "series": [
      {"index": 0, "event": "job_view", "math": "count", "breakdown": null, "other": false,
       "values": [2, 1, 1], "total": 4},
      {"index": 1, "event": "job_view", "math": "unique_users", "breakdown": null,
       "other": false, "values": [2, 1, 0], "total": 2},
      {"index": 2, "event": "job_apply", "math": "count", "breakdown": null, "other": false,
       "values": [0, 1, 0], "total": 1},
      {"index": 3, "event": "nope", "math": "count", "breakdown": null, "other": false,
       "values": [], "total": 0}]})");
  EXPECT_EQ(RunOk(DayEvents(), spec), expected);
}

TEST(ExecutorTrends, ValueMathAndPercentiles) {
  const std::vector<Event> events = {
      Ev("a1", "job_view", "u1", "2025-01-01T01:00:00Z", R"({"value":10})"),
      Ev("a2", "job_view", "u1", "2025-01-01T02:00:00Z", R"({"seconds":20})"),
      Ev("a3", "job_view", "u2", "2025-01-01T03:00:00Z", R"({"value":"x","seconds":5})"),
      Ev("a4", "job_view", "u2", "2025-01-02T01:00:00Z", R"({"value":true})"),
      Ev("a5", "job_view", "u3", "2025-01-02T02:00:00Z", R"({"value":1})"),
  };
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-04T00:00:00Z");
  TrendsSpec t;
  for (Math m :
       {Math::kSum, Math::kAvg, Math::kMin, Math::kMax, Math::kP50, Math::kP90, Math::kP99}) {
    t.series.push_back(S("job_view", m));
  }
  spec.kind = t;
  const Json r = RunOk(events, spec);
  ASSERT_EQ(r["series"].size(), 7u);
  const auto row = [&](size_t i) { return r["series"][i]; };
  EXPECT_EQ(row(0)["values"], Json::parse("[35.0, 1.0, 0.0]"));
  EXPECT_TRUE(row(0)["values"][2].is_number_float());
  EXPECT_EQ(row(0)["total"], 36.0);
  EXPECT_EQ(row(1)["values"], (Json{35.0 / 3, 1.0, nullptr}));
  EXPECT_EQ(row(1)["total"], 9.0);
  EXPECT_EQ(row(2)["values"], Json::parse("[5.0, 1.0, null]"));
  EXPECT_EQ(row(2)["total"], 1.0);
  EXPECT_EQ(row(3)["values"], Json::parse("[20.0, 1.0, null]"));
  EXPECT_EQ(row(3)["total"], 20.0);
  // p50 of {5,10,20}: rank (150+99)/100 = 2 -> 10; of {1,5,10,20}: rank 2 -> 5.
  EXPECT_EQ(row(4)["values"], Json::parse("[10.0, 1.0, null]"));
  EXPECT_EQ(row(4)["total"], 5.0);
  EXPECT_EQ(row(5)["values"], Json::parse("[20.0, 1.0, null]"));
  EXPECT_EQ(row(5)["total"], 20.0);
  EXPECT_EQ(row(6)["values"], Json::parse("[20.0, 1.0, null]"));
  EXPECT_EQ(row(6)["math"], "p99");
}

TEST(ExecutorTrends, PercentileNearestRankOnLargerSet) {
  std::vector<Event> events;
  for (int i = 1; i <= 10; ++i) {
    events.push_back(Ev("v" + std::to_string(i), "t", "u", "2025-01-01T01:00:00Z",
                        R"({"value":)" + std::to_string(i * 10) + "}"));
  }
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  TrendsSpec t;
  t.series = {S("t", Math::kP50), S("t", Math::kP90), S("t", Math::kP99)};
  spec.kind = t;
  const Json r = RunOk(events, spec);
  EXPECT_EQ(r["series"][0]["total"], 50.0);   // rank (500+99)/100 = 5
  EXPECT_EQ(r["series"][1]["total"], 90.0);   // rank 9
  EXPECT_EQ(r["series"][2]["total"], 100.0);  // rank 10
}

std::vector<Event> StatusEvents() {
  const auto ev = [](std::string id, std::string user, std::string_view ts, std::string status) {
    std::string props = status.empty() ? "{}" : R"({"status":")" + status + R"("})";
    return Ev(std::move(id), "job_apply", std::move(user), ts, props);
  };
  return {
      ev("s1", "u1", "2025-01-01T01:00:00Z", "a"), ev("s2", "u2", "2025-01-01T02:00:00Z", "a"),
      ev("s3", "u1", "2025-01-02T01:00:00Z", "a"), ev("s4", "u1", "2025-01-02T02:00:00Z", "b"),
      ev("s5", "u2", "2025-01-03T01:00:00Z", "b"), ev("s6", "u3", "2025-01-01T03:00:00Z", ""),
      ev("s7", "u3", "2025-01-03T02:00:00Z", ""),  ev("s8", "u1", "2025-01-03T03:00:00Z", "c"),
      ev("s9", "u1", "2025-01-03T04:00:00Z", "c"), ev("s10", "u1", "2025-01-01T04:00:00Z", "d"),
  };
}

TEST(ExecutorTrends, BreakdownRanksAndOther) {
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-04T00:00:00Z");
  TrendsSpec t;
  t.series = {S("job_apply", Math::kCount), S("job_apply", Math::kUniqueUsers)};
  t.breakdown = Breakdown{Column::kStatus, "", 2};
  spec.kind = t;
  const Json r = RunOk(StatusEvents(), spec);
  const Json expected = Json::parse(R"([
    {"index": 0, "event": "job_apply", "math": "count", "breakdown": "a", "other": false,
     "values": [2, 1, 0], "total": 3},
    {"index": 0, "event": "job_apply", "math": "count", "breakdown": null, "other": false,
     "values": [1, 0, 1], "total": 2},
    {"index": 0, "event": "job_apply", "math": "count", "breakdown": null, "other": true,
     "values": [1, 1, 3], "total": 5},
    {"index": 1, "event": "job_apply", "math": "unique_users", "breakdown": "a", "other": false,
     "values": [2, 1, 0], "total": 2},
    {"index": 1, "event": "job_apply", "math": "unique_users", "breakdown": null,
     "other": false, "values": [1, 0, 1], "total": 1},
    {"index": 1, "event": "job_apply", "math": "unique_users", "breakdown": null, "other": true,
     "values": [1, 1, 2], "total": 2}])");
  EXPECT_EQ(r["series"], expected);

  t.breakdown->limit = 10;
  spec.kind = t;
  const Json all = RunOk(StatusEvents(), spec);
  std::vector<Json> labels;
  for (const Json& row : all["series"]) {
    if (row["index"] == 0) labels.push_back(row["breakdown"]);
    EXPECT_EQ(row["other"], false);
  }
  EXPECT_EQ(Json(labels), Json::parse(R"(["a", null, "b", "c", "d"])"));
}

TEST(ExecutorTrends, PropertyBreakdownOnlyStrings) {
  const std::vector<Event> events = {
      Ev("p1", "x", "u1", "2025-01-01T01:00:00Z", R"({"src":"search"})"),
      Ev("p2", "x", "u1", "2025-01-01T02:00:00Z", R"({"src":"search"})"),
      Ev("p3", "x", "u1", "2025-01-01T03:00:00Z", R"({"src":7})"),
      Ev("p4", "x", "u1", "2025-01-01T04:00:00Z", R"({"other":"search"})"),
      Ev("p5", "x", "u1", "2025-01-01T05:00:00Z", R"({"src":"a\u0062c"})"),
      Ev("p6", "x", "u1", "2025-01-01T06:00:00Z", R"({"src":"abc","n":{"src":"zz"}})"),
      Ev("p7", "x", "u1", "2025-01-01T07:00:00Z", R"({"n":{"src":"zz"},"src":"abc"})"),
  };
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  TrendsSpec t;
  t.series = {S("x", Math::kCount)};
  t.breakdown = Breakdown{std::nullopt, "src", 10};
  spec.kind = t;
  const Json r = RunOk(events, spec);
  ASSERT_EQ(r["series"].size(), 3u);
  EXPECT_EQ(r["series"][0]["breakdown"], "abc");
  EXPECT_EQ(r["series"][0]["total"], 3);
  EXPECT_EQ(r["series"][1]["breakdown"], nullptr);
  EXPECT_EQ(r["series"][1]["total"], 2);
  EXPECT_EQ(r["series"][2]["breakdown"], "search");
  EXPECT_EQ(r["series"][2]["total"], 2);
}

TEST(ExecutorTrends, NoMatchWithBreakdownIsOneEmptyRow) {
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-03T00:00:00Z");
  TrendsSpec t;
  t.series = {S("job_apply", Math::kAvg)};
  t.breakdown = Breakdown{Column::kStatus, "", 3};
  spec.kind = t;
  const Json r = RunOk(DayEvents(), spec);  // its job_apply is on day 2 ...
  ASSERT_EQ(r["series"].size(), 1u);
  spec.filters = {F("user_id", FilterOp::kEq, {std::string("u2")})};  // ... but not u2's
  const Json none = RunOk(DayEvents(), spec);
  ASSERT_EQ(none["series"].size(), 1u);
  EXPECT_EQ(none["series"][0], Json::parse(R"({"index": 0, "event": "job_apply", "math": "avg",
      "breakdown": null, "other": false, "values": [], "total": null})"));
}

TEST(ExecutorTrends, BerlinDayBucketsAndWeeks) {
  const std::vector<Event> events = {
      Ev("b1", "x", "u1", "2024-12-31T23:30:00Z"),  // 00:30 Jan 1 in Berlin
      Ev("b2", "x", "u1", "2025-01-01T22:59:59.999Z"),
      Ev("b3", "x", "u1", "2025-01-01T23:30:00Z"),  // 00:30 Jan 2 in Berlin
      Ev("b4", "x", "u1", "2024-12-31T22:59:59.999Z"),
  };
  QuerySpec spec = Spec("2025-01-01T00:00:00+01:00", "2025-01-03T00:00:00+01:00");
  spec.timezone = "Europe/Berlin";
  TrendsSpec t;
  t.series = {S("x", Math::kCount)};
  spec.kind = t;
  const Json r = RunOk(events, spec);
  EXPECT_EQ(r["timezone"], "Europe/Berlin");
  EXPECT_EQ(r["buckets"],
            Json::parse(R"(["2025-01-01T00:00:00+01:00", "2025-01-02T00:00:00+01:00"])"));
  EXPECT_EQ(r["series"][0]["values"], Json::parse("[2, 1]"));

  QuerySpec week = Spec("2025-01-08T00:00:00Z", "2025-01-14T00:00:00Z");
  t.interval = Interval::kWeek;
  week.kind = t;
  const Json w = RunOk(events, week);
  EXPECT_EQ(w["interval"], "week");
  // Wednesday to the next Tuesday: the weeks of Monday the 6th and Monday the 13th.
  EXPECT_EQ(w["buckets"],
            Json::parse(R"(["2025-01-06T00:00:00+00:00", "2025-01-13T00:00:00+00:00"])"));
  EXPECT_EQ(w["series"][0]["values"], Json::array());  // no events in range
}

// ---- filters (through the events listing)

std::vector<Event> FilterEvents() {
  return {
      Ev("f1", "job_view", "u1", "2025-01-01T01:00:00Z",
         R"({"status":"interview","source":"search","remote":true,"salary":100,"job_id":"j1"})",
         R"({"country":"DE","device":"mobile","page":{"path":"/jobs/1"}})"),
      Ev("f2", "job_view", "u2", "2025-01-01T02:00:00Z",
         R"({"status":"applied","source":"recommendations","remote":false,"salary":"100","value":30})",
         R"({"country":"US"})"),
      Ev("f3", "job_view", "", "2025-01-01T03:00:00Z",
         R"({"source":"Search","remote":null,"salary":250.5,"path":"/p/x","seconds":45})",
         R"({"page":{"path":5}})"),
      Ev("f4", "job_view", "u1", "2025-01-01T04:00:00Z",
         R"({"status":"","source":"search engine","nested":{"source":"x"},"value":30.0})",
         R"({"page":{"path":""}})"),
      Ev("f5", "job_view", "u3", "2025-01-01T05:00:00Z",
         R"({"na\u006de":"J\u00f6rg \"q\"","arr":[1,{"a":"}"}],"z":-1.5e2})", "{}"),
  };
}

// The event ids the filter keeps, oldest first.
std::string Keep(const Filter& f) {
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  spec.filters = {f};
  spec.kind = EventsSpec{};
  Result<Json> r = Run(FilterEvents(), spec);
  if (!r.ok()) return std::string(ErrorCodeName(r.status().code()));
  std::string out;
  for (auto it = (*r)["events"].rbegin(); it != (*r)["events"].rend(); ++it) {
    if (!out.empty()) out += ",";
    out += (*it)["event_id"].get<std::string>();
  }
  return out;
}

TEST(ExecutorFilters, CoreStringFields) {
  using O = FilterOp;
  const Literal interview = std::string("interview");
  EXPECT_EQ(Keep(F("status", O::kEq, {interview})), "f1");
  EXPECT_EQ(Keep(F("status", O::kNeq, {interview})), "f2,f3,f4,f5");
  EXPECT_EQ(Keep(F("status", O::kIn, {interview, std::string("applied")})), "f1,f2");
  EXPECT_EQ(Keep(F("status", O::kContains, {std::string("view")})), "f1");
  EXPECT_EQ(Keep(F("status", O::kExists)), "f1,f2");
  EXPECT_EQ(Keep(F("status", O::kEq, {std::string("unknown")})), "");
  EXPECT_EQ(Keep(F("status", O::kNeq, {std::string("unknown")})), "f1,f2,f3,f4,f5");
  EXPECT_EQ(Keep(F("status", O::kContains, {std::string("zzz")})), "");
  EXPECT_EQ(Keep(F("user_id", O::kEq, {std::string("u1")})), "f1,f4");
  EXPECT_EQ(Keep(F("user_id", O::kIn, {std::string("u1")})), "f1,f4");
  EXPECT_EQ(Keep(F("user_id", O::kNeq, {std::string("u1")})), "f2,f3,f5");
  EXPECT_EQ(Keep(F("user_id", O::kExists)), "f1,f2,f4,f5");
  EXPECT_EQ(Keep(F("anonymous_id", O::kExists)), "f3");
  EXPECT_EQ(Keep(F("session_id", O::kExists)), "");
  EXPECT_EQ(Keep(F("country", O::kEq, {std::string("DE")})), "f1");
  EXPECT_EQ(Keep(F("device", O::kIn, {std::string("mobile"), std::string("x")})), "f1");
  EXPECT_EQ(Keep(F("path", O::kEq, {std::string("/p/x")})), "f3");
  EXPECT_EQ(Keep(F("path", O::kExists)), "f1,f3");
  EXPECT_EQ(Keep(F("job_id", O::kEq, {std::string("j1")})), "f1");
  EXPECT_EQ(Keep(F("type", O::kEq, {std::string("job_view")})), "f1,f2,f3,f4,f5");
  EXPECT_EQ(Keep(F("event_id", O::kEq, {std::string("f3")})), "f3");
  EXPECT_EQ(Keep(F("event_id", O::kNeq, {std::string("f3")})), "f1,f2,f4,f5");
  EXPECT_EQ(Keep(F("event_id", O::kContains, {std::string("f")})), "f1,f2,f3,f4,f5");
}

TEST(ExecutorFilters, ValueField) {
  using O = FilterOp;
  EXPECT_EQ(Keep(F("value", O::kEq, {30.0})), "f2,f4");
  EXPECT_EQ(Keep(F("value", O::kNeq, {30.0})), "f1,f3,f5");
  EXPECT_EQ(Keep(F("value", O::kGt, {30.0})), "f3");
  EXPECT_EQ(Keep(F("value", O::kLt, {45.0})), "f2,f4");
  EXPECT_EQ(Keep(F("value", O::kExists)), "f2,f3,f4");
  EXPECT_EQ(Keep(F("value", O::kIn, {45.0, 1.0})), "f3");
}

TEST(ExecutorFilters, Properties) {
  using O = FilterOp;
  const Literal search = std::string("search");
  EXPECT_EQ(Keep(P("source", O::kEq, {search})), "f1");
  EXPECT_EQ(Keep(P("source", O::kIn, {search, std::string("Search")})), "f1,f3");
  EXPECT_EQ(Keep(P("source", O::kContains, {search})), "f1,f4");
  EXPECT_EQ(Keep(P("source", O::kNeq, {search})), "f2,f3,f4,f5");
  EXPECT_EQ(Keep(P("source", O::kEq, {std::string("x")})), "");  // nested keys do not count
  EXPECT_EQ(Keep(P("remote", O::kEq, {true})), "f1");
  EXPECT_EQ(Keep(P("remote", O::kEq, {false})), "f2");
  EXPECT_EQ(Keep(P("remote", O::kNeq, {true})), "f2,f3,f4,f5");
  EXPECT_EQ(Keep(P("remote", O::kExists)), "f1,f2");
  EXPECT_EQ(Keep(P("salary", O::kEq, {100.0})), "f1");
  EXPECT_EQ(Keep(P("salary", O::kEq, {std::string("100")})), "f2");
  EXPECT_EQ(Keep(P("salary", O::kGt, {100.0})), "f3");
  EXPECT_EQ(Keep(P("salary", O::kLt, {200.0})), "f1");
  EXPECT_EQ(Keep(P("salary", O::kExists)), "f1,f2,f3");
  EXPECT_EQ(Keep(P("remote", O::kEq, {1.0})), "");  // booleans only equal booleans
  EXPECT_EQ(Keep(P("name", O::kEq, {std::string("J\xc3\xb6rg \"q\"")})), "f5");
  EXPECT_EQ(Keep(P("z", O::kLt, {-100.0})), "f5");
  EXPECT_EQ(Keep(P("arr", O::kExists)), "f5");
  EXPECT_EQ(Keep(P("a", O::kExists)), "");
  EXPECT_EQ(Keep(P("nested", O::kContains, {std::string("x")})), "");
}

TEST(ExecutorFilters, InvalidFilters) {
  using O = FilterOp;
  EXPECT_EQ(Keep(F("status", O::kGt, {1.0})), "invalid_filter");
  EXPECT_EQ(Keep(F("status", O::kEq, {5.0})), "invalid_filter");
  EXPECT_EQ(Keep(F("status", O::kEq, {std::string("")})), "invalid_filter");
  EXPECT_EQ(Keep(F("value", O::kContains, {std::string("x")})), "invalid_filter");
  EXPECT_EQ(Keep(F("value", O::kEq, {true})), "invalid_filter");
  EXPECT_EQ(Keep(P("source", O::kContains, {5.0})), "invalid_filter");
  EXPECT_EQ(Keep(P("source", O::kGt, {std::string("a")})), "invalid_filter");
}

TEST(ExecutorFilters, SeriesFiltersCombineWithGlobal) {
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  spec.filters = {P("source", FilterOp::kContains, {std::string("search")})};
  TrendsSpec t;
  t.series = {S("job_view", Math::kCount),
              S("job_view", Math::kCount, {F("user_id", FilterOp::kEq, {std::string("u1")})}),
              S("job_view", Math::kSum, {F("country", FilterOp::kNeq, {std::string("DE")})})};
  spec.kind = t;
  const Json r = RunOk(FilterEvents(), spec);
  EXPECT_EQ(r["series"][0]["total"], 2);     // f1, f4
  EXPECT_EQ(r["series"][1]["total"], 2);     // f1, f4
  EXPECT_EQ(r["series"][2]["total"], 30.0);  // f4
}

// ---- funnel

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kHour = 3'600'000;

TEST(ExecutorFunnel, ByUser) {
  const std::string interview = R"({"status":"interview"})";
  const std::vector<Event> events = {
      Ev("a1", "job_view", "A", "2025-01-01T10:00:00Z"),
      Ev("a2", "job_apply", "A", "2025-01-01T12:00:00Z"),
      Ev("a3", "application_status_changed", "A", "2025-01-01T20:00:00Z", interview),
      Ev("b1", "job_view", "B", "2025-01-02T00:00:00Z"),
      Ev("b2", "job_view", "B", "2025-01-03T00:00:00Z"),
      Ev("b3", "job_apply", "B", "2025-01-03T06:00:00Z"),
      Ev("b4", "application_status_changed", "B", "2025-01-03T07:00:00Z",
         R"({"status":"rejected"})"),
      Ev("c1", "job_view", "C", "2025-01-09T12:00:00Z"),
      Ev("c2", "job_apply", "C", "2025-01-09T13:00:00Z"),
      Ev("c3", "application_status_changed", "C", "2025-01-10T01:00:00Z", interview),
      Ev("d1", "job_apply", "D", "2025-01-01T10:00:00Z"),
      Ev("e1", "job_view", "E", "2025-01-05T00:00:00Z"),
      Ev("f1", "job_view", "F", "2025-01-01T10:00:00Z"),
      Ev("f2", "job_apply", "F", "2025-01-01T10:00:00Z"),
      Ev("f3", "job_apply", "F", "2025-01-01T10:00:01Z"),
      Ev("g1", "job_view", "", "2025-01-01T10:00:00Z"),
      Ev("g2", "job_apply", "", "2025-01-01T10:00:01Z"),
  };
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-10T00:00:00Z");
  FunnelSpec f;
  f.window_ms = kDay;
  f.steps = {
      M("job_view"), M("job_apply"),
      M("application_status_changed", {F("status", FilterOp::kEq, {std::string("interview")})})};
  spec.kind = f;
  const Json expected = Json::parse(R"({"kind": "funnel", "by": "user", "steps": [
    {"event": "job_view", "count": 5, "conversion_from_previous": null,
     "conversion_from_first": 1.0, "median_ms_from_previous": null, "dropped": 1,
     "in_progress": 0},
    {"event": "job_apply", "count": 4, "conversion_from_previous": 0.8,
     "conversion_from_first": 0.8, "median_ms_from_previous": 3600000, "dropped": 2,
     "in_progress": 1},
    {"event": "application_status_changed", "count": 1, "conversion_from_previous": 0.25,
     "conversion_from_first": 0.2, "median_ms_from_previous": 28800000, "dropped": 0,
     "in_progress": 0}]})");
  EXPECT_EQ(RunOk(events, spec), expected);
}

TEST(ExecutorFunnel, OneEventNeverFillsTwoSteps) {
  const std::vector<Event> events = {
      Ev("a1", "job_view", "A", "2025-01-01T10:00:00Z"),
      Ev("b1", "job_view", "B", "2025-01-01T10:00:00Z"),
      Ev("b2", "job_view", "B", "2025-01-01T10:00:05Z"),
  };
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-10T00:00:00Z");
  FunnelSpec f;
  f.window_ms = kDay;
  f.steps = {M("job_view"), M("job_view")};
  spec.kind = f;
  const Json r = RunOk(events, spec);
  EXPECT_EQ(r["steps"][0]["count"], 1 + 1);
  EXPECT_EQ(r["steps"][1]["count"], 1);
  EXPECT_EQ(r["steps"][1]["median_ms_from_previous"], 5000);
  EXPECT_EQ(r["steps"][0]["dropped"], 1);
}

TEST(ExecutorFunnel, ByApplicationOpenApplicationsAreNotDropped) {
  const auto app = [](std::string id, std::string type, std::string_view ts, std::string a,
                      std::string status, bool de) {
    std::string props = R"({"application_id":")" + a + "\"";
    if (!status.empty()) props += R"(,"status":")" + status + "\"";
    props += "}";
    return Ev(std::move(id), std::move(type), "u1", ts, props, de ? R"({"country":"DE"})" : "{}");
  };
  const std::vector<Event> events = {
      app("x1", "job_apply", "2025-01-01T10:00:00Z", "X", "", true),
      app("x2", "application_status_changed", "2025-01-02T10:00:00Z", "X", "interview", true),
      app("y1", "job_apply", "2025-01-01T10:00:00Z", "Y", "", true),
      app("y2", "application_status_changed", "2025-01-03T10:00:00Z", "Y", "rejected", true),
      app("z1", "job_apply", "2025-01-02T10:00:00Z", "Z", "", true),
      app("z2", "application_status_changed", "2025-01-03T10:00:00Z", "Z", "applied", true),
      app("w1", "job_apply", "2025-01-02T10:00:00Z", "W", "", true),
      app("w2", "offer_accepted", "2025-01-04T10:00:00Z", "W", "", false),
      app("v1", "job_apply", "2025-01-02T10:00:00Z", "V", "", true),
      app("v2", "application_status_changed", "2025-01-12T10:00:00Z", "V", "withdrawn", true),
      app("q1", "job_apply", "2025-01-02T10:00:00Z", "Q", "", false),
      Ev("n1", "job_apply", "u1", "2025-01-02T10:00:00Z", "{}", R"({"country":"DE"})"),
  };
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-10T00:00:00Z");
  spec.filters = {F("country", FilterOp::kEq, {std::string("DE")})};
  FunnelSpec f;
  f.by = FunnelBy::kApplication;
  f.window_ms = 30 * kDay;
  f.steps = {M("job_apply"), M("application_status_changed",
                               {F("status", FilterOp::kEq, {std::string("interview")})})};
  spec.kind = f;
  const Json expected = Json::parse(R"({"kind": "funnel", "by": "application", "steps": [
    {"event": "job_apply", "count": 5, "conversion_from_previous": null,
     "conversion_from_first": 1.0, "median_ms_from_previous": null, "dropped": 2,
     "in_progress": 2},
    {"event": "application_status_changed", "count": 1, "conversion_from_previous": 0.2,
     "conversion_from_first": 0.2, "median_ms_from_previous": 86400000, "dropped": 0,
     "in_progress": 0}]})");
  EXPECT_EQ(RunOk(events, spec), expected);
}

TEST(ExecutorFunnel, EmptyFunnelHasNullConversions) {
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-10T00:00:00Z");
  FunnelSpec f;
  f.window_ms = kDay;
  f.steps = {M("nothing"), M("job_view")};
  spec.kind = f;
  const Json r = RunOk(DayEvents(), spec);
  EXPECT_EQ(r["steps"][0]["count"], 0);
  EXPECT_EQ(r["steps"][0]["conversion_from_first"], nullptr);
  EXPECT_EQ(r["steps"][1]["conversion_from_previous"], nullptr);
  EXPECT_EQ(r["steps"][1]["median_ms_from_previous"], nullptr);
}

// ---- retention

TEST(ExecutorRetention, DailyCohortsWithReturnsAfterTo) {
  const std::vector<Event> events = {
      Ev("1", "login", "u1", "2025-01-01T10:00:00Z"),
      Ev("2", "job_apply", "u1", "2025-01-02T10:00:00Z"),
      Ev("3", "login", "u2", "2025-01-01T11:00:00Z"),
      Ev("4", "login", "u2", "2025-01-02T11:00:00Z"),
      Ev("5", "job_apply", "u2", "2025-01-03T11:00:00Z"),  // after `to`
      Ev("6", "login", "u3", "2025-01-02T09:00:00Z"),
      Ev("7", "job_apply", "u3", "2025-01-02T10:00:00Z"),  // same bucket: not a return
      Ev("8", "job_apply", "u3", "2025-01-03T10:00:00Z"),
      Ev("9", "job_apply", "u3", "2025-01-03T12:00:00Z"),
      Ev("10", "job_apply", "u3", "2025-01-04T10:00:00Z"),
      Ev("11", "job_apply", "u4", "2025-01-02T10:00:00Z"),
      Ev("12", "login", "u5", "2024-12-31T10:00:00Z"),
      Ev("13", "login", "u5", "2025-01-02T10:00:00Z"),
      Ev("14", "job_apply", "u5", "2025-01-03T00:00:00Z"),
      Ev("15", "job_apply", "u5", "2025-01-05T00:00:00Z"),  // period 3: outside
      Ev("16", "login", "u6", "2025-01-03T00:00:00Z"),
      Ev("17", "login", "", "2025-01-01T00:00:00Z"),
  };
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-03T00:00:00Z");
  RetentionSpec rs;
  rs.start = M("login");
  rs.ret = M("job_apply");
  rs.period = Interval::kDay;
  rs.periods = 3;
  spec.kind = rs;
  const Json expected = Json::parse(R"({"kind": "retention", "period": "day", "cohorts": [
    {"start": "2025-01-01T00:00:00+00:00", "size": 2, "values": [2, 1, 1]},
    {"start": "2025-01-02T00:00:00+00:00", "size": 2, "values": [2, 2, 1]}]})");
  EXPECT_EQ(RunOk(events, spec), expected);

  // Global filters apply to start and return events.
  spec.filters = {F("user_id", FilterOp::kNeq, {std::string("u1")})};
  const Json filtered = RunOk(events, spec);
  EXPECT_EQ(filtered["cohorts"][0]["values"], Json::parse("[1, 0, 1]"));

  rs.periods = 1;
  spec.kind = rs;
  spec.filters.clear();
  const Json one = RunOk(events, spec);
  EXPECT_EQ(one["cohorts"][1]["values"], Json::parse("[2]"));
}

TEST(ExecutorRetention, WeeklyCohortsSkipEmptyWeeks) {
  const std::vector<Event> events = {
      Ev("1", "login", "u1", "2025-01-07T10:00:00Z"),
      Ev("2", "login", "u2", "2025-01-22T10:00:00Z"),
      Ev("3", "login", "u2", "2025-01-29T10:00:00Z"),
  };
  QuerySpec spec = Spec("2025-01-08T00:00:00Z", "2025-02-01T00:00:00Z");
  RetentionSpec rs;
  rs.start = M("login");
  rs.ret = M("login");
  rs.period = Interval::kWeek;
  rs.periods = 2;
  spec.kind = rs;
  const Json expected = Json::parse(R"({"kind": "retention", "period": "week", "cohorts": [
    {"start": "2025-01-20T00:00:00+00:00", "size": 1, "values": [1, 1]}]})");
  EXPECT_EQ(RunOk(events, spec), expected);
}

// ---- paths

std::vector<Event> PathEvents() {
  return {
      Ev("1", "A", "u1", "2025-01-01T01:00:00Z"),   Ev("2", "B", "u1", "2025-01-01T02:00:00Z"),
      Ev("3", "C", "u1", "2025-01-01T03:00:00Z"),   Ev("4", "A", "u1", "2025-01-01T04:00:00Z"),
      Ev("5", "B", "u1", "2025-01-01T05:00:00Z"),   Ev("6", "A", "u2", "2025-01-01T01:00:00Z"),
      Ev("7", "C", "u2", "2025-01-01T02:00:00Z"),   Ev("e-b", "X", "u2", "2025-01-01T03:00:00Z"),
      Ev("e-a", "Y", "u2", "2025-01-01T03:00:00Z"), Ev("8", "A", "", "2025-01-01T01:00:00Z"),
      Ev("9", "B", "", "2025-01-01T02:00:00Z"),
  };
}

TEST(ExecutorPaths, NextWithTiesByEventId) {
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  PathsSpec ps;
  ps.anchor = M("A");
  ps.depth = 3;
  spec.kind = ps;
  const Json expected = Json::parse(R"({"kind": "paths", "direction": "next", "paths": [
    {"depth": 1, "steps": ["A", "B"], "count": 2},
    {"depth": 1, "steps": ["A", "C"], "count": 1},
    {"depth": 2, "steps": ["A", "B", "C"], "count": 1},
    {"depth": 2, "steps": ["A", "C", "Y"], "count": 1},
    {"depth": 3, "steps": ["A", "B", "C", "A"], "count": 1},
    {"depth": 3, "steps": ["A", "C", "Y", "X"], "count": 1}]})");
  EXPECT_EQ(RunOk(PathEvents(), spec), expected);

  ps.limit = 1;
  ps.depth = 1;
  spec.kind = ps;
  EXPECT_EQ(RunOk(PathEvents(), spec)["paths"],
            Json::parse(R"([{"depth": 1, "steps": ["A", "B"], "count": 2}])"));
}

TEST(ExecutorPaths, PreviousAndGlobalFilters) {
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  PathsSpec ps;
  ps.anchor = M("A");
  ps.direction = Direction::kPrevious;
  ps.depth = 5;
  spec.kind = ps;
  const Json expected = Json::parse(R"({"kind": "paths", "direction": "previous", "paths": [
    {"depth": 1, "steps": ["A", "C"], "count": 1},
    {"depth": 2, "steps": ["A", "C", "B"], "count": 1},
    {"depth": 3, "steps": ["A", "C", "B", "A"], "count": 1}]})");
  EXPECT_EQ(RunOk(PathEvents(), spec), expected);

  spec.filters = {F("type", FilterOp::kNeq, {std::string("C")})};
  EXPECT_EQ(RunOk(PathEvents(), spec)["paths"], Json::parse(R"([
    {"depth": 1, "steps": ["A", "B"], "count": 1},
    {"depth": 2, "steps": ["A", "B", "A"], "count": 1}])"));
}

TEST(ExecutorPaths, AnchorFilters) {
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  PathsSpec ps;
  ps.anchor = M("A", {F("event_id", FilterOp::kEq, {std::string("4")})});
  ps.depth = 2;
  spec.kind = ps;
  EXPECT_EQ(RunOk(PathEvents(), spec)["paths"],
            Json::parse(R"([{"depth": 1, "steps": ["A", "B"], "count": 1}])"));
}

// ---- events

TEST(ExecutorEvents, PagesNewestFirst) {
  std::vector<Event> events = {
      Ev("e1", "job_view", "u1", "2025-01-01T01:00:00Z", R"({"b":1,"a":[true]})",
         R"({"country":"DE"})"),
      Ev("e2a", "job_view", "", "2025-01-01T02:00:00Z"),
      Ev("e2b", "job_apply", "u2", "2025-01-01T02:00:00Z"),
      Ev("e3", "job_view", "u1", "2025-01-01T03:00:00.123Z"),
      Ev("e4", "job_view", "u1", "2025-01-02T03:00:00Z"),  // at `to`
  };
  events[0].session_id = "s1";
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-02T03:00:00Z");
  spec.kind = EventsSpec{2, std::nullopt};
  const Json p1 = RunOk(events, spec);
  ASSERT_EQ(p1["events"].size(), 2u);
  EXPECT_EQ(p1["events"][0]["event_id"], "e3");
  EXPECT_EQ(p1["events"][0]["timestamp"], "2025-01-01T03:00:00.123Z");
  EXPECT_EQ(p1["events"][0]["received_at"], "2025-01-01T03:00:00.128Z");
  EXPECT_EQ(p1["events"][1]["event_id"], "e2b");
  EXPECT_EQ(p1["next_cursor"], "MTczNTY5NjgwMDAwMDplMmI");  // base64url("1735696800000:e2b")

  spec.kind = EventsSpec{2, std::make_pair(T("2025-01-01T02:00:00Z"), std::string("e2b"))};
  const Json p2 = RunOk(events, spec);
  ASSERT_EQ(p2["events"].size(), 2u);
  const Json expected_e2a = Json::parse(R"({"event_id": "e2a", "type": "job_view",
      "user_id": "", "anonymous_id": "anon", "session_id": "",
      "timestamp": "2025-01-01T02:00:00.000Z", "received_at": "2025-01-01T02:00:00.005Z",
      "properties": {}, "context": {}})");
  EXPECT_EQ(p2["events"][0], expected_e2a);
  EXPECT_EQ(p2["events"][1]["properties"], Json::parse(R"({"b":1,"a":[true]})"));
  EXPECT_EQ(p2["events"][1]["session_id"], "s1");
  EXPECT_EQ(p2["events"][1]["context"]["country"], "DE");
  EXPECT_TRUE(p2["next_cursor"].is_string());

  spec.kind = EventsSpec{2, std::make_pair(T("2025-01-01T01:00:00Z"), std::string("e1"))};
  const Json p3 = RunOk(events, spec);
  EXPECT_EQ(p3["events"], Json::array());
  EXPECT_EQ(p3["next_cursor"], nullptr);

  spec.kind = EventsSpec{3, std::nullopt};
  spec.filters = {F("user_id", FilterOp::kEq, {std::string("u1")})};
  const Json u1 = RunOk(events, spec);
  ASSERT_EQ(u1["events"].size(), 2u);
  EXPECT_EQ(u1["next_cursor"], nullptr);
}

// ---- limits

TEST(ExecutorLimits, DeadlineFailsWithQueryTimeout) {
  std::vector<Event> events;
  for (int i = 0; i < 30; ++i) {
    events.push_back(Ev("t" + std::to_string(i), "x", "u", "2025-01-01T01:00:00Z"));
  }
  TestSnapshot snap(events, {.seed = 1, .max_block_rows = 1, .block_delay_ms = 5});
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  spec.timeout_ms = 20;
  TrendsSpec t;
  t.series = {S("x", Math::kCount)};
  spec.kind = t;
  Result<Json> r = Execute(snap, spec, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kQueryTimeout);
  spec.timeout_ms = 10000;
  EXPECT_TRUE(Execute(snap, spec, {}).ok());
}

TEST(ExecutorLimits, MemoryBudget) {
  std::vector<Event> events;
  for (int i = 0; i < 3000; ++i) {
    events.push_back(Ev("m" + std::to_string(i), "x", "u" + std::to_string(i),
                        "2025-01-01T01:00:00Z",
                        R"({"application_id":"a)" + std::to_string(i) + "\"}"));
  }
  TestSnapshot snap(events, {.max_block_rows = 65536});
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
  ExecOptions small{.now_ms = 0, .max_memory_bytes = 16 << 10};

  TrendsSpec t;
  t.series = {S("x", Math::kCount)};
  t.breakdown = Breakdown{Column::kUser, "", 10};
  spec.kind = t;
  Result<Json> r = Execute(snap, spec, small);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kQueryMemoryExceeded);
  EXPECT_TRUE(Execute(snap, spec, {}).ok());

  FunnelSpec f;
  f.window_ms = kDay;
  f.by = FunnelBy::kApplication;
  f.steps = {M("x"), M("x")};
  spec.kind = f;
  r = Execute(snap, spec, small);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kQueryMemoryExceeded);
  ASSERT_TRUE(Execute(snap, spec, {}).ok());
  EXPECT_EQ((*Execute(snap, spec, {}))["steps"][0]["count"], 3000);

  PathsSpec ps;
  ps.anchor = M("x");
  spec.kind = ps;
  r = Execute(snap, spec, small);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kQueryMemoryExceeded);
}

TEST(ExecutorLimits, UserPinSkipsOtherUsersRows) {
  // The pinned user's rows only: rows of other users handed out by the store are filtered.
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-01-04T00:00:00Z");
  spec.filters = {F("user_id", FilterOp::kEq, {std::string("u1")})};
  TrendsSpec t;
  t.series = {S("job_view", Math::kCount)};
  spec.kind = t;
  EXPECT_EQ(RunOk(DayEvents(), spec)["series"][0]["values"], Json::parse("[1, 1, 0]"));
  spec.filters = {F("user_id", FilterOp::kEq, {std::string("nobody")})};
  EXPECT_EQ(RunOk(DayEvents(), spec)["series"][0]["total"], 0);
}

// Hands out pre-built blocks as they are: measures the executor alone.
class BenchSnapshot final : public store::TenantSnapshot {
 public:
  BenchSnapshot(size_t rows, int64_t from_ms, int64_t span_ms) {
    std::mt19937_64 rng(7);
    for (uint32_t t = 0; t <= 20; ++t) types_.push_back(t == 0 ? "" : "type" + std::to_string(t));
    for (size_t begin = 0; begin < rows; begin += 65536) {
      store::ColumnBatch b;
      const size_t n = std::min<size_t>(65536, rows - begin);
      for (size_t i = 0; i < n; ++i) {
        b.timestamp.push_back(from_ms + static_cast<int64_t>((begin + i) * span_ms / rows));
        b.Ids(Column::kType).push_back(1 + static_cast<uint32_t>(rng() % 20));
        b.Ids(Column::kUser).push_back(static_cast<uint32_t>(rng() % 100000));
      }
      blocks_.push_back(std::move(b));
    }
  }
  std::optional<uint32_t> Lookup(Column c, std::string_view v) const override {
    if (c != Column::kType) return v.empty() ? std::optional<uint32_t>(0) : std::nullopt;
    for (uint32_t i = 0; i < types_.size(); ++i) {
      if (types_[i] == v) return i;
    }
    return std::nullopt;
  }
  std::string_view Name(Column c, uint32_t id) const override {
    return c == Column::kType ? std::string_view(types_[id]) : "u";
  }
  uint32_t DictionarySize(Column c) const override {
    return c == Column::kType ? static_cast<uint32_t>(types_.size()) : 100000;
  }
  Status Scan(const store::ScanRequest&,
              const std::function<Status(const store::ColumnBatch&)>& fn) const override {
    for (const store::ColumnBatch& b : blocks_) {
      Status s = fn(b);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

 private:
  std::vector<std::string> types_;
  std::vector<store::ColumnBatch> blocks_;
};

// CA_EXECUTOR_BENCH_ROWS=5000000 ./executor_test --gtest_filter='*Bench*' (release build).
TEST(ExecutorBench, CountByTypeByDay) {
  const char* env = std::getenv("CA_EXECUTOR_BENCH_ROWS");
  if (env == nullptr) GTEST_SKIP() << "set CA_EXECUTOR_BENCH_ROWS to run";
  const size_t rows = std::strtoull(env, nullptr, 10);
  QuerySpec spec = Spec("2025-01-01T00:00:00Z", "2025-04-01T00:00:00Z");
  BenchSnapshot snap(rows, spec.from_ms, spec.to_ms - spec.from_ms);
  const auto measure = [&](const char* name, const QuerySpec& q) {
    const auto start = std::chrono::steady_clock::now();
    Result<Json> r = Execute(snap, q, {});
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::printf("%-40s %zu rows in %.3f s: %.1f M rows/s\n", name, rows, s,
                static_cast<double>(rows) / s / 1e6);
  };
  TrendsSpec t;
  t.series = {S("type3", Math::kCount)};
  t.breakdown = Breakdown{Column::kType, "", 100};
  QuerySpec q = spec;
  q.kind = t;
  measure("count by type (one series, breakdown)", q);
  t.breakdown.reset();
  t.series.clear();
  for (int i = 1; i <= 10; ++i) t.series.push_back(S("type" + std::to_string(i), Math::kCount));
  q.kind = t;
  measure("count, 10 series (types), by day", q);
  t.series = {S("type3", Math::kCount)};
  q.kind = t;
  measure("count, 1 series, by day", q);
  t.series = {S("type3", Math::kUniqueUsers)};
  q.kind = t;
  measure("unique_users, 1 series, by day", q);
  q.filters = {F("type", FilterOp::kIn, {std::string("type1"), std::string("type2")})};
  q.kind = t;
  measure("unique_users + global type filter", q);
}

}  // namespace
}  // namespace ca::query
