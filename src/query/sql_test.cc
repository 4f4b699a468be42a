#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "query/spec.h"
#include "query/sql_compiler.h"
#include "query/sqlite_engine.h"

namespace ca::query {
namespace {

using Json = nlohmann::json;

constexpr int64_t kT0 = 1736121600000;  // 2025-01-06T00:00:00Z, a Monday
constexpr int64_t kHour = 3600000;
constexpr int64_t kDay = 24 * kHour;

event::Event Ev(std::string id, std::string type, std::string user, int64_t ts,
                std::string props = "{}", std::string ctx = "{}") {
  event::Event e;
  e.tenant = "t";
  e.event_id = std::move(id);
  e.type = std::move(type);
  e.user_id = std::move(user);
  if (e.user_id.empty()) e.anonymous_id = "anon";
  e.timestamp_ms = ts;
  e.received_at_ms = ts + 5;
  e.properties_json = std::move(props);
  e.context_json = std::move(ctx);
  return e;
}

class SqlEngineTest : public ::testing::Test {
 protected:
  void Load(std::vector<event::Event> events) {
    auto engine = SqliteEngine::Open(":memory:");
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(*engine);
    event::Event other = Ev("o1", "job_apply", "u1", kT0 + kHour, R"({"status":"interview"})");
    other.tenant = "other";
    events.push_back(other);
    ASSERT_TRUE(engine_->Insert(events).ok());
  }

  Json Run(const std::string& spec_json) {
    auto spec = ParseQuerySpec(spec_json);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    if (!spec.ok()) return Json();
    auto result = engine_->Run("t", *spec);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : Json();
  }

  /// Ids of the events in [kT0, kT0 + 10 days) passing `filters` (a JSON array), sorted.
  std::vector<std::string> Ids(const std::string& filters) {
    Json r = Run(R"({"kind":"events","from":)" + std::to_string(kT0) + R"(,"to":)" +
                 std::to_string(kT0 + 10 * kDay) + R"(,"limit":1000,"filters":)" + filters + "}");
    std::vector<std::string> ids;
    for (const auto& e : r["events"]) ids.push_back(e["event_id"].get<std::string>());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::unique_ptr<SqliteEngine> engine_;
};

std::string Range(int64_t from, int64_t to) {
  return R"("from":)" + std::to_string(from) + R"(,"to":)" + std::to_string(to);
}

// Expected JSON is compared as dumped text, so 1 and 1.0 differ.
void ExpectJson(const Json& got, const std::string& want) {
  EXPECT_EQ(got.dump(), Json::parse(want).dump());
}

class TrendsTest : public SqlEngineTest {
 protected:
  void SetUp() override {
    Load({Ev("e1", "job_apply", "u1", kT0 + 10 * kHour, R"({"status":"interview","value":10})"),
          Ev("e2", "job_apply", "u2", kT0 + 11 * kHour, R"({"status":"rejected","value":20})"),
          Ev("e3", "job_apply", "u1", kT0 + kDay + 9 * kHour,
             R"({"status":"interview","seconds":5})"),
          Ev("e4", "job_apply", "", kT0 + 2 * kDay, R"({"status":""})"),
          Ev("e5", "job_view", "u1", kT0 + 12 * kHour),
          Ev("e6", "job_apply", "u3", kT0 + 3 * kDay, R"({"status":"interview"})")});
  }

