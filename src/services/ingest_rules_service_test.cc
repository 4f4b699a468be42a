#include "services/ingest_rules_service.h"

#include <gtest/gtest.h>

#include "services/temp_state_store.h"

namespace ca::services {
namespace {

class IngestRulesServiceTest : public TempStateStoreTest {
 protected:
  // The context of one event after the tenant's privacy stage.
  static std::string Filtered(const TenantIngestRules& rules, std::string context) {
    event::Event e;
    e.context_json = std::move(context);
    rules.privacy->Apply(&e);
    return e.context_json;
  }
};

TEST_F(IngestRulesServiceTest, DefaultsForTenantsWithoutAPolicy) {
  IngestRulesService service(store_.get(), ingest::PrivacyOptions(), 1000, [this] { return now_; });
  for (const char* tenant : {"acme", "unknown"}) {
    auto rules = service.ForTenant(tenant);
    ASSERT_TRUE(rules.ok()) << rules.status().ToString();
    EXPECT_EQ((*rules)->rules.consent, ingest::ConsentMode::kDrop);
    EXPECT_EQ((*rules)->rules.suppressed_users, nullptr);
    EXPECT_EQ((*rules)->max_late_ms, 7LL * 24 * 3600 * 1000);
    EXPECT_EQ(Filtered(**rules, R"({"ip":"203.0.113.77"})"), R"({"ip":"203.0.113.0"})");
  }
}

TEST_F(IngestRulesServiceTest, PolicyAndSuppressionApplyAfterTheTtl) {
  IngestRulesService service(store_.get(), ingest::PrivacyOptions(), 1000, [this] { return now_; });
  ASSERT_TRUE(service.ForTenant("acme").ok());
  ASSERT_TRUE(store_->SetIngestPolicy("acme", {"anonymize", 30, true, {"contact"}}).ok());
  ASSERT_TRUE(store_->SuppressUsers("acme", {"gone"}, 1).ok());
  EXPECT_EQ((*service.ForTenant("acme"))->rules.consent, ingest::ConsentMode::kDrop);  // cached
  now_ += 1000;
  auto rules = service.ForTenant("acme");
  ASSERT_TRUE(rules.ok());
  EXPECT_EQ((*rules)->rules.consent, ingest::ConsentMode::kAnonymize);
  EXPECT_EQ((*rules)->max_late_ms, 30LL * 24 * 3600 * 1000);
  ASSERT_NE((*rules)->rules.suppressed_users, nullptr);
  EXPECT_EQ((*rules)->rules.suppressed_users->count("gone"), 1u);
  // The tenant keeps raw IPs and its allowed key, on top of the server's settings.
  EXPECT_EQ(Filtered(**rules, R"({"ip":"203.0.113.77","contact":"a@b.de","other":"a@b.de"})"),
            R"({"ip":"203.0.113.77","contact":"a@b.de","other":"[email]"})");

  ASSERT_TRUE(store_->SuppressUsers("acme", {"also-gone"}, 2).ok());
  service.Invalidate("acme");  // no wait after an in-process deletion
  EXPECT_EQ((*service.ForTenant("acme"))->rules.suppressed_users->count("also-gone"), 1u);
}

// A user suppressed (and the rules invalidated) while a request reads the rules: that request's
// copy is from before, and must not be kept for the requests after it.
TEST_F(IngestRulesServiceTest, RulesReadAcrossAnInvalidationAreNotKept) {
  IngestRulesService* service_ptr = nullptr;
  int clock_reads = 0;
  IngestRulesService service(store_.get(), ingest::PrivacyOptions(), 1000, [&] {
    // The second reading comes after the rules are read from the state store, before they are
    // kept: the deletion happens right there.
    if (++clock_reads == 2) {
      EXPECT_TRUE(store_->SuppressUsers("acme", {"gone"}, now_).ok());
      service_ptr->Invalidate("acme");
    }
    return now_;
  });
  service_ptr = &service;
  auto first = service.ForTenant("acme");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)->rules.suppressed_users, nullptr);  // read before the suppression
  auto next = service.ForTenant("acme");                 // within the TTL: a kept copy would answer
  ASSERT_TRUE(next.ok());
  ASSERT_NE((*next)->rules.suppressed_users, nullptr);
  EXPECT_EQ((*next)->rules.suppressed_users->count("gone"), 1u);
}

TEST_F(IngestRulesServiceTest, InvalidateAndDrainWaitsForTheRequestsThatEnteredBefore) {
  IngestRulesService service(store_.get(), ingest::PrivacyOptions(), 1000, [this] { return now_; });
  {
    ingest::IngestFence::Ticket request = service.Enter();
    ASSERT_TRUE(service.ForTenant("acme").ok());
    const Status waited = service.InvalidateAndDrain("acme", 50);
    EXPECT_EQ(waited.code(), ErrorCode::kUnavailable) << waited.ToString();
  }
  EXPECT_TRUE(service.InvalidateAndDrain("acme", 50).ok());  // the request has left
}

}  // namespace
}  // namespace ca::services
