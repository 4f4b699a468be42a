#include "services/dashboard_service.h"

#include <gtest/gtest.h>

#include <future>
#include <optional>

#include <nlohmann/json.hpp>

#include "batch/rollup_updater.h"
#include "cache/lru_cache.h"
#include "event/event_codec.h"
#include "event/timestamp.h"
#include "services/query_service.h"
#include "services/wal_store_state_test.h"
#include "state/sqlite_state_store.h"
#include "wal/wal_test_util.h"

namespace ca::services {
namespace {

using nlohmann::json;

int64_t At(const char* iso) { return *event::ParseIso8601Millis(iso); }

// "Now" is Wednesday 2024-10-09 12:00 UTC; the user lives in Berlin (UTC+2 in October), so their
// week started on Sunday 2024-10-06 22:00 UTC.
const char* const kNow = "2024-10-09T12:00:00Z";

struct Sent {
  const char* type;
  const char* at;
  const char* properties;
};

const std::vector<Sent> kHistory = {
    // Last week (local): six applications, each with an id.
    {"job_apply", "2024-10-01T10:00:00Z", R"({"job_id":"j1","application_id":"a1"})"},
    {"job_apply", "2024-10-01T11:00:00Z", R"({"job_id":"j2","application_id":"a2"})"},
    {"job_apply", "2024-10-01T12:00:00Z", R"({"job_id":"j3","application_id":"a3"})"},
    {"job_apply", "2024-10-01T13:00:00Z", R"({"job_id":"j4","application_id":"a4"})"},
    {"job_apply", "2024-10-01T14:00:00Z", R"({"job_id":"j5","application_id":"a5"})"},
    {"job_apply", "2024-10-01T15:00:00Z", R"({"job_id":"j6","application_id":"a6"})"},
    // Employers' answers after 2, 4 and 1 days; a3 is ghosted; a4 and a5 are still open.
    {"application_status_changed", "2024-10-03T10:00:00Z",
     R"({"application_id":"a1","status":"screening"})"},
    {"application_status_changed", "2024-10-05T11:00:00Z",
     R"({"application_id":"a2","status":"rejected"})"},
    {"application_status_changed", "2024-10-02T15:00:00Z",
     R"({"application_id":"a6","status":"interview"})"},
    {"interview_scheduled", "2024-10-02T15:00:01Z", R"({"application_id":"a6"})"},
    {"application_status_changed", "2024-10-08T12:00:00Z",
     R"({"application_id":"a3","status":"ghosted"})"},
    // This week: three applications, one of them on local Monday at 00:30 (UTC Sunday).
    {"job_apply", "2024-10-06T22:30:00Z", R"({"job_id":"j7"})"},
    {"job_apply", "2024-10-07T09:00:00Z", R"({"job_id":"j8"})"},
    {"job_apply", "2024-10-09T08:00:00Z", R"({"job_id":"j9"})"},
    // Views and saves.
    {"job_view", "2024-10-01T09:00:00Z", R"({"job_id":"j1"})"},
    {"job_view", "2024-10-01T09:01:00Z", R"({"job_id":"j2"})"},
    {"job_view", "2024-10-07T08:00:00Z", R"({"job_id":"j8"})"},
    {"job_view", "2024-10-09T07:00:00Z", R"({"job_id":"j9"})"},
    {"job_save", "2024-10-01T09:02:00Z", R"({"job_id":"j1"})"},
    {"job_save", "2024-10-07T08:01:00Z", R"({"job_id":"j8"})"},
    // Searches: three in the last 14 local days, one in the 14 before.
    {"search", "2024-10-09T09:00:00Z", R"({"query":"data"})"},
    {"search", "2024-10-09T09:05:00Z", R"({"query":"data engineer"})"},
    {"search", "2024-10-01T08:00:00Z", R"({"query":"engineer"})"},
    {"search", "2024-09-20T08:00:00Z", R"({"query":"engineer"})"},
};

class DashboardServiceTest : public WalStoreStateTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenWalStoreState({"acme"}));
    rollups_ = std::move(batch::RollupUpdater::Open(wal_options_, wal_.get(), state_.get(),
                                                    store_.get(), {}, nullptr))
                   .value();
    ASSERT_TRUE(state_
                    ->MergeUserTraits("acme", "u1",
                                      R"({"timezone":"Europe/Berlin","weekly_application_goal":5,)"
                                      R"("industry":"Software","location":"Berlin"})",
                                      0)
                    .ok());
    Send("u1", kHistory);
    Send("u2", {{"job_apply", "2024-10-09T08:00:00Z", R"({"job_id":"j9"})"}});
  }

  void TearDown() override {
    EXPECT_TRUE(rollups_->Stop().ok());
    CloseWalStoreState();
  }

  void Send(const std::string& user, const std::vector<Sent>& events) {
    std::vector<std::string> payloads;
    for (const Sent& s : events) {
      event::Event e;
      e.tenant = "acme";
      e.event_id = "ev-" + std::to_string(next_id_++);
      e.type = s.type;
      e.user_id = user;
      e.timestamp_ms = At(s.at);
      e.received_at_ms = e.timestamp_ms;
      e.properties_json = s.properties;
      payloads.emplace_back();
      event::EncodeEvent(e, &payloads.back());
    }
    std::vector<std::string_view> views(payloads.begin(), payloads.end());
    wal::Lsn end = 0;
    ASSERT_TRUE(wal::testing::AppendAndWait(wal_.get(), views, &end).ok());
    ASSERT_TRUE(store_->WaitApplied(end, 5000).ok());
    ASSERT_TRUE(rollups_->CatchUp().ok());
  }

  json Summary(DashboardService& service) {
    auto text = service.Summary("acme", "u1", At(kNow));
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return text.ok() ? json::parse(*text) : json();
  }

  std::unique_ptr<batch::RollupUpdater> rollups_;
  int next_id_ = 0;
};