  Json Series(const std::string& series, const std::string& breakdown = "") {
    std::string spec = R"({"kind":"trends",)" + Range(kT0, kT0 + 3 * kDay) +
                       R"(,"interval":"day","series":[)" + series + "]";
    if (!breakdown.empty()) spec += R"(,"breakdown":)" + breakdown;
    return Run(spec + "}");
  }
};

TEST_F(TrendsTest, CountWithBucketsAndEmptySeries) {
  ExpectJson(Series(R"({"event":"job_apply","math":"count"},{"event":"nothing","math":"avg"})"),
             R"({"kind":"trends","interval":"day","timezone":"UTC",
  "buckets":["2025-01-06T00:00:00+00:00","2025-01-07T00:00:00+00:00","2025-01-08T00:00:00+00:00"],
  "series":[{"index":0,"event":"job_apply","math":"count","breakdown":null,"other":false,
             "values":[2,1,1],"total":4},
            {"index":1,"event":"nothing","math":"avg","breakdown":null,"other":false,
             "values":[],"total":null}]})");
}

TEST_F(TrendsTest, EveryMath) {
  auto values = [&](const std::string& math) {
    Json r = Series(R"({"event":"job_apply","math":")" + math + "\"}");
    return r["series"][0]["values"].dump() + " " + r["series"][0]["total"].dump();
  };
  EXPECT_EQ(values("unique_users"), "[2,1,0] 2");
  EXPECT_EQ(values("sum"), "[30.0,5.0,0.0] 35.0");
  EXPECT_EQ(values("avg"), "[15.0,5.0,null] " + Json(35.0 / 3).dump());
  EXPECT_EQ(values("min"), "[10.0,5.0,null] 5.0");
  EXPECT_EQ(values("max"), "[20.0,5.0,null] 20.0");
  EXPECT_EQ(values("p50"), "[10.0,5.0,null] 10.0");
  EXPECT_EQ(values("p90"), "[20.0,5.0,null] 20.0");
  EXPECT_EQ(values("p99"), "[20.0,5.0,null] 20.0");
}

TEST_F(TrendsTest, BreakdownRanksNullFirstAmongTiesAndAddsOther) {
  auto rows = [&](int limit) {
    Json r = Series(R"({"event":"job_apply","math":"count"})",
                    R"({"field":"status","limit":)" + std::to_string(limit) + "}");
    std::string out;
    for (const auto& s : r["series"]) {
      out += s["breakdown"].dump() + (s["other"].get<bool>() ? "+other" : "") + "=" +
             s["values"].dump() + "/" + s["total"].dump() + " ";
    }
    return out;
  };
  EXPECT_EQ(rows(1), "\"interview\"=[1,1,0]/2 null+other=[1,0,1]/2 ");
  EXPECT_EQ(rows(2), "\"interview\"=[1,1,0]/2 null=[0,0,1]/1 null+other=[1,0,0]/1 ");
  EXPECT_EQ(rows(3), "\"interview\"=[1,1,0]/2 null=[0,0,1]/1 \"rejected\"=[1,0,0]/1 ");
}

TEST_F(TrendsTest, BreakdownByPropertyUsesStringValuesOnly) {
  Json r =
      Series(R"({"event":"job_apply","math":"unique_users"})", R"({"property":"value","limit":5})");
  ASSERT_EQ(r["series"].size(), 1u);  // numbers are not string values: all absent
  EXPECT_EQ(r["series"][0]["breakdown"], Json(nullptr));
  EXPECT_EQ(r["series"][0]["values"].dump(), "[2,1,0]");
}

TEST_F(TrendsTest, TimeZoneMovesEventsBetweenDays) {
  // In Asia/Kolkata (+05:30) e4 (2025-01-08T00:00Z = 05:30 local) stays on the 8th, e1 (10:00Z)
  // and e2 (11:00Z) on the 6th, e3 (2025-01-07T09:00Z) on the 7th; `to` - 1 ms is on the 9th.
  Json r = Run(R"({"kind":"trends",)" + Range(kT0, kT0 + 3 * kDay) +
               R"(,"timezone":"Asia/Kolkata","interval":"day",
                   "series":[{"event":"job_apply"}]})");
  EXPECT_EQ(
      r["buckets"].dump(),
      R"(["2025-01-06T00:00:00+05:30","2025-01-07T00:00:00+05:30","2025-01-08T00:00:00+05:30",)"
      R"("2025-01-09T00:00:00+05:30"])");
  EXPECT_EQ(r["series"][0]["values"].dump(), "[2,1,1,0]");
  Json ny = Run(R"({"kind":"trends",)" + Range(kT0, kT0 + 3 * kDay) +
                R"(,"timezone":"America/New_York","interval":"day",
                    "series":[{"event":"job_apply"}]})");
  // Local days from 2025-01-05 (-05:00): e1, e2 on the 6th; e3 on the 7th; e4 (19:00 on the 7th).
  EXPECT_EQ(ny["buckets"][0], "2025-01-05T00:00:00-05:00");
  EXPECT_EQ(ny["series"][0]["values"].dump(), "[0,2,2,0]");
}

