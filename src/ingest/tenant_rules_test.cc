#include "ingest/tenant_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ca::ingest {
namespace {

constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr int64_t kNow = 20'420 * kDay + 10 * 3600 * 1000;  // day 20420, 10:00 UTC

event::Event Event(std::string user, std::string context = "{}", int64_t ts = kNow,
                   std::string type = "page_view") {
  event::Event e;
  e.tenant = "acme";
  e.type = std::move(type);
  e.user_id = std::move(user);
  e.anonymous_id = "anon-1";
  e.session_id = "s-1";
  e.timestamp_ms = ts;
  e.received_at_ms = kNow;
  e.context_json = std::move(context);
  return e;
}

DecodedBatch Batch(std::vector<event::Event> events) {
  DecodedBatch b;
  // Request index 1 was rejected by the decoder: the rules keep request order around it.
  b.rejected.push_back({1, ErrorCode::kMissingField, "user_id", {}});
  uint32_t index = 0;
  for (auto& e : events) {
    if (index == 1) ++index;
    b.events.push_back(std::move(e));
    b.event_indexes.push_back(index++);
  }
  b.received = index;
  return b;
}

TEST(ConsentWithheldTest, ReadsTheUsualShapes) {
  EXPECT_FALSE(ConsentWithheld("{}"));
  EXPECT_FALSE(ConsentWithheld(R"({"page":{"path":"/jobs"}})"));
  EXPECT_FALSE(ConsentWithheld(R"({"consent":true})"));
  EXPECT_FALSE(ConsentWithheld(R"({"consent":"granted"})"));
  EXPECT_FALSE(ConsentWithheld(R"({"consent":{"analytics":true,"marketing":false}})"));
  EXPECT_FALSE(ConsentWithheld(R"({"dnt":false,"do_not_track":0})"));
  EXPECT_FALSE(ConsentWithheld("not json but says consent"));

  EXPECT_TRUE(ConsentWithheld(R"({"consent":false})"));
  EXPECT_TRUE(ConsentWithheld(R"({"consent":"Denied"})"));
  EXPECT_TRUE(ConsentWithheld(R"({"consent":"revoked"})"));
  EXPECT_TRUE(ConsentWithheld(R"({"consent":{"analytics":false}})"));
  EXPECT_TRUE(ConsentWithheld(R"({"consent":{"granted":false}})"));
  EXPECT_TRUE(ConsentWithheld(R"({"consent":{"analytics_storage":"denied"}})"));
  EXPECT_TRUE(ConsentWithheld(
      R"({"consent":{"categoryPreferences":{"Advertising":true,"Analytics":false}}})"));
  EXPECT_TRUE(ConsentWithheld(R"({"dnt":true})"));
  EXPECT_TRUE(ConsentWithheld(R"({"do_not_track":"1"})"));
}

TEST(ConsentWithheldTest, TheKeysAreFoundAtEveryOffset) {
  // The quick look for the keys goes 16 bytes at a time: each key at each place in a block,
  // across a block's end, and in the last bytes.
  for (const char* member : {R"("consent":false)", R"("dnt":1)", R"("do_not_track":true)"}) {
    for (size_t pad = 0; pad < 40; ++pad) {
      const std::string before = R"({"x":")" + std::string(pad, 'a') + R"(",)";
      EXPECT_TRUE(ConsentWithheld(before + member + "}")) << before + member;
      EXPECT_TRUE(ConsentWithheld(before + member + R"(,"y":")" + std::string(pad, 'b') + "\"}"))
          << pad;
    }
  }
}

TEST(TenantRulesTest, NothingChangesForAnOrdinaryBatch) {
  DecodedBatch b = Batch({Event("u1"), Event("u2")});
  std::vector<int64_t> late;
  ApplyTenantRules(TenantRules(), RequestContext(), kNow, &b, &late);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.event_indexes, (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(b.events[1].user_id, "u2");
  EXPECT_EQ(b.rejected.size(), 1u);
  EXPECT_TRUE(late.empty());
}

TEST(TenantRulesTest, DropPolicyRejectsEventsWithoutConsentInRequestOrder) {
  DecodedBatch b =
      Batch({Event("u1", R"({"consent":false})"), Event("u2"), Event("u3", R"({"dnt":1})")});
  std::vector<int64_t> late;
  ApplyTenantRules(TenantRules(), RequestContext(), kNow, &b, &late);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].user_id, "u2");
  EXPECT_EQ(b.event_indexes, (std::vector<uint32_t>{2}));
  ASSERT_EQ(b.rejected.size(), 3u);
  EXPECT_EQ(b.rejected[0].index, 0u);
  EXPECT_EQ(b.rejected[0].code, ErrorCode::kConsentWithheld);
  EXPECT_EQ(b.rejected[1].index, 1u);
  EXPECT_EQ(b.rejected[1].code, ErrorCode::kMissingField);
  EXPECT_EQ(b.rejected[2].index, 3u);
  EXPECT_TRUE(IsPrivacyRejection(b.rejected[2].code));
}