TEST_F(DashboardServiceTest, ApplicationsThisWeekCountLocalDaysAgainstTheGoal) {
  DashboardService service(state_.get(), nullptr);
  const json week = Summary(service)["applications_this_week"];
  EXPECT_EQ(week["timezone"], "Europe/Berlin");
  EXPECT_EQ(week["week_start"], "2024-10-07T00:00:00+02:00");
  ASSERT_EQ(week["days"].size(), 7u);
  EXPECT_EQ(week["days"][0], json({{"day", "2024-10-07"}, {"applications", 2}}));
  EXPECT_EQ(week["days"][1]["applications"], 0);
  EXPECT_EQ(week["days"][2], json({{"day", "2024-10-09"}, {"applications", 1}}));
  EXPECT_EQ(week["total"], 3);
  EXPECT_EQ(week["goal"], 5);
  EXPECT_DOUBLE_EQ(week["progress"].get<double>(), 0.6);
}

TEST_F(DashboardServiceTest, GoalProgressCountsWeeksAndTheStreak) {
  DashboardService service(state_.get(), nullptr);
  const json goal = Summary(service)["goal_progress"];
  EXPECT_EQ(goal["weekly_goal"], 5);
  EXPECT_EQ(goal["this_week"], 3);
  EXPECT_EQ(goal["remaining"], 2);
  EXPECT_EQ(goal["streak_weeks"], 1);  // last week 6 >= 5; the week before 0
  ASSERT_EQ(goal["weeks"].size(), 5u);
  EXPECT_EQ(goal["weeks"][3]["applications"], 6);
  EXPECT_EQ(goal["weeks"][3]["met"], true);
  EXPECT_EQ(goal["weeks"][2]["met"], false);
}

