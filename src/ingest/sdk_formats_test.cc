#include "ingest/sdk_formats.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ingest/batch_decoder.h"

namespace ca::ingest {
namespace {

// Translates `body` and decodes the native result as the ingest API does.
DecodedBatch Decode(SdkFormat format, std::string_view call, std::string_view body,
                    std::string* key = nullptr) {
  auto parsed = SdkBody::Parse(format, call, body, 64, 1000);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return {};
  if (key != nullptr) *key = parsed->write_key();
  event::Catalogue builtins;
  DecodeOptions options;
  options.received_at_ms = 1764320000000;
  options.tenant = "acme";
  const std::string native = parsed->ToNative(builtins);
  auto batch = DecodeBatch(native, options);
  EXPECT_TRUE(batch.ok()) << batch.status().ToString() << " in " << native;
  return batch.ok() ? std::move(batch).value() : DecodedBatch{};
}

nlohmann::json Json(const std::string& text) { return nlohmann::json::parse(text); }

// The body of @segment/analytics-node's POST /v1/batch (PEERS.md), abridged.
constexpr std::string_view kSegmentBatch = R"({
  "batch": [
    {"type": "track", "event": "job_view", "userId": "u1", "messageId": "node-next-1-abc",
     "timestamp": "2026-11-28T09:00:00.000Z", "properties": {"job_id": "j9"},
     "context": {"library": {"name": "@segment/analytics-node", "version": "3.1.0"}}},
    {"type": "page", "name": "Jobs", "anonymousId": "a1", "messageId": "m2",
     "properties": {"path": "/jobs", "url": "https://x.test/jobs", "title": "Jobs"},
     "context": {"userAgent": "Mozilla/5.0"}},
    {"type": "identify", "userId": "u1", "messageId": "m3", "traits": {"seniority": "senior"}},
    {"type": "alias", "userId": "u1", "previousId": "a1", "messageId": "m4"},
    {"type": "group", "userId": "u1", "groupId": "g1", "traits": {"size": 10}, "messageId": "m5"},
    {"type": "screen", "userId": "u1", "name": "Home", "messageId": "m6"},
    {"type": "track", "event": "Job Viewed", "userId": "u1", "messageId": "m7",
     "properties": {"job_id": "j1"}},
    {"type": "track", "event": "Something Else", "userId": "u1", "messageId": "m8"},
    42
  ],
  "context": {"ip": "203.0.113.9"},
  "writeKey": "wk_body", "sentAt": "2026-11-28T09:00:01.000Z"
})";

TEST(SdkFormatsTest, SegmentBatchMapsEveryCall) {
  std::string key;
  DecodedBatch b = Decode(SdkFormat::kSegment, "batch", kSegmentBatch, &key);
  EXPECT_EQ(key, "wk_body");
  ASSERT_EQ(b.received, 9u);
  ASSERT_EQ(b.events.size(), 6u);
  ASSERT_EQ(b.rejected.size(), 3u);
  // "Job Viewed" has no snake_case match ("job_viewed"), nor has "Something Else".
  EXPECT_EQ(b.rejected[0].index, 6u);
  EXPECT_EQ(b.rejected[0].code, ErrorCode::kUnknownEventType);
  EXPECT_EQ(b.rejected[1].index, 7u);
  EXPECT_EQ(b.rejected[2].index, 8u);
  EXPECT_EQ(b.rejected[2].code, ErrorCode::kEventNotObject);
  EXPECT_TRUE(b.sent_at_ms.has_value());

  const event::Event& track = b.events[0];
  EXPECT_EQ(track.type, "job_view");
  EXPECT_EQ(track.user_id, "u1");
  EXPECT_EQ(track.event_id, "node-next-1-abc");
  EXPECT_EQ(Json(track.properties_json)["job_id"], "j9");
  // The batch's context applies to every call; the call's own context is kept.
  EXPECT_EQ(Json(track.context_json)["ip"], "203.0.113.9");
  EXPECT_EQ(Json(track.context_json)["library"]["name"], "@segment/analytics-node");

  const event::Event& page = b.events[1];
  EXPECT_EQ(page.type, "page_view");
  EXPECT_EQ(page.anonymous_id, "a1");
  EXPECT_EQ(Json(page.properties_json)["name"], "Jobs");
  EXPECT_EQ(Json(page.context_json)["page"]["path"], "/jobs");
  EXPECT_EQ(Json(page.context_json)["user_agent"], "Mozilla/5.0");

  EXPECT_EQ(b.events[2].type, "identify");
  EXPECT_EQ(Json(b.events[2].properties_json)["traits"]["seniority"], "senior");
  EXPECT_EQ(b.events[3].type, "alias");
  EXPECT_EQ(Json(b.events[3].properties_json)["previous_id"], "a1");
  EXPECT_EQ(b.events[4].type, "group");
  EXPECT_EQ(Json(b.events[4].properties_json)["group_id"], "g1");
  EXPECT_EQ(Json(b.events[4].properties_json)["traits"]["size"], 10);
  EXPECT_EQ(b.events[5].type, "screen_view");
}

