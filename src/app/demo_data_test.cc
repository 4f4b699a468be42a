#include "app/demo_data.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ca::app {
namespace {

using nlohmann::json;

constexpr int64_t kDayMs = 86400000;

// Independent ISO-8601 parser for "YYYY-MM-DDTHH:MM:SS.mmmZ"; -1 when malformed.
int64_t ParseIso(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
  char z = 0;
  if (s.size() != 24 ||
      std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &sec, &ms,
                  &z) != 8 ||
      z != 'Z') {
    return -1;
  }
  auto days =
      std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(mo) / std::chrono::day(d))
          .time_since_epoch()
          .count();
  return ((static_cast<int64_t>(days) * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms;
}

struct Generated {
  std::vector<std::string> bodies;
  DemoTruth truth;
  uint64_t events = 0;
};

Generated Generate(const DemoOptions& options, size_t batch) {
  DemoGenerator gen(options);
  Generated out;
  std::string body;
  while (gen.NextBatch(batch, &body)) out.bodies.push_back(body);
  EXPECT_TRUE(body.empty());
  EXPECT_FALSE(gen.NextBatch(batch, &body));
  out.truth = gen.truth();
  out.events = gen.events_generated();
  return out;
}

DemoOptions Small(uint64_t seed) {
  DemoOptions o;
  o.seed = seed;
  o.users = 20;
  o.days = 30;
  o.jobs = 120;
  o.end_ms = 1718000000123;  // Not aligned to a day or a second.
  return o;
}

const std::set<std::string> kBrowserTypes = {
    "page_view", "button_click", "form_submit", "search",    "filter_change", "time_spent",
    "job_view",  "job_save",     "job_share",   "job_apply", "login",         "logout"};
const std::set<std::string> kBackendTypes = {"application_status_changed",
                                             "interview_scheduled",
                                             "interview_feedback",
                                             "offer_received",
                                             "offer_accepted",
                                             "offer_rejected",
                                             "follow_up"};
const std::set<std::string> kSystemTypes = {"error", "perf_metric", "task_run"};

// Required properties (name -> JSON type) per event type.
const std::map<std::string, std::map<std::string, json::value_t>>& RequiredProperties() {
  using V = json::value_t;
  static const std::map<std::string, std::map<std::string, V>> kRules = {
      {"page_view", {}},
      {"button_click", {{"button_id", V::string}}},
      {"form_submit", {{"form_id", V::string}}},
      {"search", {{"query", V::string}, {"results_count", V::number_unsigned}}},
      {"filter_change", {{"filter", V::string}, {"value", V::string}}},
      {"time_spent", {{"seconds", V::number_unsigned}, {"path", V::string}}},
      {"job_view", {{"job_id", V::string}, {"source", V::string}}},
      {"job_save", {{"job_id", V::string}}},
      {"job_share", {{"job_id", V::string}, {"channel", V::string}}},
      {"job_apply", {{"job_id", V::string}, {"application_id", V::string}}},
      {"application_status_changed",
       {{"application_id", V::string},
        {"job_id", V::string},
        {"status", V::string},
        {"previous_status", V::string}}},
      {"interview_scheduled",
       {{"application_id", V::string},
        {"job_id", V::string},
        {"round", V::number_unsigned},
        {"interview_type", V::string},
        {"scheduled_for", V::string}}},
      {"interview_feedback",
       {{"application_id", V::string},
        {"job_id", V::string},
        {"round", V::number_unsigned},
        {"rating", V::number_unsigned}}},
      {"offer_received",
       {{"application_id", V::string}, {"job_id", V::string}, {"salary", V::number_unsigned}}},
      {"offer_accepted",
       {{"application_id", V::string}, {"job_id", V::string}, {"salary", V::number_unsigned}}},
      {"offer_rejected",
       {{"application_id", V::string}, {"job_id", V::string}, {"reason", V::string}}},
      {"follow_up", {{"application_id", V::string}, {"job_id", V::string}, {"channel", V::string}}},
      {"login", {{"method", V::string}}},
      {"logout", {}},
      {"error", {{"message", V::string}, {"code", V::string}}},
      {"perf_metric", {{"name", V::string}, {"value", V::number_float}}},
      {"task_run",
       {{"task", V::string}, {"status", V::string}, {"duration_ms", V::number_unsigned}}},
  };
  return kRules;
}

std::vector<json> ParseAll(const std::vector<std::string>& bodies, size_t max_events) {
  std::vector<json> events;
  for (const std::string& body : bodies) {
    json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(doc.is_discarded()) << body.substr(0, 200);
    if (doc.is_discarded()) continue;
    EXPECT_TRUE(doc.is_object());
    EXPECT_EQ(doc.size(), 1u);  // events only: no sent_at, the timestamps are exact
    const json& batch = doc["events"];
    EXPECT_TRUE(batch.is_array());
    EXPECT_GE(batch.size(), 1u);
    EXPECT_LE(batch.size(), max_events);
    for (const json& e : batch) events.push_back(e);
  }
  return events;
}

TEST(DemoData, FormatIsoMillis) {
  EXPECT_EQ(FormatIsoMillis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIsoMillis(kDefaultDemoEndMs), "2025-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIsoMillis(951782400000 + 86399999), "2000-02-29T23:59:59.999Z");
  EXPECT_EQ(FormatIsoMillis(-1), "1969-12-31T23:59:59.999Z");
  for (int64_t t : {int64_t{0}, int64_t{1718000000123}, int64_t{4102444800000}}) {
    EXPECT_EQ(ParseIso(FormatIsoMillis(t)), t);
  }
}

TEST(DemoData, ValidateRejectsOutOfRangeOptions) {
  EXPECT_TRUE(DemoGenerator::Validate(DemoOptions{}).ok());
  DemoOptions o;
  o.users = -1;
  EXPECT_EQ(DemoGenerator::Validate(o).code(), ErrorCode::kInvalidArgument);
  o = {};
  o.days = 0;
  EXPECT_EQ(DemoGenerator::Validate(o).code(), ErrorCode::kInvalidArgument);
  o = {};
  o.jobs = 0;
  EXPECT_EQ(DemoGenerator::Validate(o).code(), ErrorCode::kInvalidArgument);
  o = {};
  o.end_ms = 10 * kDayMs;
  EXPECT_EQ(DemoGenerator::Validate(o).code(), ErrorCode::kInvalidArgument);
}

TEST(DemoData, SameSeedIsByteIdenticalAndSeedsDiffer) {
  Generated a = Generate(Small(7), 250);
  Generated b = Generate(Small(7), 250);
  ASSERT_FALSE(a.bodies.empty());
  EXPECT_EQ(a.bodies, b.bodies);
  EXPECT_EQ(a.events, b.events);

  Generated c = Generate(Small(8), 250);
  EXPECT_NE(a.bodies, c.bodies);

  DemoGenerator g7(Small(7));
  DemoGenerator g7b(Small(7));
  DemoGenerator g8(Small(8));
  ASSERT_EQ(g7.users().size(), 20u);
  ASSERT_EQ(g7.jobs().size(), 120u);
  bool users_differ = false;
  for (size_t i = 0; i < g7.users().size(); ++i) {
    EXPECT_EQ(ToJson(g7.users()[i]), ToJson(g7b.users()[i]));
    users_differ |= ToJson(g7.users()[i]) != ToJson(g8.users()[i]);
  }
  EXPECT_TRUE(users_differ);
}

// The events of all bodies, joined with ',' (the bodies' framing removed).
std::string JoinEvents(const std::vector<std::string>& bodies) {
  const std::string head = "{\"events\":[";
  std::string out;
  for (const std::string& body : bodies) {
    EXPECT_EQ(body.rfind(head, 0), 0u);
    size_t end = body.rfind("]}");
    EXPECT_NE(end, std::string::npos);
    if (!out.empty()) out.push_back(',');
    out.append(body, head.size(), end - head.size());
  }
  return out;
}

TEST(DemoData, BatchSizeDoesNotChangeTheEvents) {
  Generated small = Generate(Small(3), 37);
  Generated large = Generate(Small(3), 5000);
  EXPECT_GT(small.bodies.size(), large.bodies.size());
  EXPECT_EQ(small.events, large.events);
  EXPECT_EQ(JoinEvents(small.bodies), JoinEvents(large.bodies));
  EXPECT_EQ(ToJson(small.truth), ToJson(large.truth));
}

TEST(DemoData, ZeroMaxEventsMeansOne) {
  DemoGenerator gen(Small(1));
  std::string body;
  ASSERT_TRUE(gen.NextBatch(0, &body));
  json doc = json::parse(body);
  EXPECT_EQ(doc["events"].size(), 1u);
  EXPECT_EQ(gen.events_generated(), 1u);
}

TEST(DemoData, TinyOptionsStayInTheWindow) {
  DemoOptions o;
  o.seed = UINT64_MAX;
  o.users = 5;
  o.days = 1;
  o.jobs = 1;
  o.end_ms = 1718000000123;
  ASSERT_TRUE(DemoGenerator::Validate(o).ok());
  Generated g = Generate(o, 100);
  std::vector<json> events = ParseAll(g.bodies, 100);
  ASSERT_EQ(events.size(), g.events);
  ASSERT_FALSE(events.empty());
  for (const json& e : events) {
    int64_t ts = ParseIso(e["timestamp"]);
    EXPECT_GE(ts, o.end_ms - kDayMs);
    EXPECT_LE(ts, o.end_ms);
    EXPECT_EQ(e["event_id"].get<std::string>().rfind("demo-18446744073709551615-", 0), 0u);
    if (e["properties"].contains("job_id")) {
      EXPECT_EQ(e["properties"]["job_id"], "job-00001");
    }
  }
}

TEST(DemoData, NoUsersStillProducesSystemEvents) {
  DemoOptions o = Small(5);
  o.users = 0;
  Generated g = Generate(o, 1000);
  std::vector<json> events = ParseAll(g.bodies, 1000);
  ASSERT_FALSE(events.empty());
  for (const json& e : events) {
    EXPECT_EQ(e["user_id"], kDemoSystemUserId);
    EXPECT_TRUE(kSystemTypes.count(e["type"].get<std::string>()) == 1);
  }
}

// Checks every event of one full run against the catalogue rules and recomputes the truth.
TEST(DemoData, EventsFollowTheCatalogueAndMatchTheTruth) {
  DemoOptions options = Small(11);
  options.users = 40;
  options.days = 60;
  const size_t kBatch = 300;
  Generated g = Generate(options, kBatch);
  std::vector<json> events = ParseAll(g.bodies, kBatch);
  ASSERT_EQ(events.size(), g.events);
  ASSERT_EQ(g.truth.events, g.events);

  DemoGenerator gen(options);
  std::map<std::string, int64_t> signup_ms;
  for (const DemoUser& u : gen.users()) signup_ms[u.user_id] = u.signup_ms;
  std::set<std::string> job_ids;
  for (const DemoJob& j : gen.jobs()) job_ids.insert(j.job_id);
  const std::vector<std::string>& statuses = DemoApplicationStatuses();
  const std::set<std::string> status_set(statuses.begin(), statuses.end());
  const int64_t start = options.end_ms - options.days * kDayMs;
  const std::string id_prefix = "demo-" + std::to_string(options.seed) + "-";

  struct AppTrace {
    std::string user;
    std::string job;
    int64_t applied_at = -1;
    std::vector<std::pair<int64_t, std::string>> changes;
    bool responded = false;
    bool interviewed = false;
    bool offered = false;
  };
  std::map<std::string, AppTrace> apps;
  std::map<std::string, uint64_t> by_type;
  std::map<std::string, DemoUserTruth> per_user;
  std::set<std::string> event_ids;
  std::map<std::string, int64_t> last_ts_by_user;
  std::map<std::string, std::string> session_owner;
  uint64_t applications = 0, responses = 0, interviews = 0, offers = 0, accepted = 0, sessions = 0;
  int64_t previous_ts = start;

  for (const json& e : events) {
    ASSERT_TRUE(e.is_object());
    for (const char* field : {"event_id", "type", "user_id", "timestamp"}) {
      ASSERT_TRUE(e.contains(field) && e[field].is_string()) << field << " in " << e.dump();
    }
    ASSERT_TRUE(e.contains("properties") && e["properties"].is_object()) << e.dump();
    ASSERT_TRUE(e.contains("context") && e["context"].is_object()) << e.dump();
    const std::string type = e["type"];
    const std::string user = e["user_id"];
    const std::string id = e["event_id"];
    const json& props = e["properties"];
    const json& ctx = e["context"];
    EXPECT_EQ(id.rfind(id_prefix, 0), 0u) << id;
    EXPECT_TRUE(event_ids.insert(id).second) << "duplicate " << id;

    int64_t ts = ParseIso(e["timestamp"]);
    ASSERT_GE(ts, start) << e.dump();
    ASSERT_LE(ts, options.end_ms) << e.dump();
    EXPECT_GE(ts, previous_ts) << "global order " << e.dump();
    previous_ts = ts;
    EXPECT_GE(ts, last_ts_by_user[user]);
    last_ts_by_user[user] = ts;

    auto rule = RequiredProperties().find(type);
    ASSERT_NE(rule, RequiredProperties().end()) << "unknown type " << type;
    for (const auto& [name, value_type] : rule->second) {
      ASSERT_TRUE(props.contains(name)) << type << " lacks " << name << ": " << e.dump();
      EXPECT_EQ(props[name].type(), value_type) << type << "." << name;
    }
    if (props.contains("job_id")) {
      EXPECT_EQ(job_ids.count(props["job_id"]), 1u) << e.dump();
    }
    ++by_type[type];

    if (kSystemTypes.count(type) != 0) {
      EXPECT_EQ(user, kDemoSystemUserId);
      EXPECT_FALSE(e.contains("session_id"));
      continue;
    }
    ASSERT_EQ(signup_ms.count(user), 1u) << e.dump();
    EXPECT_GE(ts, signup_ms[user]) << "event before sign-up: " << e.dump();
    DemoUserTruth& ut = per_user[user];
    if (kBrowserTypes.count(type) != 0) {
      ASSERT_TRUE(e.contains("session_id") && e["session_id"].is_string()) << e.dump();
      auto [it, inserted] = session_owner.emplace(e["session_id"], user);
      EXPECT_EQ(it->second, user) << "session shared between users";
      EXPECT_TRUE(ctx["user_agent"].is_string());
      EXPECT_TRUE(ctx["locale"].is_string());
      if (type == "page_view") {
        ASSERT_TRUE(ctx.contains("page") && ctx["page"].is_object()) << e.dump();
        for (const char* field : {"url", "path", "referrer", "title"}) {
          EXPECT_TRUE(ctx["page"][field].is_string()) << field << " in " << e.dump();
        }
        const std::string url = ctx["page"]["url"];
        const std::string path = ctx["page"]["path"];
        EXPECT_EQ(url.find("https://"), 0u);
        EXPECT_EQ(url.substr(url.size() - path.size()), path);
        EXPECT_FALSE(path.empty());
      } else if (ctx.contains("page")) {
        ASSERT_TRUE(ctx["page"].is_object());
        EXPECT_FALSE(ctx["page"]["path"].get<std::string>().empty()) << e.dump();
      }
    } else {
      ASSERT_EQ(kBackendTypes.count(type), 1u) << type;
      EXPECT_FALSE(e.contains("session_id"));
    }

    if (type == "login") {
      ++sessions;
      ++ut.sessions;
    } else if (type == "job_apply") {
      AppTrace& app = apps[props["application_id"]];
      EXPECT_EQ(app.applied_at, -1) << "application applied twice";
      app.user = user;
      app.job = props["job_id"];
      app.applied_at = ts;
      ++applications;
      ++ut.applications;
    } else if (props.contains("application_id")) {
      auto it = apps.find(props["application_id"]);
      ASSERT_NE(it, apps.end()) << "event before job_apply: " << e.dump();
      AppTrace& app = it->second;
      EXPECT_EQ(app.user, user);
      EXPECT_EQ(app.job, props["job_id"]);
      EXPECT_GE(ts, app.applied_at);
      const std::string current = app.changes.empty() ? "" : app.changes.back().second;
      if (type == "application_status_changed") {
        const std::string status = props["status"];
        EXPECT_EQ(status_set.count(status), 1u) << status;
        EXPECT_EQ(props["previous_status"], current);
        EXPECT_EQ(current.empty(), status == "applied") << e.dump();
        for (const char* terminal : {"rejected", "withdrawn", "ghosted", "offer"}) {
          EXPECT_NE(current, terminal) << "change after a final stage: " << e.dump();
        }
        if (!app.changes.empty()) {
          EXPECT_GT(ts, app.changes.back().first) << e.dump();
        }
        if (current == "applied" && status != "ghosted" && status != "withdrawn") {
          app.responded = true;
          ++responses;
          ++ut.employer_responses;
        }
        if (status == "interview") {
          EXPECT_EQ(current, "screening");
          app.interviewed = true;
          ++interviews;
          ++ut.interviews;
        }
        if (status == "screening") {
          EXPECT_EQ(current, "applied");
        }
        if (status == "offer") {
          EXPECT_EQ(current, "interview");
        }
        app.changes.emplace_back(ts, status);
      } else if (type == "interview_scheduled" || type == "interview_feedback") {
        EXPECT_EQ(current, "interview") << e.dump();
        EXPECT_GE(props["round"].get<int>(), 1);
        if (type == "interview_scheduled") {
          EXPECT_GT(ParseIso(props["scheduled_for"]), ts);
        } else {
          EXPECT_GE(props["rating"].get<int>(), 1);
          EXPECT_LE(props["rating"].get<int>(), 5);
        }
      } else if (type == "offer_received") {
        EXPECT_EQ(current, "offer");
        EXPECT_FALSE(app.offered);
        app.offered = true;
        ++offers;
        ++ut.offers;
      } else if (type == "offer_accepted" || type == "offer_rejected") {
        EXPECT_TRUE(app.offered);
        if (type == "offer_accepted") {
          ++accepted;
          ++ut.offers_accepted;
        }
      } else if (type == "follow_up") {
        EXPECT_EQ(current, "applied");
      }
    }
  }

  const DemoTruth& t = g.truth;
  EXPECT_EQ(t.events_by_type, by_type);
  EXPECT_EQ(t.sessions, sessions);
  EXPECT_EQ(t.applications, applications);
  EXPECT_EQ(t.employer_responses, responses);
  EXPECT_EQ(t.interviews, interviews);
  EXPECT_EQ(t.offers, offers);
  EXPECT_EQ(t.offers_accepted, accepted);
  ASSERT_EQ(t.per_user.size(), per_user.size());
  for (const auto& [user, expected] : per_user) {
    const DemoUserTruth& got = t.per_user.at(user);
    EXPECT_EQ(got.sessions, expected.sessions) << user;
    EXPECT_EQ(got.applications, expected.applications) << user;
    EXPECT_EQ(got.employer_responses, expected.employer_responses) << user;
    EXPECT_EQ(got.interviews, expected.interviews) << user;
    EXPECT_EQ(got.offers, expected.offers) << user;
    EXPECT_EQ(got.offers_accepted, expected.offers_accepted) << user;
  }
  std::map<std::string, uint64_t> by_status;
  ASSERT_EQ(t.application_status.size(), apps.size());
  for (const auto& [app_id, trace] : apps) {
    ASSERT_FALSE(trace.changes.empty()) << app_id;
    EXPECT_EQ(t.application_status.at(app_id), trace.changes.back().second);
    ++by_status[trace.changes.back().second];
  }
  EXPECT_EQ(t.applications_by_status, by_status);

  // The model is rich enough to exercise every event type and the main outcomes.
  for (const auto& [type, rule] : RequiredProperties()) {
    EXPECT_GT(by_type[type], 0u) << "no " << type << " events";
  }
  for (const char* status : {"applied", "screening", "rejected", "ghosted", "offer"}) {
    EXPECT_GT(by_status[status], 0u) << status;
  }
  EXPECT_GT(responses, 0u);
  EXPECT_LT(responses, applications / 2) << "most applications should get no answer";
}

TEST(DemoData, DefaultScaleIsRealistic) {
  DemoOptions options;  // 200 users, 90 days, 500 jobs.
  auto begin = std::chrono::steady_clock::now();
  DemoGenerator gen(options);
  std::string body;
  size_t bytes = 0;
  while (gen.NextBatch(1000, &body)) bytes += body.size();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  const DemoTruth& t = gen.truth();
  EXPECT_GE(t.events, 100000u);
  EXPECT_LE(t.events, 300000u);
  EXPECT_EQ(gen.users().size(), 200u);
  EXPECT_EQ(gen.jobs().size(), 500u);
  // Open applications remain at the end of the history.
  uint64_t open = 0;
  for (const char* s : {"applied", "screening", "interview"}) {
    auto it = t.applications_by_status.find(s);
    if (it != t.applications_by_status.end()) open += it->second;
  }
  EXPECT_GT(open, 0u);
  RecordProperty("events", static_cast<int>(t.events));
  std::printf(
      "demo default: %llu events, %zu bytes, %llu applications, %llu responses, "
      "%llu interviews, %llu offers, %llu accepted, %.3f s\n",
      static_cast<unsigned long long>(t.events), bytes,
      static_cast<unsigned long long>(t.applications),
      static_cast<unsigned long long>(t.employer_responses),
      static_cast<unsigned long long>(t.interviews), static_cast<unsigned long long>(t.offers),
      static_cast<unsigned long long>(t.offers_accepted), seconds);
}

}  // namespace
}  // namespace ca::app
