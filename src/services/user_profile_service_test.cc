#include "services/user_profile_service.h"

#include <gtest/gtest.h>

#include "services/temp_state_store.h"

namespace ca::services {
namespace {

class UserProfileServiceTest : public TempStateStoreTest {};

TEST_F(UserProfileServiceTest, IdentifyAppliesAtOnceAndOtherWritesAfterTheTtl) {
  UserProfileService profiles(store_.get(), 60'000, 100, [this] { return now_; });
  EXPECT_EQ(profiles.Find("acme", "u1"), nullptr);
  profiles.Identify("acme", "u1", R"({"industry":"software","level":"junior"})");
  auto profile = profiles.Find("acme", "u1");
  ASSERT_NE(profile, nullptr);
  EXPECT_EQ(profile->industry, "software");
  EXPECT_EQ(profile->seniority, "junior");

  // Another process (the platform's user sync) writes the state store: seen after the TTL.
  ASSERT_TRUE(store_->MergeUserTraits("acme", "u1", R"({"level":"senior"})", now_).ok());
  EXPECT_EQ(profiles.Find("acme", "u1")->seniority, "junior");
  now_ += 60'000;
  EXPECT_EQ(profiles.Find("acme", "u1")->seniority, "senior");
  EXPECT_EQ(profiles.Find("acme", "u1")->industry, "software");  // merged, not replaced
}

TEST_F(UserProfileServiceTest, UnknownTenantsAndUsersHaveNoProfile) {
  UserProfileService profiles(store_.get(), 60'000, 2, [this] { return now_; });
  profiles.Identify("nobody", "u1", R"({"industry":"x"})");  // logged, not thrown
  EXPECT_EQ(profiles.Find("nobody", "u1"), nullptr);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(profiles.Find("acme", std::to_string(i)), nullptr);
}

}  // namespace
}  // namespace ca::services
