#include "services/admin_dashboard_service.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cache/lru_cache.h"
#include "event/event_codec.h"
#include "event/timestamp.h"
#include "services/wal_store_state_test.h"
#include "state/sqlite_state_store.h"
#include "wal/wal_test_util.h"

namespace ca::services {
namespace {

using nlohmann::json;

int64_t At(const char* iso) { return *event::ParseIso8601Millis(iso); }

// "Now" is Wednesday 2024-10-09 12:00 UTC; this week started on Monday 2024-10-07.
const char* const kNow = "2024-10-09T12:00:00Z";

struct Sent {
  const char* user;
  const char* type;
  std::string at;
  std::string properties = "{}";
};

// acme's users:
// - u1 runs the whole funnel today, and views two pages;
// - u2 views and saves a job today;
// - u3 views a job on Saturday 10-05 and searches on Monday 10-07 (a week-1 return);
// - u4 searches on 09-20 (in the month, not the week);
// - u5 views a page on Sunday 09-01 (the month before the month);
// - u6 views a page yesterday 11:00 (the day before the last 24 hours).
const std::vector<Sent> kAcme = {
    {"u1", "job_view", "2024-10-09T10:00:00Z", R"({"job_id":"j1"})"},
    {"u1", "job_save", "2024-10-09T10:05:00Z", R"({"job_id":"j1"})"},
    {"u1", "job_apply", "2024-10-09T10:10:00Z", R"({"job_id":"j1","application_id":"a1"})"},
    {"u1", "interview_scheduled", "2024-10-09T10:20:00Z", R"({"application_id":"a1"})"},
    {"u1", "offer_received", "2024-10-09T10:30:00Z", R"({"application_id":"a1"})"},
    {"u1", "page_view", "2024-10-09T10:40:00Z"},
    {"u1", "page_view", "2024-10-09T10:41:00Z"},
    {"u2", "job_view", "2024-10-09T09:00:00Z", R"({"job_id":"j2"})"},
    {"u2", "job_save", "2024-10-09T09:10:00Z", R"({"job_id":"j2"})"},
    {"u3", "job_view", "2024-10-05T09:00:00Z", R"({"job_id":"j3"})"},
    {"u3", "search", "2024-10-07T08:00:00Z", R"({"query":"data"})"},
    {"u4", "search", "2024-09-20T09:00:00Z", R"({"query":"data"})"},
    {"u5", "page_view", "2024-09-01T09:00:00Z"},
    {"u6", "page_view", "2024-10-08T11:00:00Z"},
};

class AdminDashboardServiceTest : public WalStoreStateTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenWalStoreState({"acme", "other", "system"}));
    Send("acme", kAcme);
    // Another tenant: many users today, and a route of its own; never counted for acme.
    std::vector<Sent> other;
    for (const char* u : {"x1", "x2", "x3", "x4"}) {
      other.push_back({u, "job_view", "2024-10-09T08:00:00Z", R"({"job_id":"j9"})"});
      other.push_back({u, "offer_received", "2024-10-09T08:30:00Z", R"({"application_id":"b"})"});
    }
    other.push_back({"x1", "perf_metric", "2024-10-09T11:30:00Z",
                     R"({"name":"http_request","value":5000,"route":"/other","status":200})"});
    Send("other", other);
    // The server's own telemetry: route /a answered 100 times in the last hour (1..100 ms),
    // route /b three times earlier today (one 503), three flushes (one failed) and an error.
    std::vector<Sent> system;
    for (int i = 1; i <= 100; ++i) {
      system.push_back({"career-analytics", "perf_metric",
                        event::FormatIso8601Millis(At("2024-10-09T11:10:00Z") + i * 1000),
                        R"({"name":"http_request","value":)" + std::to_string(i) +
                            R"(,"unit":"ms","method":"GET","route":"/a","status":200})"});
    }
    for (int v : {10, 20, 30}) {
      system.push_back({"career-analytics", "perf_metric",
                        "2024-10-09T02:00:0" + std::to_string(v / 10) + "Z",
                        R"({"name":"http_request","value":)" + std::to_string(v) +
                            R"(,"route":"/b","status":)" + (v == 30 ? "503" : "200") + "}"});
    }
    system.push_back({"career-analytics", "task_run", "2024-10-09T11:20:00Z",
                      R"({"task":"store.flush","status":"success","seconds":0.5})"});
    system.push_back({"career-analytics", "task_run", "2024-10-09T11:21:00Z",
                      R"({"task":"store.flush","status":"success","seconds":1.5})"});
    system.push_back({"career-analytics", "task_run", "2024-10-09T11:22:00Z",
                      R"({"task":"store.flush","status":"failure","seconds":1.0})"});
    system.push_back({"career-analytics", "task_run", "2024-10-09T03:00:00Z",
                      R"({"task":"store.merge","status":"success","seconds":2})"});
    system.push_back({"career-analytics", "error", "2024-10-09T11:22:00.001Z",
                      R"({"message":"disk full","task":"store.flush"})"});
    Send("system", system);

