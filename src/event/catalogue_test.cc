#include "event/catalogue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace ca::event {
namespace {

TEST(CatalogueTest, BuiltinsAreSortedAndComplete) {
  auto types = BuiltinEventTypes();
  EXPECT_EQ(types.size(), 26u);
  EXPECT_TRUE(std::is_sorted(types.begin(), types.end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));
  for (std::string_view n : {"page_view",
                             "button_click",
                             "form_submit",
                             "search",
                             "filter_change",
                             "time_spent",
                             "job_view",
                             "job_save",
                             "job_share",
                             "job_apply",
                             "application_status_changed",
                             "interview_scheduled",
                             "interview_feedback",
                             "offer_received",
                             "offer_accepted",
                             "offer_rejected",
                             "follow_up",
                             "login",
                             "logout",
                             "error",
                             "perf_metric",
                             "task_run",
                             "screen_view",
                             "identify",
                             "alias",
                             "group"}) {
    const EventTypeSpec* spec = FindBuiltinEventType(n);
    ASSERT_NE(spec, nullptr) << n;
    EXPECT_EQ(spec->name, n);
  }
  EXPECT_EQ(FindBuiltinEventType("Page_view"), nullptr);
  EXPECT_EQ(FindBuiltinEventType(""), nullptr);
  EXPECT_EQ(FindBuiltinEventType("zzz"), nullptr);
}

TEST(CatalogueTest, RequiredProperties) {
  const EventTypeSpec* s = FindBuiltinEventType("application_status_changed");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->required.size(), 2u);
  EXPECT_EQ(s->required[1].name, "status");
  EXPECT_EQ(s->required[1].allowed_values.size(), 7u);
  EXPECT_TRUE(FindBuiltinEventType("page_view")->required.empty());
  EXPECT_TRUE(FindBuiltinEventType("time_spent")->required[0].non_negative);
  EXPECT_EQ(FindBuiltinEventType("perf_metric")->required[1].kind, PropertyKind::kNumber);
}

TEST(CatalogueTest, CustomTypes) {
  auto c =
      Catalogue::Create({{"resume_upload", {{"file_kind", PropertyKind::kString}}}, {"x", {}}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const EventTypeSpec* s = c->Find("resume_upload");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->category, EventCategory::kCustom);
  ASSERT_EQ(s->required.size(), 1u);
  EXPECT_EQ(s->required[0].name, "file_kind");
  EXPECT_NE(c->Find("job_view"), nullptr);
  EXPECT_EQ(c->Find("nope"), nullptr);

  Catalogue copy = *c;  // shares state; views stay valid
  EXPECT_EQ(copy.Find("resume_upload"), s);
  EXPECT_EQ(Catalogue().Find("resume_upload"), nullptr);
}

TEST(CatalogueTest, RejectsBadCustomTypes) {
  for (std::string name : std::vector<std::string>{"", "Upper", "1abc", "_x", "has-dash",
                                                   "has space", "job_view", std::string(65, 'a')}) {
    auto c = Catalogue::Create({{name, {}}});
    ASSERT_FALSE(c.ok()) << name;
    EXPECT_EQ(c.status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(Catalogue::Create({{std::string(64, 'a'), {}}}).ok());
  EXPECT_FALSE(Catalogue::Create({{"a", {}}, {"a", {}}}).ok());
  EXPECT_FALSE(
      Catalogue::Create({{"a", {{"p", PropertyKind::kString}, {"p", PropertyKind::kNumber}}}})
          .ok());
  EXPECT_FALSE(Catalogue::Create({{"a", {{"", PropertyKind::kString}}}}).ok());
}

TEST(CatalogueTest, PropertyKindNames) {
  for (PropertyKind k : {PropertyKind::kString, PropertyKind::kNumber, PropertyKind::kBoolean,
                         PropertyKind::kObject, PropertyKind::kArray}) {
    auto r = ParsePropertyKind(PropertyKindName(k));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, k);
  }
  EXPECT_FALSE(ParsePropertyKind("int").ok());
}

}  // namespace
}  // namespace ca::event