class FilterTest : public SqlEngineTest {
 protected:
  void SetUp() override {
    Load({Ev("f1", "job_view", "u1", kT0 + 1,
             R"({"source":"search","n":5,"remote":true,"status":"interview"})",
             R"({"country":"DE","page":{"path":"/jobs"}})"),
          Ev("f2", "job_view", "u2", kT0 + 2,
             R"({"source":"recommendations","n":5.0,"remote":false,"path":"/p2"})",
             R"({"country":"US"})"),
          Ev("f3", "job_apply", "u1", kT0 + 3,
             R"({"source":"email","n":"5","remote":null,"value":7,"path":"/p3"})",
             R"({"page":{"path":""}})"),
          Ev("f4", "job_apply", "", kT0 + 4, R"({"n":12.5,"seconds":3,"status":5})",
             R"({"device":"mobile"})"),
          Ev("f5", "job_save", "u3", kT0 + 5, R"({"a-b$":"x"})")});
  }
  using V = std::vector<std::string>;
};

TEST_F(FilterTest, CoreStringFields) {
  EXPECT_EQ(Ids(R"([{"field":"status","op":"eq","value":"interview"}])"), V({"f1"}));
  EXPECT_EQ(Ids(R"([{"field":"status","op":"neq","value":"interview"}])"),
            V({"f2", "f3", "f4", "f5"}));
  EXPECT_EQ(Ids(R"([{"field":"status","op":"exists"}])"), V({"f1"}));
  EXPECT_EQ(Ids(R"([{"field":"country","op":"in","value":["DE","US","FR"]}])"), V({"f1", "f2"}));
  EXPECT_EQ(Ids(R"([{"field":"path","op":"contains","value":"/p"}])"), V({"f2", "f3"}));
  EXPECT_EQ(Ids(R"([{"field":"path","op":"eq","value":"/jobs"}])"), V({"f1"}));
  EXPECT_EQ(Ids(R"([{"field":"user_id","op":"exists"}])"), V({"f1", "f2", "f3", "f5"}));
  EXPECT_EQ(Ids(R"([{"field":"user_id","op":"neq","value":"u1"}])"), V({"f2", "f4", "f5"}));
  EXPECT_EQ(Ids(R"([{"field":"anonymous_id","op":"exists"}])"), V({"f4"}));
  EXPECT_EQ(Ids(R"([{"field":"device","op":"eq","value":"mobile"}])"), V({"f4"}));
  EXPECT_EQ(Ids(R"([{"field":"event_id","op":"in","value":["f1","f5","zz"]}])"), V({"f1", "f5"}));
  EXPECT_EQ(Ids(R"([{"field":"type","op":"contains","value":"job_"},
                    {"field":"type","op":"neq","value":"job_view"}])"),
            V({"f3", "f4", "f5"}));
  EXPECT_EQ(Ids(R"([{"field":"session_id","op":"exists"}])"), V());
}

TEST_F(FilterTest, ValueField) {
  EXPECT_EQ(Ids(R"([{"field":"value","op":"gt","value":5}])"), V({"f3"}));
  EXPECT_EQ(Ids(R"([{"field":"value","op":"lt","value":5}])"), V({"f4"}));
  EXPECT_EQ(Ids(R"([{"field":"value","op":"eq","value":7}])"), V({"f3"}));
  EXPECT_EQ(Ids(R"([{"field":"value","op":"neq","value":7}])"), V({"f1", "f2", "f4", "f5"}));
  EXPECT_EQ(Ids(R"([{"field":"value","op":"in","value":[3,7.0]}])"), V({"f3", "f4"}));
  EXPECT_EQ(Ids(R"([{"field":"value","op":"exists"}])"), V({"f3", "f4"}));
}