TEST_F(DashboardServiceTest, TheFunnelComesFromTheRollups) {
  DashboardService service(state_.get(), nullptr);
  const json funnel = Summary(service)["funnel"];
  const json& steps = funnel["steps"];
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps[0]["step"], "viewed");
  EXPECT_EQ(steps[0]["count"], 4);
  EXPECT_EQ(steps[1]["count"], 2);
  EXPECT_EQ(steps[2]["count"], 9);
  EXPECT_EQ(steps[3]["count"], 1);
  EXPECT_EQ(steps[4]["count"], 0);
  EXPECT_DOUBLE_EQ(steps[1]["rate_from_previous"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(steps[3]["rate_from_first"].get<double>(), 0.25);
  EXPECT_TRUE(steps[0]["rate_from_previous"].is_null());

  // A rollup row changed behind the service's back shows: the funnel reads the rollups.
  state::UserDayMetrics more;
  more.job_views = 6;
  ASSERT_TRUE(
      state_->AddDailyUserMetrics("test", 0, {{"acme", "u1", At(kNow) / 86'400'000, more}}).ok());
  EXPECT_EQ(Summary(service)["funnel"]["steps"][0]["count"], 10);
}

TEST_F(DashboardServiceTest, OpenApplicationsWaitAndDoNotCountAsNoAnswer) {
  DashboardService service(state_.get(), nullptr);
  const json response = Summary(service)["response"];
  EXPECT_EQ(response["applications"], 6);
  EXPECT_EQ(response["responded"], 3);
  EXPECT_EQ(response["no_answer"], 1);
  EXPECT_EQ(response["waiting"], 2);
  EXPECT_DOUBLE_EQ(response["response_rate"].get<double>(), 0.75);
  // Answers after 1, 2 and 4 days; six at risk: S = 5/6, then 4/6, then 3/6.
  EXPECT_NEAR(response["median_days_to_first_response"].get<double>(), 4.0, 1e-6);
}

TEST_F(DashboardServiceTest, StatusBreakdownSearchAndMarket) {
  state::MarketTrendRow before{
      At("2024-08-10T00:00:00Z") / 86'400'000, "Software", "Berlin", 70000, 100, 3.0};
  state::MarketTrendRow after{
      At("2024-10-08T00:00:00Z") / 86'400'000, "software", " berlin", 77000, 150, 2.4};
  state::MarketTrendRow elsewhere{after.day, "Software", "Paris", 1, 1, 1};
  ASSERT_TRUE(state_->UpsertMarketTrends("acme", {before, after, elsewhere}).ok());
  DashboardService service(state_.get(), nullptr);
  const json summary = Summary(service);
  EXPECT_EQ(
      summary["status_breakdown"],
      json({{"applied", 2}, {"ghosted", 1}, {"interview", 1}, {"rejected", 1}, {"screening", 1}}));
  const json& search = summary["search_activity"];
  EXPECT_EQ(search["days"].size(), 14u);
  EXPECT_EQ(search["days"][13], json({{"day", "2024-10-09"}, {"searches", 2}}));
  EXPECT_EQ(search["total"], 3);
  EXPECT_EQ(search["previous_total"], 1);
  EXPECT_DOUBLE_EQ(search["change_percent"].get<double>(), 200.0);
  const json& market = summary["market_trends"];
  EXPECT_EQ(market["available"], true);
  ASSERT_EQ(market["series"].size(), 2u);
  EXPECT_NEAR(market["change_percent"]["average_salary"].get<double>(), 10.0, 1e-9);
  EXPECT_NEAR(market["change_percent"]["postings"].get<double>(), 50.0, 1e-9);
  EXPECT_NEAR(market["change_percent"]["competition"].get<double>(), -20.0, 1e-9);
}

TEST_F(DashboardServiceTest, AnswersAreCachedUntilTheUsersTagIsInvalidated) {
  cache::LruCache cache;
  DashboardService service(state_.get(), &cache);
  EXPECT_EQ(Summary(service)["applications_this_week"]["total"], 3);
  Send("u1", {{"job_apply", "2024-10-09T10:00:00Z", R"({"job_id":"j10"})"}});
  EXPECT_EQ(Summary(service)["applications_this_week"]["total"], 3) << "cached";
  cache.InvalidateTag(cache::UserTag("acme", "u1"));
  EXPECT_EQ(Summary(service)["applications_this_week"]["total"], 4);
  EXPECT_GE(cache.stats().hits, 1u);
}

TEST_F(DashboardServiceTest, WidgetsAloneEqualTheirPartOfTheSummary) {
  DashboardService service(state_.get(), nullptr);
  const json summary = Summary(service);
  for (std::string_view name : DashboardService::Widgets()) {
    auto text = service.Widget(name, "acme", "u1", At(kNow));
    ASSERT_TRUE(text.ok()) << name << ": " << text.status().ToString();
    EXPECT_EQ(json::parse(*text), summary[std::string(name)]) << name;
  }
  auto unknown = service.Widget("nope", "acme", "u1", At(kNow));
  EXPECT_EQ(unknown.status().code(), ErrorCode::kNotFound);
}

TEST_F(DashboardServiceTest, AUserWithoutEventsOrProfileGetsEmptyWidgets) {
  DashboardService service(state_.get(), nullptr);
  auto text = service.Summary("acme", "nobody", At(kNow));
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const json summary = json::parse(*text);
  EXPECT_EQ(summary["applications_this_week"]["total"], 0);
  EXPECT_TRUE(summary["applications_this_week"]["goal"].is_null());
  EXPECT_TRUE(summary["response"]["response_rate"].is_null());
  EXPECT_EQ(summary["market_trends"]["available"], false);
}

TEST_F(DashboardServiceTest, UserMetricsFromRollupsEqualThoseFromEvents) {
  QueryServiceOptions events_only;
  events_only.threads = 1;
  QueryServiceOptions with_rollups = events_only;
  with_rollups.rollups = state_.get();
  QueryService from_events(store_.get(), events_only);
  QueryService from_rollups(store_.get(), with_rollups);
  for (MetricsPeriod period : {MetricsPeriod::kDay, MetricsPeriod::kWeek, MetricsPeriod::kMonth}) {
    auto a = from_events.UserMetrics("acme", "u1", period, At(kNow));
    auto b = from_rollups.UserMetrics("acme", "u1", period, At(kNow));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ((*a)["current"]["rollup_days"], 0);
    if (period != MetricsPeriod::kDay) {
      EXPECT_GT((*b)["current"]["rollup_days"], 0);
    }
    for (auto* m : {&*a, &*b}) {
      (*m)["current"].erase("rollup_days");
      (*m)["previous"].erase("rollup_days");
    }
    EXPECT_EQ(*a, *b) << a->dump() << "\n" << b->dump();
  }
  // The rollups are read: a row changed behind the service's back shows in a month.
  state::UserDayMetrics more;
  more.job_views = 5;
  ASSERT_TRUE(
      state_->AddDailyUserMetrics("test", 0, {{"acme", "u1", At(kNow) / 86'400'000 - 3, more}})
          .ok());
  auto changed = from_rollups.UserMetrics("acme", "u1", MetricsPeriod::kMonth, At(kNow));
  auto plain = from_events.UserMetrics("acme", "u1", MetricsPeriod::kMonth, At(kNow));
  ASSERT_TRUE(changed.ok() && plain.ok());
  EXPECT_EQ((*changed)["current"]["job_views"].get<int64_t>(),
            (*plain)["current"]["job_views"].get<int64_t>() + 5);
}

TEST_F(DashboardServiceTest, UserMetricsAreCachedUnderTheUsersTag) {
  cache::LruCache cache;
  QueryServiceOptions options;
  options.threads = 1;
  options.cache = &cache;
  QueryService queries(store_.get(), options);
  auto ask = [&](std::optional<int64_t> end) {
    std::promise<Result<nlohmann::json>> answer;
    queries.SubmitUserMetrics("acme", "u1", MetricsPeriod::kMonth, end,
                              [&](Result<nlohmann::json> r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  };
  auto first = ask(At(kNow));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(cache.stats().hits, 0u);
  auto second = ask(At(kNow));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(cache.stats().hits, 1u);
  ASSERT_TRUE(ask(std::nullopt).ok());  // "now" is another key
  EXPECT_EQ(cache.stats().misses, 2u);
  cache.InvalidateTag(cache::UserTag("acme", "u1"));
  ASSERT_TRUE(ask(At(kNow)).ok());
  EXPECT_EQ(cache.stats().misses, 3u);
  queries.Stop();
}

TEST(KaplanMeierTest, MedianWithAndWithoutCensoring) {
  EXPECT_EQ(KaplanMeierMedian({1, 2, 3}, {}), 2.0);
  // One still waiting at 1.5 leaves the risk set: after 1, S = 3/4; after 2, 3/4 * 1/2.
  EXPECT_EQ(KaplanMeierMedian({1, 2, 3}, {1.5}), 2.0);
  // Most still waiting: the median is not reached.
  EXPECT_EQ(KaplanMeierMedian({1}, {5, 6, 7}), std::nullopt);
  // Never answered (infinitely censored) stay at risk: one answer in three is not half.
  EXPECT_EQ(KaplanMeierMedian({1}, {INFINITY, INFINITY}), std::nullopt);
  EXPECT_EQ(KaplanMeierMedian({1, 2}, {INFINITY, INFINITY}), 2.0);
  EXPECT_EQ(KaplanMeierMedian({}, {}), std::nullopt);
}

TEST_F(DashboardServiceTest, RecentActivityListsTheLatestSearchesAndApplicationsAsSent) {
  Send("u1", {{"job_save", "2024-10-09T11:00:00Z",
               R"({"job_id":"j10","title":"<img src=x onerror=alert(1)>"})"}});
  DashboardService service(state_.get(), nullptr);
  const json summary = Summary(service);
  const json& events = summary["recent_activity"]["events"];
  ASSERT_EQ(events.size(), 20u);  // the newest 20 of the window
  EXPECT_EQ(events[0]["type"], "job_save");
  EXPECT_EQ(events[0]["timestamp"], "2024-10-09T11:00:00.000Z");
  EXPECT_EQ(events[0]["properties"]["title"], "<img src=x onerror=alert(1)>");
  EXPECT_EQ(events[1]["type"], "search");
  EXPECT_EQ(events[1]["properties"]["query"], "data engineer");
  for (const json& e : events) {
    EXPECT_NE(e["type"], "job_view");  // views are not activity
  }
  EXPECT_EQ(summary["notifications"], json::parse(R"({"notifications":[],"unread":0})"));
  auto widget = service.Widget("recent_activity", "acme", "u1", At(kNow));
  ASSERT_TRUE(widget.ok());
  EXPECT_EQ(json::parse(*widget), summary["recent_activity"]);
}

}  // namespace
}  // namespace ca::services
