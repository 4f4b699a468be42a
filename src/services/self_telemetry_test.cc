#include "services/self_telemetry.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <vector>

#include "event/event_codec.h"
#include "wal/wal_test_util.h"

namespace ca::services {
namespace {

using wal::testing::ReadAll;
using wal::testing::TempDir;

class SelfTelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.dir = dir_.path() + "/wal";
    auto wal = wal::Wal::Open(options_);
    ASSERT_TRUE(wal.ok());
    wal_ = std::move(wal).value();
    pipeline_ = std::make_unique<ingest::IngestPipeline>(wal_.get(), 3600'000, 100'000);
  }
  std::vector<event::Event> Logged() {
    std::vector<event::Event> events;
    auto records = ReadAll(options_);
    EXPECT_TRUE(records.ok());
    for (const auto& [lsn, payload] : *records) events.push_back(*event::DecodeEvent(payload));
    return events;
  }

  TempDir dir_;
  wal::Options options_;
  std::unique_ptr<wal::Wal> wal_;
  std::unique_ptr<ingest::IngestPipeline> pipeline_;
};

TEST_F(SelfTelemetryTest, RequestsAndTasksBecomeEventsOfTheSystemTenant) {
  SelfTelemetry telemetry(pipeline_.get(), SelfTelemetry::Options{});
  telemetry.RecordRequest("POST", "/api/analytics/events", 200, 1.25);
  telemetry.RecordTask("store.flush", 1500, true, "");
  telemetry.RecordTask("store.merge", 20, false, "io_error: disk on fire");
  telemetry.Flush();
  EXPECT_EQ(telemetry.stats().committed, 4u);

  const std::vector<event::Event> events = Logged();
  ASSERT_EQ(events.size(), 4u);
  for (const auto& e : events) {
    EXPECT_EQ(e.tenant, "system");
    EXPECT_EQ(e.user_id, "career-analytics");
    EXPECT_FALSE(e.event_id.empty());
  }
  EXPECT_EQ(events[0].type, "perf_metric");
  EXPECT_EQ(nlohmann::json::parse(events[0].properties_json),
            nlohmann::json::parse(R"({"name":"http_request","value":1.25,"unit":"ms",
                                      "method":"POST","route":"/api/analytics/events",
                                      "status":200})"));
  EXPECT_EQ(events[1].type, "task_run");
  EXPECT_EQ(nlohmann::json::parse(events[1].properties_json),
            nlohmann::json::parse(R"({"task":"store.flush","status":"success","seconds":1.5})"));
  EXPECT_EQ(events[2].type, "task_run");
  EXPECT_EQ(nlohmann::json::parse(events[2].properties_json)["status"], "failure");
  EXPECT_EQ(events[3].type, "error");
  EXPECT_EQ(nlohmann::json::parse(events[3].properties_json)["message"], "io_error: disk on fire");
}

TEST_F(SelfTelemetryTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
  SelfTelemetry::Options options;
  options.max_queued = 2;
  options.flush_interval_ms = 60'000;  // only the explicit Flush commits
  SelfTelemetry telemetry(pipeline_.get(), options);
  for (int i = 0; i < 5; ++i) telemetry.RecordRequest("GET", "/x", 200, 1);
  EXPECT_EQ(telemetry.stats().recorded, 2u);
  EXPECT_EQ(telemetry.stats().dropped, 3u);
  telemetry.Flush();
  EXPECT_EQ(Logged().size(), 2u);
}

TEST_F(SelfTelemetryTest, TheThreadCommitsWithoutBeingAsked) {
  SelfTelemetry::Options options;
  options.flush_interval_ms = 20;
  SelfTelemetry telemetry(pipeline_.get(), options);
  telemetry.RecordRequest("GET", "/x", 404, 0.5);
  for (int i = 0; i < 200 && telemetry.stats().committed == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(telemetry.stats().committed, 1u);
}

}  // namespace
}  // namespace ca::services
