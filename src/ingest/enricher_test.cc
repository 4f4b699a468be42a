#include "ingest/enricher.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ingest/privacy_filter.h"

namespace ca::ingest {
namespace {

constexpr int64_t kT0 = 1'795'838'400'000;  // 2026-11-28T04:00:00Z
constexpr const char* kChromeWindows =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.109 Safari/537.36";
constexpr const char* kSafariIphone =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

class FakeProfiles : public UserProfiles {
 public:
  std::shared_ptr<const UserProfile> Find(std::string_view tenant, std::string_view user) override {
    auto it = traits_.find(std::string(tenant) + "/" + std::string(user));
    if (it == traits_.end()) return nullptr;
    return std::make_shared<const UserProfile>(ProfileFromTraits(it->second));
  }
  void Identify(std::string_view tenant, std::string_view user, std::string_view traits) override {
    traits_[std::string(tenant) + "/" + std::string(user)] = std::string(traits);
  }
  std::map<std::string, std::string> traits_;
};

class EnricherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ua = UserAgentParser::Load("/usr/share/uap-core/regexes.yaml");
    ASSERT_TRUE(ua.ok()) << ua.status().ToString();
    ua_ = std::move(ua).value().release();
    std::string tmpl = ::testing::TempDir() + "ca_enrich_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = new std::string(tmpl);
    const std::string db = *dir_ + "/geo.mmdb";
    const std::string command = "perl '" CA_GEO_TEST_DB_SCRIPT "' '" + db + "' 2>&1 </dev/null";
    const int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "failed: " << command;
    auto geo = GeoLookup::Open(db);
    ASSERT_TRUE(geo.ok()) << geo.status().ToString();
    geo_ = std::move(geo).value().release();
  }
  static void TearDownTestSuite() {
    delete ua_;
    delete geo_;
    if (dir_) std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  event::Event Make(std::string context, std::string user = "u1", int64_t ts = kT0) {
    event::Event e;
    e.tenant = "acme";
    e.type = "page_view";
    e.user_id = std::move(user);
    e.timestamp_ms = ts;
    e.received_at_ms = kT0;
    e.context_json = std::move(context);
    return e;
  }
  nlohmann::json Context(const event::Event& e) { return nlohmann::json::parse(e.context_json); }

  static UserAgentParser* ua_;
  static GeoLookup* geo_;
  static std::string* dir_;
  FakeProfiles profiles_;
};
UserAgentParser* EnricherTest::ua_ = nullptr;
GeoLookup* EnricherTest::geo_ = nullptr;
std::string* EnricherTest::dir_ = nullptr;

TEST_F(EnricherTest, AddsGeoUserAgentCampaignChannelAndSession) {
  Enricher enricher(ua_, geo_, &profiles_);
  event::Event e =
      Make(std::string(R"({"ip":"203.0.113.7","user_agent":")") + kChromeWindows +
           R"(","page":{"url":"https://jobs.example.com/jobs/42?utm_source=newsletter)"
           R"(&utm_medium=email&utm_campaign=winter","referrer":"https://www.google.de/"}})");
  enricher.Enrich(RequestContext(), &e);
  const nlohmann::json c = Context(e);
  EXPECT_EQ(c["country"], "DE");
  EXPECT_EQ(c["region"], "BE");
  EXPECT_EQ(c["browser"]["name"], "Chrome");
  EXPECT_EQ(c["browser"]["version"], "120.0");
  EXPECT_EQ(c["os"]["name"], "Windows");
  EXPECT_EQ(c["device"], "desktop");
  EXPECT_EQ(c["campaign"]["source"], "newsletter");
  EXPECT_EQ(c["campaign"]["medium"], "email");
  EXPECT_EQ(c["campaign"]["name"], "winter");
  EXPECT_EQ(c["referrer_host"], "google.de");
  EXPECT_EQ(c["channel"], "email");  // the campaign says e-mail, whatever the referrer
  EXPECT_FALSE(e.session_id.empty());
  EXPECT_EQ(c["session"]["id"], e.session_id);
  EXPECT_EQ(c["session"]["entry_path"], "/jobs/42");
  EXPECT_EQ(c["session"]["channel"], "email");
  EXPECT_EQ(c["session"]["utm_campaign"], "winter");
  EXPECT_EQ(c["ip"], "203.0.113.7");  // truncation is the privacy stage's job, after this one