TEST_F(FilterTest, Properties) {
  EXPECT_EQ(Ids(R"([{"property":"source","op":"eq","value":"search"}])"), V({"f1"}));
  EXPECT_EQ(Ids(R"([{"property":"source","op":"neq","value":"search"}])"),
            V({"f2", "f3", "f4", "f5"}));
  EXPECT_EQ(Ids(R"([{"property":"source","op":"in","value":["search","email"]}])"),
            V({"f1", "f3"}));
  EXPECT_EQ(Ids(R"([{"property":"n","op":"eq","value":5}])"), V({"f1", "f2"}));
  EXPECT_EQ(Ids(R"([{"property":"n","op":"eq","value":"5"}])"), V({"f3"}));
  EXPECT_EQ(Ids(R"([{"property":"n","op":"in","value":[5,"5"]}])"), V({"f1", "f2", "f3"}));
  EXPECT_EQ(Ids(R"([{"property":"n","op":"gt","value":5}])"), V({"f4"}));
  EXPECT_EQ(Ids(R"([{"property":"n","op":"lt","value":10}])"), V({"f1", "f2"}));
  EXPECT_EQ(Ids(R"([{"property":"remote","op":"eq","value":true}])"), V({"f1"}));
  EXPECT_EQ(Ids(R"([{"property":"remote","op":"eq","value":false}])"), V({"f2"}));
  EXPECT_EQ(Ids(R"([{"property":"remote","op":"eq","value":1}])"), V());
  EXPECT_EQ(Ids(R"([{"property":"remote","op":"neq","value":true}])"), V({"f2", "f3", "f4", "f5"}));
  EXPECT_EQ(Ids(R"([{"property":"remote","op":"exists"}])"), V({"f1", "f2"}));
  EXPECT_EQ(Ids(R"([{"property":"source","op":"contains","value":"re"}])"), V({"f2"}));
  EXPECT_EQ(Ids(R"([{"property":"n","op":"contains","value":"5"}])"), V({"f3"}));
  EXPECT_EQ(Ids(R"([{"property":"status","op":"eq","value":5}])"), V({"f4"}));
  EXPECT_EQ(Ids(R"([{"property":"a-b$","op":"eq","value":"x"}])"), V({"f5"}));
  EXPECT_EQ(Ids(R"([{"property":"source","op":"exists"},
                    {"property":"remote","op":"neq","value":false}])"),
            V({"f1", "f3"}));
}

class FunnelTest : public SqlEngineTest {};

TEST_F(FunnelTest, ByUserGreedyChainsDropOffAndInProgress) {
  std::string interview = R"({"status":"interview"})";
  Load({// A: level 3.
        Ev("a1", "job_view", "A", kT0), Ev("a2", "job_apply", "A", kT0 + kHour),
        Ev("a3", "application_status_changed", "A", kT0 + 2 * kHour, interview),
        // B: two starts reach step 2; the earliest is kept (6 h to apply).
        Ev("b1", "job_view", "B", kT0), Ev("b2", "job_view", "B", kT0 + 5 * kHour),
        Ev("b3", "job_apply", "B", kT0 + 6 * kHour),
        // C: view only. D: apply before the view. E: apply after the window.
        Ev("c1", "job_view", "C", kT0 + 10 * kHour), Ev("d1", "job_apply", "D", kT0 + kHour),
        Ev("d2", "job_view", "D", kT0 + 2 * kHour), Ev("e1", "job_view", "E", kT0),
        Ev("e2", "job_apply", "E", kT0 + 30 * kHour),
        // F: the apply has the same timestamp as the view (not strictly later).
        Ev("f1", "job_view", "F", kT0 + 3 * kHour), Ev("f2", "job_apply", "F", kT0 + 3 * kHour),
        // G: starts late enough for its window to outlast the range: in progress.
        Ev("g1", "job_view", "G", kT0 + 30 * kHour),
        // No user: ignored.
        Ev("n1", "job_view", "", kT0)});
  Json r = Run(R"({"kind":"funnel",)" + Range(kT0, kT0 + 48 * kHour) +
               R"(,"by":"user","window_ms":86400000,"steps":[{"event":"job_view"},
               {"event":"job_apply"},{"event":"application_status_changed",
                "filters":[{"field":"status","op":"eq","value":"interview"}]}]})");
  ExpectJson(r, R"({"kind":"funnel","by":"user","steps":[
    {"event":"job_view","count":7,"conversion_from_previous":null,"conversion_from_first":1.0,
     "median_ms_from_previous":null,"dropped":4,"in_progress":1},
    {"event":"job_apply","count":2,"conversion_from_previous":)" +
                    Json(2.0 / 7).dump() + R"(,"conversion_from_first":)" + Json(2.0 / 7).dump() +
                    R"(,"median_ms_from_previous":3600000,"dropped":1,"in_progress":0},
    {"event":"application_status_changed","count":1,"conversion_from_previous":0.5,
     "conversion_from_first":)" +
                    Json(1.0 / 7).dump() +
                    R"(,"median_ms_from_previous":3600000,"dropped":0,"in_progress":0}]})");
}