TEST(SdkFormatsTest, SegmentSingleCallTakesItsTypeFromThePath) {
  DecodedBatch b = Decode(SdkFormat::kSegment, "track",
                          R"({"event":"search","userId":7,"properties":{"query":"c++"},
                              "writeKey":"k","timestamp":"2026-11-28T08:00:00Z"})");
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].type, "search");
  EXPECT_EQ(b.events[0].user_id, "7");
  EXPECT_EQ(b.events[0].timestamp_ms, 1795852800000);
}

TEST(SdkFormatsTest, RudderStackOriginalTimestampIsTheEventTime) {
  DecodedBatch b = Decode(SdkFormat::kSegment, "batch",
                          R"({"batch":[{"type":"track","event":"login","userId":"u",
                              "originalTimestamp":"2026-11-28T08:00:00Z","messageId":"r1"}]})");
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].timestamp_ms, 1795852800000);
}

TEST(SdkFormatsTest, WrongShapesAreRejectedNatively) {
  DecodedBatch b = Decode(SdkFormat::kSegment, "batch",
                          R"({"batch":[{"type":"track","event":"login","userId":"u","properties":3},
                                       {"type":"track","event":"login","userId":"u","context":[]},
                                       {"type":"track","event":"login","userId":"u","messageId":5},
                                       {"type":"track","event":"login"}]})");
  ASSERT_EQ(b.rejected.size(), 4u);
  EXPECT_EQ(b.rejected[0].code, ErrorCode::kWrongType);
  EXPECT_EQ(b.rejected[1].code, ErrorCode::kWrongType);
  EXPECT_EQ(b.rejected[2].code, ErrorCode::kInvalidEventId);
  EXPECT_EQ(b.rejected[3].code, ErrorCode::kMissingField);
}

TEST(SdkFormatsTest, WholeBodyErrors) {
  auto code = [](SdkFormat f, std::string_view call, std::string_view body) {
    return SdkBody::Parse(f, call, body, 64, 2).status().code();
  };
  EXPECT_EQ(code(SdkFormat::kSegment, "batch", "{"), ErrorCode::kMalformedJson);
  EXPECT_EQ(code(SdkFormat::kSegment, "batch", "[]"), ErrorCode::kBadRequest);
  EXPECT_EQ(code(SdkFormat::kSegment, "batch", R"({"batch":{}})"), ErrorCode::kBadRequest);
  EXPECT_EQ(code(SdkFormat::kSegment, "batch", R"({"batch":[{},{},{}]})"),
            ErrorCode::kTooManyEvents);
  EXPECT_EQ(code(SdkFormat::kSegment, "batch", R"({"batch":[],"sentAt":"yesterday"})"),
            ErrorCode::kBadRequest);
  EXPECT_EQ(code(SdkFormat::kPostHog, "", R"({"batch":[],"sent_at":1.5})"), ErrorCode::kBadRequest);
  EXPECT_EQ(code(SdkFormat::kPostHog, "", "7"), ErrorCode::kBadRequest);
  EXPECT_EQ(code(SdkFormat::kPostHog, "", R"({"batch":7})"), ErrorCode::kBadRequest);
  EXPECT_EQ(code(SdkFormat::kPostHog, "", std::string(100, '[') + std::string(100, ']')),
            ErrorCode::kNestingTooDeep);
}

// posthog-node's POST /batch/ body (PEERS.md), abridged.
constexpr std::string_view kPostHogBatch = R"({
  "api_key": "phc_key",
  "batch": [
    {"event": "job_apply", "distinct_id": "u1", "uuid": "0190f0e4-7b7a-7c3e-9a55-1d2c3b4a5f60",
     "timestamp": "2026-11-28T09:00:00.000Z",
     "properties": {"job_id": "j1", "$lib": "posthog-node", "$session_id": "s1",
                    "$set": {"plan": "pro"}}},
    {"event": "$identify", "distinct_id": "u1",
     "properties": {"$anon_distinct_id": "anon-1", "$set": {"seniority": "mid"},
                    "$set_once": {"signup": "2026-01"}}},
    {"event": "$pageview", "distinct_id": "anon-2",
     "properties": {"$current_url": "https://x.test/jobs?q=1", "$pathname": "/jobs",
                    "$is_identified": false, "$raw_user_agent": "Mozilla/5.0", "$ip": "198.51.100.7"}},
    {"event": "$create_alias", "distinct_id": "u1", "properties": {"alias": "anon-2"}},
    {"event": "$autocapture", "distinct_id": "u1"}
  ],
  "sent_at": "2026-11-28T09:00:02.000Z"
})";

