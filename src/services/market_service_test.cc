#include "services/market_service.h"

#include <gtest/gtest.h>

#include "cache/lru_cache.h"
#include "event/timestamp.h"
#include "state/sqlite_state_store.h"
#include "wal/wal_test_util.h"

namespace ca::services {
namespace {

using nlohmann::json;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

class MarketServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = std::move(state::OpenSqliteStateStore(dir_.path() + "/state.db")).value();
    ASSERT_TRUE(state_->GetOrCreateTenant("acme").ok());
  }

  // Ten weekly rows of Software in Berlin, salary rising by 1000 a week, up to 2024-10-07.
  std::string WeeklyCsv() {
    std::string csv = "date,industry,location,avg_salary,postings,competition\n";
    const int64_t last = *event::ParseIso8601Millis("2024-10-07T00:00:00Z") / kDayMs;
    for (int i = 9; i >= 0; --i) {
      const int64_t day = last - 7 * i;
      csv += event::FormatIso8601Millis(day * kDayMs).substr(0, 10) + ",Software,Berlin," +
             std::to_string(70000 + 1000 * (9 - i)) + ",100,2.5\n";
    }
    return csv;
  }

  wal::testing::TempDir dir_;
  std::unique_ptr<state::StateStore> state_;
};

TEST_F(MarketServiceTest, ImportStoresValidRowsAndListsTheRest) {
  MarketService service(state_.get(), nullptr);
  const std::string csv =
      WeeklyCsv() + "2024-10-08,Software,Berlin,-5,10,1\nnot-a-date,x,y,1,1,1\n";
  auto receipt = service.Import("acme", ExternalDataset::kMarket, ExternalFormat::kCsv, csv);
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  EXPECT_EQ((*receipt)["rows_read"], 12);
  EXPECT_EQ((*receipt)["stored"], 10);
  EXPECT_EQ((*receipt)["rejected"], 2);
  EXPECT_EQ((*receipt)["rejections"][0]["line"], 12);
  EXPECT_EQ((*receipt)["rejections"][0]["code"], "negative_value");
  EXPECT_EQ((*receipt)["rejections"][1]["code"], "invalid_date");
  auto rows = state_->ListMarketTrends("acme", "software", "BERLIN", 0, 100000);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 10u);

  auto unknown = service.Import("nobody", ExternalDataset::kMarket, ExternalFormat::kCsv, csv);
  EXPECT_EQ(unknown.status().code(), ErrorCode::kNotFound);
  auto garbage = service.Import("acme", ExternalDataset::kMarket, ExternalFormat::kJson, "{{{");
  EXPECT_EQ(garbage.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(MarketServiceTest, TrendsGiveTheSeriesTheChangeAndAForecast) {
  MarketService service(state_.get(), nullptr);
  ASSERT_TRUE(
      service.Import("acme", ExternalDataset::kMarket, ExternalFormat::kCsv, WeeklyCsv()).ok());
  const int64_t now = *event::ParseIso8601Millis("2024-10-09T12:00:00Z");
  auto text = service.Trends("acme", "Software", "Berlin", now, 365, 14);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const json trends = json::parse(*text);
  ASSERT_EQ(trends["series"].size(), 10u);
  EXPECT_NEAR(trends["change_percent"]["average_salary"].get<double>(), 9000.0 / 70000 * 100, 1e-9);
  EXPECT_NEAR(trends["change_percent"]["postings"].get<double>(), 0, 1e-9);
  const json& salary = trends["forecast"]["average_salary"];
  ASSERT_FALSE(salary.empty());
  // A straight line goes on rising by about 1000 a week, inside its interval.
  EXPECT_EQ(salary[0]["day"], "2024-10-14");
  EXPECT_NEAR(salary[0]["value"].get<double>(), 80000, 500);
  EXPECT_LE(salary[0]["lower"].get<double>(), salary[0]["value"].get<double>());
  EXPECT_GE(salary[0]["upper"].get<double>(), salary[0]["value"].get<double>());

  auto none = service.Trends("acme", "Farming", "", now);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(json::parse(*none)["forecast"].is_null());
  EXPECT_EQ(service.Trends("acme", "", "", now, 0).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(service.Trends("acme", "", "", now, 30, 91).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(MarketServiceTest, AnImportInvalidatesCachedTrends) {
  cache::LruCache cache;
  MarketService service(state_.get(), &cache);
  const int64_t now = *event::ParseIso8601Millis("2024-10-09T12:00:00Z");
  auto before = service.Trends("acme", "Software", "Berlin", now);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(json::parse(*before)["series"].empty());
  ASSERT_TRUE(
      service.Import("acme", ExternalDataset::kMarket, ExternalFormat::kCsv, WeeklyCsv()).ok());
  auto after = service.Trends("acme", "Software", "Berlin", now);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(json::parse(*after)["series"].size(), 10u);
}

}  // namespace
}  // namespace ca::services