    auto letter = [](int64_t at, const char* code) {
      return state::DeadLetter{0, at, code, "secret detail", "native", R"({"raw":"bytes"})"};
    };
    ASSERT_TRUE(
        state_
            ->AddDeadLetters("acme",
                             {letter(1000, "unknown_event_type"), letter(2000, "invalid_property"),
                              letter(3000, "unknown_event_type")},
                             100)
            .ok());
    ASSERT_TRUE(state_->AddDeadLetters("other", {letter(4000, "event_too_old")}, 100).ok());
  }

  void TearDown() override { CloseWalStoreState(); }

  void Send(const std::string& tenant, const std::vector<Sent>& events) {
    std::vector<std::string> payloads;
    for (const Sent& s : events) {
      event::Event e;
      e.tenant = tenant;
      e.event_id = "ev-" + std::to_string(next_id_++);
      e.type = s.type;
      e.user_id = s.user;
      e.timestamp_ms = At(s.at.c_str());
      e.received_at_ms = e.timestamp_ms;
      e.properties_json = s.properties;
      payloads.emplace_back();
      event::EncodeEvent(e, &payloads.back());
    }
    std::vector<std::string_view> views(payloads.begin(), payloads.end());
    wal::Lsn end = 0;
    ASSERT_TRUE(wal::testing::AppendAndWait(wal_.get(), views, &end).ok());
    ASSERT_TRUE(store_->WaitApplied(end, 5000).ok());
  }

  AdminDashboardOptions Options() {
    AdminDashboardOptions options;
    options.system_tenant = "system";
    options.ingest_counters = [] {
      ingest::IngestCounters c;
      c.received = 10;
      c.accepted = 7;
      c.duplicates = 2;
      c.rejected = 1;
      return c;
    };
    options.started_at_ms = At("2024-10-09T00:00:00Z");
    return options;
  }

  static AdminDashboardRequest Request(const std::string& tenant, int days = 7,
                                       const std::string& tz = "UTC") {
    AdminDashboardRequest r;
    r.tenant = tenant;
    r.days = days;
    r.timezone = tz;
    r.now_ms = At(kNow);
    return r;
  }

  static json Summary(AdminDashboardService& service, const AdminDashboardRequest& request) {
    auto text = service.Summary(request);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return text.ok() ? json::parse(*text) : json();
  }

  int next_id_ = 0;
};

TEST_F(AdminDashboardServiceTest, ActiveUsersCountDistinctUsersOfEachWindowAndTheOneBefore) {
  AdminDashboardService service(store_.get(), state_.get(), nullptr, Options());
  const json active = Summary(service, Request("acme"))["active_users"];
  EXPECT_EQ(active["dau"], json::parse(R"({"window_days":1,"value":2,"previous":1,
                                          "change_percent":100.0})"));
  EXPECT_EQ(active["wau"], json::parse(R"({"window_days":7,"value":4,"previous":0,
                                          "change_percent":null})"));
  EXPECT_EQ(active["mau"], json::parse(R"({"window_days":30,"value":5,"previous":1,
                                          "change_percent":400.0})"));
  EXPECT_EQ(active["daily"], json::parse(R"([
      {"day":"2024-10-03","users":0},{"day":"2024-10-04","users":0},
      {"day":"2024-10-05","users":1},{"day":"2024-10-06","users":0},
      {"day":"2024-10-07","users":1},{"day":"2024-10-08","users":1},
      {"day":"2024-10-09","users":2}])"));
}

TEST_F(AdminDashboardServiceTest, EventsOverTimeBreakTheTopFiveTypesOutOfTheDailyTotals) {
  AdminDashboardService service(store_.get(), state_.get(), nullptr, Options());
  const json events = Summary(service, Request("acme"))["events_over_time"];
  EXPECT_EQ(events["days"].size(), 7u);
  EXPECT_EQ(events["days"][0], "2024-10-03");
  EXPECT_EQ(events["total"], json::parse("[0,0,1,0,1,1,9]"));
  EXPECT_EQ(events["total_events"], 12);
  ASSERT_EQ(events["by_type"].size(), 6u);
  EXPECT_EQ(events["by_type"][0], json::parse(R"({"type":"job_view","other":false,
                                                "values":[0,0,1,0,0,0,2],"total":3})"));
  EXPECT_EQ(events["by_type"][1]["type"], "page_view");
  EXPECT_EQ(events["by_type"][2]["type"], "job_save");
  EXPECT_EQ(events["by_type"][3]["type"], "interview_scheduled");
  EXPECT_EQ(events["by_type"][4]["type"], "job_apply");
  // offer_received and search
  EXPECT_EQ(events["by_type"][5], json::parse(R"({"type":null,"other":true,
                                                "values":[0,0,0,0,1,0,1],"total":2})"));
}