TEST(SdkFormatsTest, PostHogBatchMapsEventsAndSpecialEvents) {
  std::string key;
  DecodedBatch b = Decode(SdkFormat::kPostHog, "", kPostHogBatch, &key);
  EXPECT_EQ(key, "phc_key");
  ASSERT_EQ(b.events.size(), 4u);
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].index, 4u);  // $autocapture has no native type
  EXPECT_EQ(b.rejected[0].code, ErrorCode::kUnknownEventType);

  const event::Event& apply = b.events[0];
  EXPECT_EQ(apply.type, "job_apply");
  EXPECT_EQ(apply.user_id, "u1");
  EXPECT_EQ(apply.session_id, "s1");
  EXPECT_EQ(apply.event_id, "0190f0e4-7b7a-7c3e-9a55-1d2c3b4a5f60");
  EXPECT_EQ(Json(apply.properties_json), Json(R"({"job_id":"j1"})"));
  EXPECT_EQ(Json(apply.context_json)["posthog"]["$lib"], "posthog-node");
  EXPECT_EQ(Json(apply.context_json)["posthog"]["$set"]["plan"], "pro");

  const event::Event& identify = b.events[1];
  EXPECT_EQ(identify.type, "identify");
  EXPECT_EQ(identify.user_id, "u1");
  EXPECT_EQ(identify.anonymous_id, "anon-1");
  EXPECT_EQ(Json(identify.properties_json)["traits"],
            Json(R"({"signup":"2026-01","seniority":"mid"})"));

  const event::Event& page = b.events[2];
  EXPECT_EQ(page.type, "page_view");
  EXPECT_EQ(page.user_id, "");
  EXPECT_EQ(page.anonymous_id, "anon-2");
  EXPECT_EQ(Json(page.context_json)["page"]["path"], "/jobs");
  EXPECT_EQ(Json(page.context_json)["user_agent"], "Mozilla/5.0");
  EXPECT_EQ(Json(page.context_json)["ip"], "198.51.100.7");

  EXPECT_EQ(b.events[3].type, "alias");
  EXPECT_EQ(Json(b.events[3].properties_json)["previous_id"], "anon-2");
}

TEST(SdkFormatsTest, PostHogSingleEventAndArrayForms) {
  std::string key;
  DecodedBatch one = Decode(SdkFormat::kPostHog, "",
                            R"({"api_key":"k1","event":"login","distinct_id":"u9"})", &key);
  EXPECT_EQ(key, "k1");
  ASSERT_EQ(one.events.size(), 1u);
  EXPECT_EQ(one.events[0].user_id, "u9");

  DecodedBatch array = Decode(
      SdkFormat::kPostHog, "",
      R"([{"event":"logout","properties":{"distinct_id":"u8","token":"k2"}},{"event":"login","distinct_id":"u8"}])",
      &key);
  EXPECT_EQ(key, "k2");
  ASSERT_EQ(array.events.size(), 2u);
  EXPECT_EQ(array.events[0].user_id, "u8");
  EXPECT_EQ(array.events[0].properties_json, "{}");  // the token is not a property
}

TEST(SdkFormatsTest, EventNamesResolveAsSentThenInSnakeCase) {
  event::Catalogue builtins;
  EXPECT_EQ(NativeEventType("job_view", builtins), "job_view");
  EXPECT_EQ(NativeEventType("Page View", builtins), "page_view");
  EXPECT_EQ(NativeEventType("  Job--Save ", builtins), "job_save");
  EXPECT_EQ(NativeEventType("Viewed Job", builtins), "Viewed Job");
  EXPECT_EQ(NativeEventType("", builtins), "");
}

TEST(SdkFormatsTest, MessageIdsBecomeValidStableEventIds) {
  EXPECT_EQ(NativeEventId("abc-1"), "abc-1");
  const std::string long_id(65, 'x');
  EXPECT_EQ(NativeEventId(long_id).size(), 34u);
  EXPECT_EQ(NativeEventId(long_id), NativeEventId(long_id));
  EXPECT_NE(NativeEventId(long_id), NativeEventId(std::string(66, 'x')));
  EXPECT_EQ(NativeEventId("with space").substr(0, 2), "h-");
  EXPECT_EQ(NativeEventId("").substr(0, 2), "h-");
}

}  // namespace
}  // namespace ca::ingest