  // The next page of the same visit has the session's context, not its own.
  event::Event next = Make(R"({"page":{"url":"https://jobs.example.com/jobs/43",)"
                           R"("referrer":"https://jobs.example.com/jobs/42"}})",
                           "u1", kT0 + 60'000);
  enricher.Enrich(RequestContext(), &next);
  const nlohmann::json n = Context(next);
  EXPECT_EQ(next.session_id, e.session_id);
  EXPECT_EQ(n["channel"], "direct");  // an internal referrer
  EXPECT_EQ(n["session"]["entry_path"], "/jobs/42");
  EXPECT_EQ(n["session"]["channel"], "email");
}

TEST_F(EnricherTest, RequestIpAndUserAgentAreTheFallback) {
  Enricher enricher(ua_, geo_, nullptr);
  event::Event e = Make("{}");
  RequestContext request;
  request.client_ip = "198.51.100.9";
  request.user_agent = kSafariIphone;
  enricher.Enrich(request, &e);
  const nlohmann::json c = Context(e);
  EXPECT_EQ(c["country"], "US");
  EXPECT_EQ(c["device"], "mobile");
  EXPECT_EQ(c["os"]["name"], "iOS");
  EXPECT_FALSE(c.contains("channel"));  // no page: nothing to classify
}

TEST_F(EnricherTest, WhatTheSenderSetIsKept) {
  Enricher enricher(ua_, geo_, nullptr);
  event::Event e =
      Make(R"({"ip":"203.0.113.7","country":"FR","user_agent":")" + std::string(kSafariIphone) +
           R"(","device":{"id":"d-1","type":"ios"},"session":{"id":"mine"}})");
  e.session_id = "client-session";
  enricher.Enrich(RequestContext(), &e);
  const nlohmann::json c = Context(e);
  EXPECT_EQ(c["country"], "FR");
  EXPECT_FALSE(c.contains("region"));
  EXPECT_EQ(c["device"]["id"], "d-1");
  EXPECT_EQ(c["device_type"], "mobile");
  EXPECT_EQ(c["session"]["id"], "mine");
  EXPECT_EQ(e.session_id, "client-session");
}

TEST_F(EnricherTest, ProfilesComeFromIdentifyTraits) {
  Enricher enricher(nullptr, nullptr, &profiles_);
  event::Event identify = Make("{}");
  identify.type = "identify";
  identify.properties_json =
      R"({"traits":{"industry":"software","job_level":"senior","address":{"city":"Berlin"},)"
      R"("created_at":"2026-11-26T10:00:00Z"}})";
  enricher.Enrich(RequestContext(), &identify);
  event::Event view = Make("{}");
  enricher.Enrich(RequestContext(), &view);
  for (const event::Event* e : {&identify, &view}) {
    const nlohmann::json c = Context(*e);
    EXPECT_EQ(c["profile"]["industry"], "software");
    EXPECT_EQ(c["profile"]["seniority"], "senior");
    EXPECT_EQ(c["profile"]["location"], "Berlin");
    EXPECT_EQ(c["profile"]["signup_week"], "2026-W48");
  }
  event::Event stranger = Make("{}", "u2");
  enricher.Enrich(RequestContext(), &stranger);
  EXPECT_FALSE(Context(stranger).contains("profile"));
}

TEST_F(EnricherTest, IsoWeeksAtYearBoundaries) {
  EXPECT_EQ(ProfileFromTraits(R"({"signup_at":"2021-01-03"})").signup_week, "2020-W53");
  EXPECT_EQ(ProfileFromTraits(R"({"signup_at":"2024-12-30T00:00:00Z"})").signup_week, "2025-W01");
  EXPECT_EQ(ProfileFromTraits(R"({"signup_at":0})").signup_week, "1970-W01");
  EXPECT_TRUE(ProfileFromTraits(R"({"signup_at":"soon"})").signup_week.empty());
  EXPECT_TRUE(ProfileFromTraits("not json").empty());
}