TEST_F(FunnelTest, ByApplicationOpenApplicationsAreInProgress) {
  auto app = [](const std::string& id, const std::string& more = "") {
    return R"({"application_id":")" + id + "\"" + more + "}";
  };
  Load({Ev("x1", "job_apply", "u", kT0, app("X1")), Ev("x2", "job_apply", "u", kT0, app("X2")),
        Ev("x2r", "application_status_changed", "u", kT0 + 5 * kHour,
           app("X2", R"(,"status":"rejected")")),
        Ev("x3", "job_apply", "u", kT0, app("X3")),
        Ev("x3i", "application_status_changed", "u", kT0 + 2 * kHour,
           app("X3", R"(,"status":"interview")")),
        Ev("x4", "job_apply", "u", kT0, app("X4")),
        Ev("x4o", "offer_rejected", "u", kT0 + 60 * kHour, app("X4")),
        Ev("x5", "job_apply", "u", kT0 + kHour, app("X5")),
        Ev("x5w", "application_status_changed", "u", kT0 + 10 * kHour,
           app("X5", R"(,"status":"withdrawn","src":"x")")),
        Ev("none", "job_apply", "u", kT0)});
  Json r = Run(R"({"kind":"funnel",)" + Range(kT0, kT0 + 48 * kHour) +
               R"(,"by":"application","window_ms":864000000,
               "filters":[{"property":"src","op":"neq","value":"x"}],
               "steps":[{"event":"job_apply"},{"event":"application_status_changed",
                "filters":[{"field":"status","op":"eq","value":"interview"}]}]})");
  ExpectJson(r, R"({"kind":"funnel","by":"application","steps":[
    {"event":"job_apply","count":5,"conversion_from_previous":null,"conversion_from_first":1.0,
     "median_ms_from_previous":null,"dropped":2,"in_progress":2},
    {"event":"application_status_changed","count":1,"conversion_from_previous":0.2,
     "conversion_from_first":0.2,"median_ms_from_previous":7200000,"dropped":0,
     "in_progress":0}]})");
}

TEST_F(FunnelTest, NoEntities) {
  Load({});
  Json r = Run(R"({"kind":"funnel",)" + Range(kT0, kT0 + kDay) +
               R"(,"window_ms":1000,"steps":[{"event":"a"},{"event":"b"}]})");
  ExpectJson(r, R"({"kind":"funnel","by":"user","steps":[
    {"event":"a","count":0,"conversion_from_previous":null,"conversion_from_first":null,
     "median_ms_from_previous":null,"dropped":0,"in_progress":0},
    {"event":"b","count":0,"conversion_from_previous":null,"conversion_from_first":null,
     "median_ms_from_previous":null,"dropped":0,"in_progress":0}]})");
}

TEST_F(SqlEngineTest, RetentionCountsReturnsAfterTo) {
  Load({Ev("1a", "login", "u1", kT0 + 10 * kHour), Ev("1b", "login", "u1", kT0 + kDay),
        Ev("1c", "job_apply", "u1", kT0 + kDay + kHour),
        Ev("1d", "job_apply", "u1", kT0 + 2 * kDay + kHour),  // after `to`
        Ev("2a", "login", "u2", kT0 + kDay + 5 * kHour),
        Ev("2b", "job_apply", "u2", kT0 + kDay + 8 * kHour),  // same bucket: not a return
        Ev("2c", "job_apply", "u2", kT0 + 3 * kDay),
        Ev("3a", "job_apply", "u3", kT0 + kHour),  // no start event
        Ev("4a", "login", "", kT0),                // no user
        Ev("5a", "login", "u5", kT0), Ev("5b", "job_apply", "u5", kT0 + 3 * kDay)});  // n = 3
  Json r = Run(R"({"kind":"retention",)" + Range(kT0, kT0 + 2 * kDay) +
               R"(,"period":"day","periods":3,"start_event":{"event":"login"},
                   "return_event":{"event":"job_apply"}})");
  ExpectJson(r, R"({"kind":"retention","period":"day","cohorts":[
    {"start":"2025-01-06T00:00:00+00:00","size":2,"values":[2,1,1]},
    {"start":"2025-01-07T00:00:00+00:00","size":1,"values":[1,0,1]}]})");
}

