#include "api/ingest_handler.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <future>

#include "http/errors.h"
#include "ingest/ingest_pipeline.h"
#include "services/catalogue_service.h"
#include "services/ingest_rules_service.h"
#include "state/sqlite_state_store.h"
#include "wal/wal_test_util.h"

namespace ca::api {
namespace {

ingest::Receipt Receipt(uint32_t accepted, uint32_t duplicates, std::vector<ErrorCode> rejected) {
  ingest::Receipt r;
  r.accepted = accepted;
  r.duplicates = duplicates;
  for (uint32_t i = 0; i < rejected.size(); ++i) r.rejected.push_back({i, rejected[i], "why"});
  r.received = accepted + duplicates + static_cast<uint32_t>(rejected.size());
  return r;
}

TEST(ReceiptResponse, StatusFollowsWhatWasStored) {
  EXPECT_EQ(ReceiptResponse(Receipt(2, 0, {ErrorCode::kMissingField})).status, 200);
  // A resend made only of duplicates is a success: the events are stored.
  EXPECT_EQ(ReceiptResponse(Receipt(0, 3, {})).status, 200);
  EXPECT_EQ(ReceiptResponse(Receipt(0, 0, {ErrorCode::kMissingField})).status, 400);
  EXPECT_EQ(ReceiptResponse(Receipt(0, 0, {ErrorCode::kEventTooLarge})).status, 413);
  EXPECT_EQ(
      ReceiptResponse(Receipt(0, 0, {ErrorCode::kEventTooLarge, ErrorCode::kWrongType})).status,
      400);
  EXPECT_EQ(ReceiptResponse(Receipt(0, 0, {})).status, 400);
}

TEST(ReceiptResponse, BodyListsEveryRejectionWithItsCode) {
  auto res = ReceiptResponse(Receipt(1, 2, {ErrorCode::kUnknownEventType}));
  EXPECT_EQ(res.content_type, "application/json");
  auto body = nlohmann::json::parse(res.body);
  EXPECT_EQ(body["accepted"], 1);
  EXPECT_EQ(body["duplicates"], 2);
  ASSERT_EQ(body["rejected"].size(), 1u);
  EXPECT_EQ(body["rejected"][0]["index"], 0);
  EXPECT_EQ(body["rejected"][0]["code"], "unknown_event_type");
  EXPECT_EQ(body["rejected"][0]["message"], "why");
  // Keys in the documented order.
  EXPECT_EQ(res.body.rfind(R"({"accepted":1,"duplicates":2,"rejected":[{"index":0,"code")", 0), 0u);
}

http::Request WithHeader(std::string name, std::string value) {
  http::Request r;
  r.headers.emplace_back(std::move(name), std::move(value));
  return r;
}

TEST(HeaderWriteKey, ReadsEveryWayAKeyIsSent) {
  EXPECT_EQ(HeaderWriteKey(WithHeader("x-write-key", "wk_1")), "wk_1");
  EXPECT_EQ(HeaderWriteKey(WithHeader("authorization", "Bearer wk_2")), "wk_2");
  // Segment: base64("wk_3:"), padded or not; the password is ignored.
  EXPECT_EQ(HeaderWriteKey(WithHeader("authorization", "Basic d2tfMzo=")), "wk_3");
  EXPECT_EQ(HeaderWriteKey(WithHeader("authorization", "Basic d2tfMzo")), "wk_3");
  EXPECT_EQ(HeaderWriteKey(WithHeader("authorization", "Basic d2tfMzpzZWNyZXQ=")), "wk_3");
  EXPECT_EQ(HeaderWriteKey(WithHeader("authorization", "Basic d2tfMw==")), "wk_3");  // no colon
  EXPECT_EQ(HeaderWriteKey(WithHeader("authorization", "Basic !!!")), "");
  EXPECT_EQ(HeaderWriteKey(WithHeader("authorization", "Digest x")), "");
  EXPECT_EQ(HeaderWriteKey(http::Request{}), "");
}

TEST(IngestGuards, ConsumersBehindTurnRequestsAwayWith503AndRetryAfter) {
  std::string why = "the event store is 300 MiB of log behind";
  IngestGuards guards;
  guards.overloaded = [&] { return why; };
  IngestHandler handler(nullptr, nullptr, nullptr, IngestLimits(), nullptr, nullptr, nullptr,
                        guards);
  auto tenant = handler.Authenticate(http::Request{}, "wk_any", "X-Write-Key");
  ASSERT_FALSE(tenant.ok());
  EXPECT_EQ(tenant.status().code(), ErrorCode::kOverloaded);
  EXPECT_NE(tenant.status().message().find("300 MiB"), std::string_view::npos);
  const http::Response response = http::ErrorResponse(tenant.status());
  EXPECT_EQ(response.status, 503);
  bool retry_after = false;
  for (const auto& [name, value] : response.headers) retry_after |= name == "Retry-After";
  EXPECT_TRUE(retry_after);
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "overloaded");
}

TEST(IngestGuards, RateLimitedAnswersAre429WithRetryAfter) {
  const http::Response response = http::ErrorResponse(Status(ErrorCode::kRateLimited, "slow down"));
  EXPECT_EQ(response.status, 429);
  bool retry_after = false;
  for (const auto& [name, value] : response.headers) retry_after |= name == "Retry-After";
  EXPECT_TRUE(retry_after);
}

// A request holds its fence ticket from before it reads the rules until its events are in the
// WAL: a deletion draining the fence meanwhile has to wait for it (docs/privacy.md).
TEST(IngestHandlerFence, ARequestIsInsideTheFenceFromItsRulesToItsAppend) {
  wal::testing::TempDir dir;
  wal::Options wal_options;
  wal_options.dir = dir.path() + "/wal";
  wal_options.sync = wal::SyncMode::kNone;
  auto wal = std::move(wal::Wal::Open(wal_options)).value();
  auto state = std::move(state::OpenSqliteStateStore(dir.path() + "/state.db")).value();
  ASSERT_TRUE(state->GetOrCreateTenant("acme").ok());
  ingest::IngestPipeline pipeline(wal.get(), 3600'000, 1000);
  services::CatalogueService catalogues(state.get());
  services::IngestRulesService* rules_ptr = nullptr;
  std::vector<Status> drains;  // what a deletion draining the fence got, each time the rules
                               // service read its clock for this request
  services::IngestRulesService rules(state.get(), ingest::PrivacyOptions(), 1000, [&] {
    drains.push_back(rules_ptr->InvalidateAndDrain("acme", 0));
    return int64_t{1000};
  });
  rules_ptr = &rules;
  IngestHandler handler(&pipeline, nullptr, &catalogues, IngestLimits(), state.get(), &rules);

  std::promise<Result<ingest::Receipt>> receipt;
  handler.CommitBody(
      "acme", 1'700'000'000'000,
      [](const event::Catalogue&) {
        return std::string(R"({"events":[{"event_id":"f-1","type":"page_view","user_id":"u1",)"
                           R"("timestamp":1700000000000,"context":{"page":{"path":"/"}}}]})");
      },
      nullptr, [&](Result<ingest::Receipt> r) { receipt.set_value(std::move(r)); }, {});
  auto done = receipt.get_future().get();
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->accepted, 1u);
  ASSERT_FALSE(drains.empty());
  for (const Status& s : drains) EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << s.ToString();
  // Out of the request, nobody is inside.
  EXPECT_TRUE(rules.InvalidateAndDrain("acme", 0).ok());
  ASSERT_TRUE(wal->Close().ok());
}

}  // namespace
}  // namespace ca::api
