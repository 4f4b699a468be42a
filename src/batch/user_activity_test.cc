#include "batch/user_activity.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

namespace ca::batch {
namespace {

TEST(UserActivity, KeepsSearchAndApplicationEventsOnly) {
  for (const char* type : {"search", "job_save", "job_apply", "application_status_changed",
                           "interview_scheduled", "offer_received", "follow_up"}) {
    EXPECT_TRUE(IsActivityType(type)) << type;
  }
  for (const char* type : {"page_view", "job_view", "time_spent", "login", "", "Search"}) {
    EXPECT_FALSE(IsActivityType(type)) << type;
  }
}

TEST(UserActivity, RowFromEventCarriesApplicationStatusAndShownProperties) {
  event::Event e;
  e.tenant = "acme";
  e.event_id = "ev-1";
  e.type = "application_status_changed";
  e.user_id = "u1";
  e.timestamp_ms = 1'700'000'000'000;
  e.properties_json =
      R"({"application_id":"a1","status":"interview","nested":{"x":1},"list":[1],"n":3,"ok":true})";
  state::UserActivityRow row;
  ASSERT_TRUE(ActivityFromEvent(e, &row));
  EXPECT_EQ(row.tenant, "acme");
  EXPECT_EQ(row.user_id, "u1");
  EXPECT_EQ(row.event_id, "ev-1");
  EXPECT_EQ(row.timestamp_ms, 1'700'000'000'000);
  EXPECT_EQ(row.application_id, "a1");
  EXPECT_EQ(row.status, "interview");
  EXPECT_EQ(row.properties_json, R"({"application_id":"a1","n":3,"ok":true,"status":"interview"})");

  e.type = "job_view";
  EXPECT_FALSE(ActivityFromEvent(e, &row));
  e.type = "search";
  e.user_id.clear();
  EXPECT_FALSE(ActivityFromEvent(e, &row));
}

TEST(UserActivity, CompactPropertiesCutsLongStringsAtACharacterBoundary) {
  std::string title(158, 'a');
  title += "\xC3\xA9\xC3\xA9";  // é é: the cut at 160 bytes falls inside the second one
  const std::string compact = CompactProperties(R"({"title":")" + title + R"("})");
  EXPECT_EQ(compact, R"({"title":")" + std::string(158, 'a') + "\xC3\xA9\xE2\x80\xA6" + R"("})");
  EXPECT_EQ(CompactProperties("[1,2]"), "{}");
  EXPECT_EQ(CompactProperties("not json"), "{}");
  // At most 16 members.
  std::string many = "{";
  for (int i = 0; i < 40; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(100 + i) + "\":1";
  many += "}";
  EXPECT_EQ(nlohmann::json::parse(CompactProperties(many)).size(), 16u);
}

TEST(UserActivity, MarkupInPropertiesIsKeptAsText) {
  // Rendering is the client's business: the value is stored as it came (JSON-escaped).
  EXPECT_EQ(CompactProperties(R"({"title":"<img src=x onerror=alert(1)>"})"),
            R"({"title":"<img src=x onerror=alert(1)>"})");
}

}  // namespace
}  // namespace ca::batch