class PathsTest : public SqlEngineTest {
 protected:
  void SetUp() override {
    Load({Ev("p1", "A", "u1", kT0), Ev("p2", "B", "u1", kT0 + kHour),
          Ev("p3", "C", "u1", kT0 + 2 * kHour), Ev("p4", "A", "u1", kT0 + 3 * kHour),
          Ev("p5", "B", "u1", kT0 + 4 * kHour),
          // Same timestamp: event_id orders x1 (B) before x2 (A).
          Ev("x2", "A", "u2", kT0), Ev("x1", "B", "u2", kT0), Ev("x3", "C", "u2", kT0 + kHour),
          Ev("n1", "A", "", kT0), Ev("n2", "B", "", kT0 + kHour)});
  }
  std::string Paths(const std::string& rest) {
    Json r = Run(R"({"kind":"paths",)" + Range(kT0, kT0 + kDay) + "," + rest + "}");
    std::string out = r["direction"].get<std::string>() + ":";
    for (const auto& p : r["paths"]) {
      out += " " + std::to_string(p["depth"].get<int>()) + p["steps"].dump() + "=" +
             std::to_string(p["count"].get<int>());
    }
    return out;
  }
};

TEST_F(PathsTest, NextAndPrevious) {
  EXPECT_EQ(Paths(R"("event":{"event":"A"},"direction":"next","depth":2)"),
            R"(next: 1["A","B"]=2 1["A","C"]=1 2["A","B","C"]=1)");
  EXPECT_EQ(Paths(R"("event":{"event":"A"},"direction":"previous","depth":3)"),
            R"(previous: 1["A","B"]=1 1["A","C"]=1 2["A","C","B"]=1 3["A","C","B","A"]=1)");
  EXPECT_EQ(Paths(R"("event":{"event":"A"},"depth":2,"limit":1)"),
            R"(next: 1["A","B"]=2 2["A","B","C"]=1)");
}

TEST_F(PathsTest, GlobalFiltersShapeTheSequenceAnchorFiltersTheStarts) {
  EXPECT_EQ(Paths(R"("event":{"event":"A"},"depth":2,
                     "filters":[{"field":"type","op":"neq","value":"C"}])"),
            R"(next: 1["A","B"]=2 2["A","B","A"]=1)");
  EXPECT_EQ(Paths(R"("event":{"event":"A","filters":[{"field":"event_id","op":"eq","value":"p4"}]},
                     "depth":2)"),
            R"(next: 1["A","B"]=1)");
}

TEST_F(SqlEngineTest, EventsCursorPagination) {
  Load({Ev("e1", "job_view", "u1", kT0 + 1000), Ev("e2", "job_view", "", kT0 + 2000),
        Ev("e3a", "job_view", "u1", kT0 + 3000), Ev("e3b", "job_apply", "u2", kT0 + 3000),
        Ev("e4", "job_view", "u1", kT0 + 4000, R"({"value":1.5,"a":[1,{"b":null}]})",
           R"({"country":"DE"})")});
  std::string base = R"({"kind":"events",)" + Range(kT0, kT0 + kDay) + R"(,"limit":2)";
  Json p1 = Run(base + "}");
  ASSERT_EQ(p1["events"].size(), 2u);
  ExpectJson(p1["events"][0], R"({"event_id":"e4","type":"job_view","user_id":"u1",
    "anonymous_id":"","session_id":"","timestamp":"2025-01-06T00:00:04.000Z",
    "received_at":"2025-01-06T00:00:04.005Z","properties":{"value":1.5,"a":[1,{"b":null}]},
    "context":{"country":"DE"}})");
  EXPECT_EQ(p1["events"][1]["event_id"], "e3b");
  EXPECT_EQ(p1["next_cursor"], EncodeCursor(kT0 + 3000, "e3b"));
  Json p2 = Run(base + R"(,"cursor":)" + p1["next_cursor"].dump() + "}");
  ASSERT_EQ(p2["events"].size(), 2u);
  EXPECT_EQ(p2["events"][0]["event_id"], "e3a");
  EXPECT_EQ(p2["events"][1]["event_id"], "e2");
  EXPECT_EQ(p2["events"][1]["user_id"], "");
  EXPECT_EQ(p2["events"][1]["anonymous_id"], "anon");
  Json p3 = Run(base + R"(,"cursor":)" + p2["next_cursor"].dump() + "}");
  ASSERT_EQ(p3["events"].size(), 1u);
  EXPECT_EQ(p3["events"][0]["event_id"], "e1");
  EXPECT_TRUE(p3["next_cursor"].is_null());
}