TEST_F(EnricherTest, AnonymizedEventsGetNoSessionOrProfile) {
  profiles_.Identify("acme", "u1", R"({"industry":"software"})");
  Enricher enricher(ua_, geo_, &profiles_);
  event::Event e = Make(R"({"page":{"url":"https://x.example/a"}})", "");
  e.anonymous_id = "anonymized";
  e.flags |= event::kFlagAnonymized;
  enricher.Enrich(RequestContext(), &e);
  const nlohmann::json c = Context(e);
  EXPECT_TRUE(e.session_id.empty());
  EXPECT_FALSE(c.contains("session"));
  EXPECT_FALSE(c.contains("profile"));
  EXPECT_EQ(c["channel"], "direct");
}

TEST_F(EnricherTest, PersonalDataLeavesPageUrls) {
  Enricher enricher(nullptr, nullptr, nullptr);
  event::Event e =
      Make(R"({"page":{"url":"https://x.example/reset?token=abc123&email=jane%40doe.io",)"
           R"("referrer":"https://mail.example/?u=jane@doe.io","path":"/reset"}})");
  enricher.Enrich(RequestContext(), &e);
  const std::string url = Context(e)["page"]["url"];
  const std::string referrer = Context(e)["page"]["referrer"];
  EXPECT_EQ(url.find("abc123"), std::string::npos) << url;
  EXPECT_EQ(url.find("jane"), std::string::npos) << url;
  EXPECT_EQ(referrer.find("jane"), std::string::npos) << referrer;
  EXPECT_EQ(Context(e)["page"]["path"], "/reset");
}

TEST_F(EnricherTest, WhatEnrichmentAddsIsCleanSoThePrivacyStageSkipsIt) {
  Enricher enricher(ua_, geo_, &profiles_);
  profiles_.Identify("acme", "u9",
                     R"({"industry":"call +49 30 1234567","location":"jane@doe.io","level":"x"})");
  const std::string contexts[] = {
      std::string(R"({"ip":"203.0.113.7","user_agent":")") + kChromeWindows +
          R"(","page":{"path":"/users/jane@doe.io/cv","url":"https://jobs.example.com/jobs/1",)"
          R"("referrer":"https://555-123-4567.example/"}})",
      R"({"page":{"url":"/jobs/1?phone=%2B4930123456&utm_source=a%40b.io"},"note":"x@y.io"})",
      R"({"ip":"198.51.100.23","page":{"path":"/jobs/7"}})",
  };
  const PrivacyFilter privacy{PrivacyOptions()};
  int with_tail = 0;
  for (const std::string& context : contexts) {
    for (const char* session_id : {"", "jane@doe.io"}) {
      event::Event e = Make(context, "u9");
      e.session_id = session_id;
      enricher.Enrich(RequestContext(), &e);
      with_tail += e.clean_context_tail > 0;
      // The tail needs nothing: scrubbing while skipping it gives what scrubbing all of it gives.
      event::Event whole = e;
      whole.clean_context_tail = 0;
      privacy.Apply(&e);
      privacy.Apply(&whole);
      EXPECT_EQ(e.context_json, whole.context_json);
      EXPECT_EQ(e.context_json.find("jane"), std::string::npos) << e.context_json;
      EXPECT_EQ(e.context_json.find("1234567"), std::string::npos) << e.context_json;
      EXPECT_EQ(e.context_json.find("123-4567"), std::string::npos) << e.context_json;
    }
  }
  EXPECT_GE(with_tail, 4);
}

TEST_F(EnricherTest, ABatchGivesWhatEnrichingEachEventAloneGives) {
  // Runs of one context (a page's events share one: the batch looks it up once), broken by
  // other users, an anonymised event, a URL with personal data and a context with an escape.
  profiles_.Identify("acme", "u2", R"({"industry":"software"})");
  const std::string page = std::string(R"({"ip":"203.0.113.7","user_agent":")") + kChromeWindows +
                           R"(","page":{"url":"https://jobs.example.com/jobs/1?utm_source=x",)"
                           R"("path":"/jobs/1","referrer":"https://www.google.com/"}})";
  const std::string other = R"({"ip":"198.51.100.23","page":{"url":"https://jobs.example.com/"}})";
  const std::string secret = R"({"page":{"url":"https://x.example/r?email=jane%40doe.io"}})";
  const std::string escaped = R"({"page":{"url":"https://x.example/\u0041"}})";
  struct Step {
    const std::string* context;
    const char* user;
    int64_t minutes;
    bool anonymized = false;
  };
  const std::vector<Step> steps = {
      {&page, "u1", 0},     {&page, "u1", 1},     {&page, "u1", 2},    {&page, "u2", 2},
      {&page, "u2", 3},     {&page, "", 3, true}, {&page, "u1", 4},    {&other, "u1", 5},
      {&page, "u1", 45},    {&page, "u1", 46},    {&secret, "u1", 47}, {&secret, "u1", 48},
      {&escaped, "u1", 49}, {&escaped, "u1", 50}, {&other, "u3", 51},  {&other, "u3", 52},
  };
  std::vector<event::Event> batch;
  for (const Step& step : steps) {
    event::Event e = Make(*step.context, step.user, kT0 + step.minutes * 60'000);
    if (step.anonymized) {
      e.anonymous_id = "anonymized";
      e.flags |= event::kFlagAnonymized;
    }
    batch.push_back(std::move(e));
  }
  std::vector<event::Event> alone = batch;
  const RequestContext request{false, "192.0.2.1", "curl/8.0"};
  Enricher batched(ua_, geo_, &profiles_);
  batched.EnrichBatch(request, &batch);
  Enricher one_by_one(ua_, geo_, &profiles_);
  for (event::Event& e : alone) one_by_one.Enrich(request, &e);
  for (size_t i = 0; i < batch.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(batch[i].context_json, alone[i].context_json);
    EXPECT_EQ(batch[i].session_id, alone[i].session_id);
    EXPECT_EQ(batch[i].clean_context_tail, alone[i].clean_context_tail);
  }
  // The 30-minute gap starts a new session within a run of one context.
  EXPECT_NE(batch[6].session_id, batch[8].session_id);
  EXPECT_EQ(batch[8].session_id, batch[9].session_id);
  EXPECT_EQ(Context(batch[4])["profile"]["industry"], "software");
  EXPECT_FALSE(Context(batch[6]).contains("profile"));
  EXPECT_EQ(batch[11].context_json.find("jane"), std::string::npos) << batch[11].context_json;
}

}  // namespace
}  // namespace ca::ingest