TEST(TenantRulesTest, DoNotTrackHeaderCoversTheWholeRequest) {
  DecodedBatch b = Batch({Event("u1"), Event("u2")});
  std::vector<int64_t> late;
  ApplyTenantRules(TenantRules(), RequestContext{true, {}, {}}, kNow, &b, &late);
  EXPECT_TRUE(b.events.empty());
  EXPECT_EQ(b.rejected.size(), 3u);
}

TEST(TenantRulesTest, AnonymizePolicyKeepsEventsWithoutIdentity) {
  TenantRules rules;
  rules.consent = ConsentMode::kAnonymize;
  event::Event identify = Event("u2", R"({"consent":false})", kNow, "identify");
  event::Event view = Event("u1", R"({"consent":false,"ip":"203.0.113.7","traits":{"n":1},"x":1})");
  view.properties_json = R"({"traits":{"email":"a@b.c"},"job_id":"j1"})";
  DecodedBatch b = Batch({view, identify});
  std::vector<int64_t> late;
  ApplyTenantRules(rules, RequestContext(), kNow, &b, &late);
  ASSERT_EQ(b.events.size(), 1u);
  event::Event& e = b.events[0];
  EXPECT_NE(e.context_json.find("203.0.113.7"), std::string::npos);  // kept for geo until...
  StripAnonymized(&e);                                               // ...after enrichment
  EXPECT_TRUE(e.user_id.empty());
  EXPECT_EQ(e.anonymous_id, kAnonymizedId);
  EXPECT_TRUE(e.session_id.empty());
  EXPECT_EQ(e.flags & event::kFlagAnonymized, event::kFlagAnonymized);
  EXPECT_EQ(e.context_json, R"({"consent":false,"x":1})");
  EXPECT_EQ(e.properties_json, R"({"job_id":"j1"})");
  // An identify without consent means nothing without its user: refused even here.
  ASSERT_EQ(b.rejected.size(), 2u);
  EXPECT_EQ(b.rejected[1].code, ErrorCode::kConsentWithheld);
  EXPECT_EQ(b.rejected[1].index, 2u);
}

TEST(TenantRulesTest, StripLeavesOtherEventsAlone) {
  event::Event e = Event("u1", R"({"ip":"203.0.113.7"})");
  StripAnonymized(&e);
  EXPECT_EQ(e.context_json, R"({"ip":"203.0.113.7"})");
}

TEST(TenantRulesTest, SuppressedUsersAreRefused) {
  TenantRules rules;
  rules.suppressed_users = std::make_shared<const std::unordered_set<std::string>>(
      std::unordered_set<std::string>{"gone"});
  DecodedBatch b = Batch({Event("gone"), Event("here")});
  b.events[0].anonymous_id = "";
  std::vector<int64_t> late;
  ApplyTenantRules(rules, RequestContext(), kNow, &b, &late);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].user_id, "here");
  EXPECT_EQ(b.rejected[0].code, ErrorCode::kUserSuppressed);
}

TEST(TenantRulesTest, LateDaysAreReportedOnce) {
  DecodedBatch b = Batch({Event("u1", "{}", kNow - 2 * kDay), Event("u1", "{}", kNow - kDay),
                          Event("u2", "{}", kNow - 2 * kDay + 1), Event("u3", "{}", kNow)});
  std::vector<int64_t> late;
  ApplyTenantRules(TenantRules(), RequestContext(), kNow, &b, &late);
  EXPECT_EQ(b.events.size(), 4u);
  EXPECT_EQ(late, (std::vector<int64_t>{20'418, 20'419}));
}

}  // namespace
}  // namespace ca::ingest
