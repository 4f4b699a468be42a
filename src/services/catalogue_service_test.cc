#include "services/catalogue_service.h"

#include <gtest/gtest.h>

#include "services/temp_state_store.h"

namespace ca::services {
namespace {

class CatalogueServiceTest : public TempStateStoreTest {};

TEST_F(CatalogueServiceTest, CustomTypesAppearAfterTheTtl) {
  CatalogueService service(store_.get(), 1000, [this] { return now_; });
  auto before = service.ForTenant("acme");
  ASSERT_TRUE(before.ok());
  EXPECT_NE(before->Find("job_view"), nullptr);
  EXPECT_EQ(before->Find("plan_upgraded"), nullptr);

  event::CustomEventType type{"plan_upgraded", {{"plan", event::PropertyKind::kString}}};
  ASSERT_TRUE(store_->AddCustomEventType("acme", RowFromCustomType(type)).ok());
  EXPECT_EQ(service.ForTenant("acme")->Find("plan_upgraded"), nullptr);  // still cached
  now_ += 1000;
  auto after = service.ForTenant("acme");
  ASSERT_TRUE(after.ok());
  ASSERT_NE(after->Find("plan_upgraded"), nullptr);
  // Other tenants do not see it.
  EXPECT_EQ(service.ForTenant("globex")->Find("plan_upgraded"), nullptr);
}

TEST_F(CatalogueServiceTest, RowConversionRoundTripsAndRejectsBadKinds) {
  event::CustomEventType type{
      "seats_changed",
      {{"seats", event::PropertyKind::kNumber}, {"admin", event::PropertyKind::kBoolean}}};
  auto back = CustomTypeFromRow(RowFromCustomType(type));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->name, "seats_changed");
  ASSERT_EQ(back->required.size(), 2u);
  EXPECT_EQ(back->required[0].kind, event::PropertyKind::kNumber);

  EXPECT_EQ(CustomTypeFromRow({"x_y", R"({"a": "decimal"})"}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CustomTypeFromRow({"x_y", R"({"a": 3})"}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CustomTypeFromRow({"job_view", "{}"}).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ca::services