TEST_F(SqlEngineTest, TimeoutInterruptsALongQuery) {
  std::vector<event::Event> events;
  for (int i = 0; i < 3000; ++i) {
    events.push_back(
        Ev("v" + std::to_string(i), "job_view", "u" + std::to_string(i % 50), kT0 + i * 1000));
  }
  Load(events);
  auto spec = ParseQuerySpec(R"({"kind":"funnel",)" + Range(kT0, kT0 + kDay) +
                             R"(,"timeout_ms":1,"window_ms":86400000,
                             "steps":[{"event":"job_view"},{"event":"job_view"},
                             {"event":"job_view"},{"event":"job_view"}]})");
  ASSERT_TRUE(spec.ok());
  auto r = engine_->Run("t", *spec);
  EXPECT_EQ(r.status().code(), ErrorCode::kQueryTimeout);
}

TEST(SqlCompilerTest, UserStringsAreBoundNotInlined) {
  auto spec = ParseQuerySpec(R"({"kind":"trends","from":0,"to":86400000,
      "filters":[{"property":"x_1","op":"eq","value":"it's; DROP TABLE events"}],
      "series":[{"event":"ev'il"}],"breakdown":{"property":"p$q"}})");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto plan = CompileSql(*spec, "tenant'x", Dialect::kSqlite);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->statements.size(), 1u);
  const SqlStatement& st = plan->statements[0];
  for (const char* s : {"DROP", "ev'il", "tenant'x", "x_1", "p$q"}) {
    EXPECT_EQ(st.sql.find(s), std::string::npos) << s;
  }
  EXPECT_NE(std::find(st.params.begin(), st.params.end(), SqlValue(std::string("tenant'x"))),
            st.params.end());
  EXPECT_FALSE(CompileSql(*spec, "t", Dialect::kPostgres).ok());
}

}  // namespace
}  // namespace ca::query

namespace ca::query {
namespace {

TEST_F(SqlEngineTest, TenThousandEventsEveryKind) {
  std::vector<event::Event> events;
  const char* types[] = {"job_view", "job_apply", "application_status_changed", "login"};
  const char* statuses[] = {"interview", "rejected", "applied", "offer", "withdrawn"};
  uint64_t x = 12345;
  auto next = [&x] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 33;
  };
  for (int i = 0; i < 10000; ++i) {
    std::string props = R"({"application_id":"a)" + std::to_string(next() % 800) +
                        R"(","status":")" + statuses[next() % 5] + R"(","value":)" +
                        std::to_string(next() % 100) + "}";
    events.push_back(Ev("id" + std::to_string(i), types[next() % 4],
                        "u" + std::to_string(next() % 300),
                        kT0 + static_cast<int64_t>(next() % (30 * kDay)), props));
  }
  Load(events);
  std::string range = Range(kT0, kT0 + 30 * kDay);
  for (const std::string& spec :
       {R"({"kind":"trends",)" + range +
            R"(,"interval":"hour","series":[{"event":"job_view","math":"p90"},
               {"event":"job_apply","math":"unique_users"},{"event":"login","math":"avg"}],
               "breakdown":{"field":"status","limit":3}})",
        R"({"kind":"funnel",)" + range +
            R"(,"by":"application","window_ms":864000000,"steps":[{"event":"job_view"},
               {"event":"job_apply"},{"event":"application_status_changed"},{"event":"login"}]})",
        R"({"kind":"funnel",)" + range +
            R"(,"by":"user","window_ms":86400000,"steps":[{"event":"job_view"},
               {"event":"job_apply"},{"event":"application_status_changed"}]})",
        R"({"kind":"retention",)" + range +
            R"(,"period":"day","periods":10,"start_event":{"event":"login"},
               "return_event":{"event":"job_apply"}})",
        R"({"kind":"paths",)" + range + R"(,"event":{"event":"job_view"},"depth":5})",
        R"({"kind":"events",)" + range +
            R"(,"limit":1000,"filters":[{"property":"value","op":"gt","value":50}]})"}) {
    auto start = std::chrono::steady_clock::now();
    Json r = Run(spec);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    EXPECT_TRUE(r.is_object());
    std::printf("%s: %lld ms, %zu bytes\n", r["kind"].dump().c_str(), static_cast<long long>(ms),
                r.dump().size());
  }
}

}  // namespace
}  // namespace ca::query