TEST_F(AdminDashboardServiceTest, TopEventsRankTheWeeksTypesByCountThenName) {
  AdminDashboardService service(store_.get(), state_.get(), nullptr, Options());
  const json top = Summary(service, Request("acme"))["top_events"];
  EXPECT_EQ(top["from"], "2024-10-02T12:00:00.001Z");
  EXPECT_EQ(top["to"], "2024-10-09T12:00:00.001Z");
  EXPECT_EQ(top["events"], json::parse(R"([
      {"type":"job_view","count":3,"users":3},
      {"type":"page_view","count":3,"users":2},
      {"type":"job_save","count":2,"users":2},
      {"type":"interview_scheduled","count":1,"users":1},
      {"type":"job_apply","count":1,"users":1},
      {"type":"offer_received","count":1,"users":1},
      {"type":"search","count":1,"users":1}])"));
}

TEST_F(AdminDashboardServiceTest, FunnelCountsUsersReachingEachStep) {
  AdminDashboardService service(store_.get(), state_.get(), nullptr, Options());
  const json funnel = Summary(service, Request("acme", 30))["funnel"];
  EXPECT_EQ(funnel["from"], "2024-09-10T00:00:00.000Z");
  EXPECT_EQ(funnel["window_days"], 30);
  const json& steps = funnel["steps"];
  ASSERT_EQ(steps.size(), 5u);
  const char* events[] = {"job_view", "job_save", "job_apply", "interview_scheduled",
                          "offer_received"};
  const int users[] = {3, 2, 1, 1, 1};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(steps[i]["event"], events[i]);
    EXPECT_EQ(steps[i]["users"], users[i]) << i;
  }
  EXPECT_TRUE(steps[0]["conversion_from_previous"].is_null());
  EXPECT_DOUBLE_EQ(steps[0]["conversion_from_first"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(steps[1]["conversion_from_previous"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(steps[2]["conversion_from_previous"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(steps[2]["conversion_from_first"].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(steps[4]["conversion_from_previous"].get<double>(), 1.0);
  // 5 and 10 minutes: the nearest-rank median is the first.
  EXPECT_DOUBLE_EQ(steps[1]["median_ms_from_previous"].get<double>(), 5 * 60 * 1000);
}

TEST_F(AdminDashboardServiceTest, RetentionHeatmapHasEightWeeklyCohortsWithFutureCellsNull) {
  AdminDashboardService service(store_.get(), state_.get(), nullptr, Options());
  const json retention = Summary(service, Request("acme"))["retention"];
  EXPECT_EQ(retention["period"], "week");
  const json& cohorts = retention["cohorts"];
  ASSERT_EQ(cohorts.size(), 8u);
  EXPECT_EQ(cohorts[0]["week_start"], "2024-08-19T00:00:00+00:00");
  EXPECT_EQ(cohorts[0]["size"], 0);
  EXPECT_EQ(cohorts[0]["counts"], json::parse("[0,0,0,0,0,0,0,0]"));
  EXPECT_EQ(cohorts[0]["fractions"][0], nullptr);
  // u5 (Sunday 09-01), never back.
  EXPECT_EQ(cohorts[1]["week_start"], "2024-08-26T00:00:00+00:00");
  EXPECT_EQ(cohorts[1]["counts"], json::parse("[1,0,0,0,0,0,0,null]"));
  EXPECT_EQ(cohorts[1]["fractions"], json::parse("[1.0,0.0,0.0,0.0,0.0,0.0,0.0,null]"));
  // u4
  EXPECT_EQ(cohorts[4]["counts"], json::parse("[1,0,0,0,null,null,null,null]"));
  // u3, back the week after
  EXPECT_EQ(cohorts[6]["week_start"], "2024-09-30T00:00:00+00:00");
  EXPECT_EQ(cohorts[6]["counts"], json::parse("[1,1,null,null,null,null,null,null]"));
  EXPECT_EQ(cohorts[6]["fractions"], json::parse("[1.0,1.0,null,null,null,null,null,null]"));
  // u1, u2, u6
  EXPECT_EQ(cohorts[7]["size"], 3);
  EXPECT_EQ(cohorts[7]["counts"], json::parse("[3,null,null,null,null,null,null,null]"));
}

TEST_F(AdminDashboardServiceTest, IngestHasTheServersCountersAndTheTenantsDeadLettersWithoutRaw) {
  AdminDashboardService service(store_.get(), state_.get(), nullptr, Options());
  const json ingest = Summary(service, Request("acme"))["ingest"];
  EXPECT_EQ(ingest, json::parse(R"({"scope":"server","since":"2024-10-09T00:00:00.000Z",
      "received":10,"accepted":7,"duplicate":2,"rejected":1,"failed_writes":0,
      "dead_letters":{"total":3,
        "by_code":[{"code":"unknown_event_type","count":2},{"code":"invalid_property","count":1}],
        "recent":[{"id":3,"code":"unknown_event_type","format":"native",
                   "received_at":"1970-01-01T00:00:03.000Z"},
                  {"id":2,"code":"invalid_property","format":"native",
                   "received_at":"1970-01-01T00:00:02.000Z"},
                  {"id":1,"code":"unknown_event_type","format":"native",
                   "received_at":"1970-01-01T00:00:01.000Z"}]}})"));
  const std::string text = *service.Summary(Request("acme"));
  EXPECT_EQ(text.find("secret detail"), std::string::npos);
  EXPECT_EQ(text.find("bytes"), std::string::npos);
}

TEST_F(AdminDashboardServiceTest, SystemHasLatencyPercentilesTasksAndErrorsOfTheSystemTenant) {
  AdminDashboardService service(store_.get(), state_.get(), nullptr, Options());
  const json system = Summary(service, Request("acme"))["system"];
  EXPECT_EQ(system["tenant"], "system");
  EXPECT_EQ(system["available"], true);
  const json& hour = system["last_hour"];
  EXPECT_EQ(hour["from"], "2024-10-09T11:00:00.001Z");
  EXPECT_EQ(hour["requests"], json::parse(R"({"count":100,"p50_ms":50.0,"p95_ms":95.0,
                                             "p99_ms":99.0,"server_errors":0})"));
  EXPECT_EQ(hour["routes"], json::parse(R"([{"route":"/a","count":100,"p50_ms":50.0,
      "p95_ms":95.0,"p99_ms":99.0,"server_errors":0}])"));
  EXPECT_EQ(hour["tasks"], json::parse(R"([{"task":"store.flush","runs":3,"failures":1,
                                          "mean_ms":1000.0}])"));
  const json& day = system["last_day"];
  EXPECT_EQ(day["requests"]["count"], 103);
  EXPECT_EQ(day["requests"]["server_errors"], 1);
  ASSERT_EQ(day["routes"].size(), 2u);  // never the other tenant's /other
  EXPECT_EQ(day["routes"][1], json::parse(R"({"route":"/b","count":3,"p50_ms":20.0,
      "p95_ms":30.0,"p99_ms":30.0,"server_errors":1})"));
  EXPECT_EQ(day["tasks"], json::parse(R"([{"task":"store.flush","runs":3,"failures":1,
      "mean_ms":1000.0},{"task":"store.merge","runs":1,"failures":0,"mean_ms":2000.0}])"));
  EXPECT_EQ(system["recent_errors"], json::parse(R"([{"time":"2024-10-09T11:22:00.001Z",
      "task":"store.flush","message":"disk full"}])"));
}

TEST_F(AdminDashboardServiceTest, SystemIsUnavailableWithoutSelfTelemetry) {
  AdminDashboardOptions options = Options();
  options.system_tenant.clear();
  options.ingest_counters = nullptr;
  AdminDashboardService service(store_.get(), state_.get(), nullptr, options);
  const json summary = Summary(service, Request("acme"));
  EXPECT_EQ(summary["system"]["available"], false);
  EXPECT_TRUE(summary["ingest"]["accepted"].is_null());
  EXPECT_EQ(summary["ingest"]["dead_letters"]["total"], 3);
}

TEST_F(AdminDashboardServiceTest, AnotherTenantsEventsAndDeadLettersAreNeverCounted) {
  AdminDashboardService service(store_.get(), state_.get(), nullptr, Options());
  const json acme = Summary(service, Request("acme"));
  EXPECT_EQ(acme["tenant"], "acme");
  EXPECT_EQ(acme["active_users"]["dau"]["value"], 2);
  EXPECT_EQ(acme["funnel"]["steps"][4]["users"], 1);
  const json other = Summary(service, Request("other"));
  EXPECT_EQ(other["tenant"], "other");
  EXPECT_EQ(other["active_users"]["dau"]["value"], 4);
  EXPECT_EQ(other["active_users"]["mau"]["value"], 4);
  EXPECT_EQ(other["funnel"]["steps"][0]["users"], 4);
  EXPECT_EQ(other["funnel"]["steps"][1]["users"], 0);
  EXPECT_EQ(other["ingest"]["dead_letters"]["total"], 1);
  EXPECT_EQ(other["ingest"]["dead_letters"]["recent"][0]["code"], "event_too_old");
  // The system part is the platform's: the same for every tenant.
  EXPECT_EQ(other["system"], acme["system"]);
}

TEST_F(AdminDashboardServiceTest, CachedAnswersAreKeptPerTenantAndWidgetsMatchTheSummary) {
  cache::LruCache cache(cache::LruCacheOptions{});
  AdminDashboardService service(store_.get(), state_.get(), &cache, Options());
  const json acme = Summary(service, Request("acme"));
  for (std::string_view part : AdminDashboardService::Parts()) {
    auto text = service.Part(part, Request("acme"));
    ASSERT_TRUE(text.ok()) << part << ": " << text.status().ToString();
    EXPECT_EQ(json::parse(*text), acme[std::string(part)]) << part;
  }
  // New events within the minute: the cached answer stays, and is never another tenant's.
  Send("acme", {{"u9", "job_view", "2024-10-09T11:59:00Z", R"({"job_id":"j1"})"}});
  EXPECT_EQ(Summary(service, Request("acme")), acme);
  const json other = Summary(service, Request("other"));
  EXPECT_EQ(other["tenant"], "other");
  EXPECT_EQ(other["active_users"]["dau"]["value"], 4);
  auto widget = service.Part("active_users", Request("other"));
  ASSERT_TRUE(widget.ok());
  EXPECT_EQ(json::parse(*widget), other["active_users"]);
  // Other parameters are another answer.
  EXPECT_EQ(Summary(service, Request("acme", 8))["active_users"]["dau"]["value"], 3);
  cache.InvalidateTag(cache::TenantTag("acme"));
  EXPECT_EQ(Summary(service, Request("acme"))["active_users"]["dau"]["value"], 3);
}

TEST_F(AdminDashboardServiceTest, DaysAndTimeZoneAreValidated) {
  AdminDashboardService service(store_.get(), state_.get(), nullptr, Options());
  for (const char* tz :
       {"Mars/Olympus", "../etc/passwd", "", "Europe/../UTC", "localtime", "Europe/Berlin\n"}) {
    EXPECT_EQ(service.Summary(Request("acme", 7, tz)).status().code(), ErrorCode::kInvalidArgument)
        << tz;
    EXPECT_EQ(service.Part("funnel", Request("acme", 7, tz)).status().code(),
              ErrorCode::kInvalidArgument)
        << tz;
  }
  for (int days : {0, -1, 366}) {
    EXPECT_EQ(service.Summary(Request("acme", days)).status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(service.Summary(Request("acme", 365)).ok());
  EXPECT_EQ(service.Part("nope", Request("acme")).status().code(), ErrorCode::kNotFound);
}

TEST_F(AdminDashboardServiceTest, TimeZoneCutsTheDays) {
  AdminDashboardService service(store_.get(), state_.get(), nullptr, Options());
  // In Tokyo (UTC+9) now is 21:00 on 10-09; u6's 11:00 UTC on 10-08 is 20:00 local.
  const json summary = Summary(service, Request("acme", 2, "Asia/Tokyo"));
  EXPECT_EQ(summary["timezone"], "Asia/Tokyo");
  EXPECT_EQ(summary["active_users"]["daily"], json::parse(R"([
      {"day":"2024-10-08","users":1},{"day":"2024-10-09","users":2}])"));
  EXPECT_EQ(summary["funnel"]["from"], "2024-10-07T15:00:00.000Z");
  EXPECT_EQ(summary["retention"]["cohorts"][7]["week_start"], "2024-10-07T00:00:00+09:00");
}

TEST(NearestRankPercentileTest, FollowsTheQueryEnginesRule) {
  const std::vector<double> one = {7};
  EXPECT_EQ(NearestRankPercentile(one, 50), 7);
  EXPECT_EQ(NearestRankPercentile(one, 99), 7);
  const std::vector<double> four = {1, 2, 3, 4};
  EXPECT_EQ(NearestRankPercentile(four, 50), 2);
  EXPECT_EQ(NearestRankPercentile(four, 95), 4);
  EXPECT_EQ(NearestRankPercentile(four, 25), 1);
}

}  // namespace
}  // namespace ca::services
