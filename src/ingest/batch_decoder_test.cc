#include "ingest/batch_decoder.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>

namespace ca::ingest {
namespace {

constexpr int64_t kNow = 1795838410123;  // 2026-11-28T04:00:10.123Z

DecodeOptions Options() {
  DecodeOptions o;
  o.tenant = "acme";
  o.received_at_ms = kNow;
  return o;
}

DecodedBatch Decode(std::string_view body, const DecodeOptions& o = Options()) {
  auto r = DecodeBatch(body, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\nbody: " << body;
  return r.ok() ? std::move(r).value() : DecodedBatch{};
}

ErrorCode RequestError(std::string_view body, const DecodeOptions& o = Options()) {
  auto r = DecodeBatch(body, o);
  return r.status().code();
}

/// Decodes a batch of one event and returns the rejection code (kOk when accepted).
ErrorCode EventCode(std::string_view event_json, const DecodeOptions& o = Options()) {
  std::string body = "[" + std::string(event_json) + "]";
  DecodedBatch b = Decode(body, o);
  EXPECT_EQ(b.received, 1u);
  EXPECT_EQ(b.events.size() + b.rejected.size(), 1u);
  if (!b.rejected.empty()) {
    EXPECT_FALSE(b.rejected[0].message.empty());
    return b.rejected[0].code;
  }
  return ErrorCode::kOk;
}

std::string Nested(int levels, std::string_view leaf = "1") {
  std::string s;
  for (int i = 0; i < levels; ++i) s += (i % 2) ? "[" : "{\"k\":";
  s += leaf;
  for (int i = levels - 1; i >= 0; --i) s += (i % 2) ? "]" : "}";
  return s;
}

TEST(BatchDecoderTest, DecodesAFullEvent) {
  DecodedBatch b = Decode(R"({
    "write_key": "wk_123", "sent_at": "2026-11-28T04:00:11Z", "unknown_top": [1, 2],
    "events": [{
      "event_id": "evt-1", "type": "job_view", "user_id": "u1", "anonymous_id": "a1",
      "session_id": "s1", "timestamp": "2026-11-28T06:00:00.5+02:00",
      "properties": { "job_id": "j-9", "salary": 1.5e5, "tags": ["x", "y"], "remote": true },
      "context": { "page": {"url": "https://x/jobs/j-9", "path": "/jobs/j-9", "referrer": "",
                   "title": "Job"}, "user_agent": "UA", "ip": "1.2.3.4", "locale": "en-GB",
                   "consent": {"analytics": true} },
      "ignored_field": 1
    }]})");
  EXPECT_EQ(b.write_key, "wk_123");
  ASSERT_TRUE(b.sent_at_ms.has_value());
  EXPECT_EQ(*b.sent_at_ms, 1795838411000);
  EXPECT_EQ(b.received, 1u);
  ASSERT_EQ(b.events.size(), 1u);
  ASSERT_EQ(b.event_indexes, std::vector<uint32_t>{0});
  const event::Event& e = b.events[0];
  EXPECT_EQ(e.tenant, "acme");
  EXPECT_EQ(e.event_id, "evt-1");
  EXPECT_EQ(e.type, "job_view");
  EXPECT_EQ(e.user_id, "u1");
  EXPECT_EQ(e.anonymous_id, "a1");
  EXPECT_EQ(e.session_id, "s1");
  // Sent at 04:00:11 by the client's clock, received at 04:00:10.123: 0.877 s earlier.
  EXPECT_EQ(e.timestamp_ms, 1795838400500 - 877);
  EXPECT_EQ(e.received_at_ms, kNow);
  EXPECT_EQ(e.flags, event::kFlagClockCorrected);
  EXPECT_EQ(e.properties_json,
            R"({"job_id":"j-9","salary":150000.0,"tags":["x","y"],"remote":true})");
  EXPECT_EQ(
      e.context_json,
      R"({"page":{"url":"https://x/jobs/j-9","path":"/jobs/j-9","referrer":"","title":"Job"},)"
      R"("user_agent":"UA","ip":"1.2.3.4","locale":"en-GB","consent":{"analytics":true}})");
}

TEST(BatchDecoderTest, ContextsGetTheHeadroomAskedFor) {
  DecodeOptions o = Options();
  o.context_headroom = kContextHeadroom;
  DecodedBatch b = Decode(R"([{"type":"page_view","user_id":"u","context":{"ip":"1.2.3.4"}},)"
                          R"({"type":"page_view","user_id":"u"}])",
                          o);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].context_json, R"({"ip":"1.2.3.4"})");
  EXPECT_GE(b.events[0].context_json.capacity(),
            b.events[0].context_json.size() + kContextHeadroom);
  EXPECT_EQ(b.events[1].context_json, "{}");
  EXPECT_GE(b.events[1].context_json.capacity(), 2 + kContextHeadroom);
}

TEST(BatchDecoderTest, MinifiedOutputMatchesSimdjson) {
  std::string props =
      R"({"s":"q\"b\\s\n\t\b\f\r\u0001\u001f é ☃","n":[-1,0,18446744073709551615,-9223372036854775808,)"
      R"(1e300,-0.0,3.14159,1E-7,2.5e-300],"o":{},"a":[],"z":null,"t":false,"deep":)" +
      Nested(20) + "}";
  DecodedBatch b = Decode(R"([{"type":"page_view","user_id":"u","properties":)" + props + "}]");
  ASSERT_EQ(b.events.size(), 1u);
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  ASSERT_EQ(parser.parse(props).get(el), simdjson::SUCCESS);
  EXPECT_EQ(b.events[0].properties_json, simdjson::minify(el));
}

TEST(BatchDecoderTest, RejectedEventsKeepTheirRawTextWhenAsked) {
  const std::string body =
      R"([{"type":"login","user_id":"u"}, {"type" : "nope", "user_id":"u", "p":[1, 2.50]}, 7,)"
      R"( {"type":"job_view","user_id":"u","properties":{"note":"caf\u00e9"}}])";
  DecodeOptions o = Options();
  EXPECT_TRUE(Decode(body, o).rejected[0].raw.empty());  // not asked
  o.keep_rejected_raw = true;
  const DecodedBatch b = Decode(body, o);
  ASSERT_EQ(b.rejected.size(), 3u);
  EXPECT_EQ(b.rejected[0].raw, R"({"type":"nope","user_id":"u","p":[1,2.5]})");  // as minified
  EXPECT_EQ(b.rejected[1].raw, "7");
  EXPECT_EQ(b.rejected[2].raw, R"({"type":"job_view","user_id":"u","properties":{"note":"café"}})");
}

TEST(BatchDecoderTest, TimestampsFarInTheFutureAreClampedAndFlagged) {
  DecodeOptions o = Options();
  o.max_future_ms = kMaxFutureMs;
  const int64_t limit = kNow + kMaxFutureMs;
  const std::string body =
      "[" + std::string(R"({"type":"login","user_id":"u","timestamp":)") + std::to_string(limit) +
      "}," + R"({"type":"login","user_id":"u","timestamp":)" + std::to_string(limit + 1) + "}]";
  const DecodedBatch b = Decode(body, o);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].timestamp_ms, limit);  // 23 h ahead is still taken as sent
  EXPECT_EQ(b.events[0].flags & event::kFlagFutureClamped, 0u);
  EXPECT_EQ(b.events[1].timestamp_ms, kNow);
  EXPECT_NE(b.events[1].flags & event::kFlagFutureClamped, 0u);
  o.max_future_ms = 0;  // off: as sent
  EXPECT_EQ(Decode(body, o).events[1].timestamp_ms, limit + 1);
}

TEST(BatchDecoderTest, SentAtCorrectsTheSendersClock) {
  // The sender's clock is 1 h 0.5 s behind: sent_at says 03:00:09.623 when the server reads
  // 04:00:10.123, so each timestamp it set moves forward by that much.
  const int64_t skew = 3600'500;
  const std::string body = R"({"sent_at":)" + std::to_string(kNow - skew) + R"(,"events":[)" +
                           R"({"type":"login","user_id":"u","timestamp":"2026-11-28T02:59:00Z"},)" +
                           R"({"type":"login","user_id":"u"}]})";
  DecodeOptions o = Options();
  o.max_future_ms = kMaxFutureMs;
  const DecodedBatch b = Decode(body, o);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].timestamp_ms, 1795834740000 + skew);  // 02:59:00Z + skew
  EXPECT_EQ(b.events[0].flags, event::kFlagGeneratedId | event::kFlagClockCorrected);
  EXPECT_EQ(b.events[1].timestamp_ms, kNow);  // no timestamp sent: nothing to correct
  EXPECT_EQ(b.events[1].flags, event::kFlagGeneratedId | event::kFlagDefaultTimestamp);

  // A clock ahead moves timestamps back; a sent_at equal to the receive time changes nothing.
  const std::string ahead = R"({"sent_at":)" + std::to_string(kNow + 60'000) +
                            R"(,"events":[{"type":"login","user_id":"u","timestamp":)" +
                            std::to_string(kNow + 59'000) + "}]}";
  EXPECT_EQ(Decode(ahead, o).events[0].timestamp_ms, kNow - 1'000);
  const std::string exact = R"({"sent_at":)" + std::to_string(kNow) +
                            R"(,"events":[{"type":"login","user_id":"u","timestamp":5}]})";
  EXPECT_EQ(Decode(exact, o).events[0].timestamp_ms, 5);
  EXPECT_EQ(Decode(exact, o).events[0].flags & event::kFlagClockCorrected, 0u);

  // The correction comes before the future check: a far-ahead clock is corrected, not clamped.
  const std::string far = R"({"sent_at":)" + std::to_string(kNow + 2 * kMaxFutureMs) +
                          R"(,"events":[{"type":"login","user_id":"u","timestamp":)" +
                          std::to_string(kNow + 2 * kMaxFutureMs - 10) + "}]}";
  const DecodedBatch f = Decode(far, o);
  EXPECT_EQ(f.events[0].timestamp_ms, kNow - 10);
  EXPECT_EQ(f.events[0].flags & event::kFlagFutureClamped, 0u);
}

TEST(BatchDecoderTest, EventsOlderThanTheLateBoundAreRejected) {
  DecodeOptions o = Options();
  o.max_late_ms = 7LL * 24 * 3600 * 1000;
  const int64_t oldest = kNow - o.max_late_ms;
  const std::string body =
      "[" + std::string(R"({"type":"login","user_id":"u","timestamp":)") + std::to_string(oldest) +
      "}," + R"({"type":"login","user_id":"u","timestamp":)" + std::to_string(oldest - 1) + "}]";
  o.keep_rejected_raw = true;
  const DecodedBatch b = Decode(body, o);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].timestamp_ms, oldest);
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].index, 1u);
  EXPECT_EQ(b.rejected[0].code, ErrorCode::kEventTooOld);
  EXPECT_NE(b.rejected[0].message.find("7 days"), std::string::npos) << b.rejected[0].message;
  EXPECT_NE(b.rejected[0].raw.find(std::to_string(oldest - 1)), std::string::npos);
  o.max_late_ms = 0;  // no bound: history is accepted (import, demo)
  EXPECT_EQ(Decode(body, o).events.size(), 2u);
}

TEST(BatchDecoderTest, BareArrayAndDefaults) {
  DecodedBatch b = Decode(R"([{"type":"login","anonymous_id":"anon"}])");
  ASSERT_EQ(b.events.size(), 1u);
  const event::Event& e = b.events[0];
  EXPECT_TRUE(b.write_key.empty());
  EXPECT_FALSE(b.sent_at_ms.has_value());
  EXPECT_EQ(e.timestamp_ms, kNow);
  EXPECT_EQ(e.flags, event::kFlagGeneratedId | event::kFlagDefaultTimestamp);
  EXPECT_EQ(e.properties_json, "{}");
  EXPECT_EQ(e.context_json, "{}");
  EXPECT_TRUE(e.user_id.empty());
}

TEST(BatchDecoderTest, GeneratedIdsAreDistinctUuidV4) {
  std::string body = "[";
  for (int i = 0; i < 600; ++i)
    body += std::string(i ? "," : "") + R"({"type":"login","user_id":"u"})";
  body += "]";
  DecodedBatch b = Decode(body);
  ASSERT_EQ(b.events.size(), 600u);
  std::set<std::string> ids;
  for (const auto& e : b.events) {
    const std::string& id = e.event_id;
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[13], '-');
    EXPECT_EQ(id[14], '4');
    EXPECT_EQ(id[18], '-');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
    EXPECT_EQ(id[23], '-');
    EXPECT_TRUE(e.flags & event::kFlagGeneratedId);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 600u);
}

TEST(BatchDecoderTest, NullFieldsCountAsAbsent) {
  DecodedBatch b =
      Decode(R"([{"type":"login","user_id":"u","event_id":null,"timestamp":null,"session_id":null,)"
             R"("anonymous_id":null,"properties":null,"context":null}])");
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].flags, event::kFlagGeneratedId | event::kFlagDefaultTimestamp);
  EXPECT_EQ(EventCode(R"({"type":null,"user_id":"u"})"), ErrorCode::kMissingField);
}

TEST(BatchDecoderTest, NumbersAsUserIds) {
  DecodedBatch b = Decode(
      R"([{"type":"login","user_id":123,"anonymous_id":-5,"session_id":1700000000000},)"
      R"({"type":"login","user_id":1.0e3},{"type":"login","user_id":18446744073709551615}])");
  ASSERT_EQ(b.events.size(), 3u);
  EXPECT_EQ(b.events[0].user_id, "123");
  EXPECT_EQ(b.events[0].anonymous_id, "-5");
  EXPECT_EQ(b.events[0].session_id, "1700000000000");
  EXPECT_EQ(b.events[1].user_id, "1000");
  EXPECT_EQ(b.events[2].user_id, "18446744073709551615");
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":1.5})"), ErrorCode::kWrongType);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":true})"), ErrorCode::kWrongType);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":{}})"), ErrorCode::kWrongType);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":["u"]})"), ErrorCode::kWrongType);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","anonymous_id":false})"),
            ErrorCode::kWrongType);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","session_id":[]})"), ErrorCode::kWrongType);
}

TEST(BatchDecoderTest, Timestamps) {
  DecodedBatch b = Decode(R"([{"type":"login","user_id":"u","timestamp":1700000000123},)"
                          R"({"type":"login","user_id":"u","timestamp":"2026-11-28 04:00:10z"},)"
                          R"({"type":"login","user_id":"u","timestamp":0}])");
  ASSERT_EQ(b.events.size(), 3u);
  EXPECT_EQ(b.events[0].timestamp_ms, 1700000000123);
  EXPECT_EQ(b.events[1].timestamp_ms, 1795838410000);
  EXPECT_EQ(b.events[2].timestamp_ms, 0);
  for (const auto& e : b.events) EXPECT_FALSE(e.flags & event::kFlagDefaultTimestamp);

  for (std::string_view ts :
       {R"("2026-11-28T04:00:10")", R"("yesterday")", R"("")", R"("2026-02-30T00:00:00Z")",
        R"("1970-01-01T00:30:00+01:00")", "-1", "1.7e12", "1700000000123.5", "253402300800000",
        "18446744073709551615"}) {
    EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","timestamp":)" + std::string(ts) + "}"),
              ErrorCode::kInvalidTimestamp)
        << ts;
  }
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","timestamp":253402300799999})"),
            ErrorCode::kOk);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","timestamp":true})"), ErrorCode::kWrongType);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","timestamp":{}})"), ErrorCode::kWrongType);
}

TEST(BatchDecoderTest, EventIds) {
  EXPECT_EQ(
      EventCode(R"({"type":"login","user_id":"u","event_id":")" + std::string(64, 'x') + R"("})"),
      ErrorCode::kOk);
  for (std::string id : {std::string(65, 'x'), std::string(""), std::string("has space"),
                         std::string("tab\\t"), std::string("caf\u00e9")}) {
    EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","event_id":")" + id + R"("})"),
              ErrorCode::kInvalidEventId)
        << id;
  }
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","event_id":42})"),
            ErrorCode::kInvalidEventId);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","event_id":{}})"),
            ErrorCode::kInvalidEventId);
}

TEST(BatchDecoderTest, FieldRejections) {
  EXPECT_EQ(EventCode("42"), ErrorCode::kEventNotObject);
  EXPECT_EQ(EventCode("[]"), ErrorCode::kEventNotObject);
  EXPECT_EQ(EventCode("null"), ErrorCode::kEventNotObject);
  EXPECT_EQ(EventCode(R"("page_view")"), ErrorCode::kEventNotObject);
  EXPECT_EQ(EventCode(R"({"user_id":"u"})"), ErrorCode::kMissingField);
  EXPECT_EQ(EventCode(R"({"type":"","user_id":"u"})"), ErrorCode::kMissingField);
  EXPECT_EQ(EventCode(R"({"type":"login"})"), ErrorCode::kMissingField);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"","anonymous_id":""})"),
            ErrorCode::kMissingField);
  EXPECT_EQ(EventCode(R"({"type":7,"user_id":"u"})"), ErrorCode::kWrongType);
  EXPECT_EQ(EventCode(R"({"type":"nope","user_id":"u"})"), ErrorCode::kUnknownEventType);
  EXPECT_EQ(EventCode(R"({"type":"Login","user_id":"u"})"), ErrorCode::kUnknownEventType);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","properties":[]})"), ErrorCode::kWrongType);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","properties":"x"})"), ErrorCode::kWrongType);
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u","context":1})"), ErrorCode::kWrongType);

  std::string long_id(256, 'u');
  EXPECT_EQ(EventCode(R"({"type":"login","user_id":")" + long_id + R"("})"), ErrorCode::kOk);
  for (std::string_view field : {"user_id", "anonymous_id", "session_id"}) {
    EXPECT_EQ(EventCode(R"({"type":"login","user_id":"u",")" + std::string(field) + R"(":")" +
                        long_id + R"(u"})"),
              ErrorCode::kFieldTooLong)
        << field;
  }
}

TEST(BatchDecoderTest, DuplicateKeysLastWins) {
  DecodedBatch b = Decode(R"([{"type":"nope","type":"login","user_id":"a","user_id":"b"}])");
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].user_id, "b");
}

TEST(BatchDecoderTest, RequiredProperties) {
  auto code = [](std::string_view type, std::string_view props) {
    return EventCode(R"({"type":")" + std::string(type) + R"(","user_id":"u","properties":)" +
                     std::string(props) + "}");
  };
  EXPECT_EQ(code("job_view", R"({"job_id":"j1"})"), ErrorCode::kOk);
  EXPECT_EQ(code("job_apply", "{}"), ErrorCode::kMissingProperty);
  EXPECT_EQ(EventCode(R"({"type":"job_save","user_id":"u"})"), ErrorCode::kMissingProperty);
  EXPECT_EQ(code("job_share", R"({"job_id":null})"), ErrorCode::kMissingProperty);
  EXPECT_EQ(code("job_view", R"({"job_id":17})"), ErrorCode::kInvalidProperty);
  EXPECT_EQ(code("job_view", R"({"job_id":""})"), ErrorCode::kInvalidProperty);
  EXPECT_EQ(code("application_status_changed", R"({"application_id":"a","status":"offer"})"),
            ErrorCode::kOk);
  EXPECT_EQ(code("application_status_changed", R"({"application_id":"a","status":"hired"})"),
            ErrorCode::kInvalidProperty);
  EXPECT_EQ(code("application_status_changed", R"({"application_id":"a","status":"Offer"})"),
            ErrorCode::kInvalidProperty);
  EXPECT_EQ(code("application_status_changed", R"({"status":"offer"})"),
            ErrorCode::kMissingProperty);
  EXPECT_EQ(code("interview_scheduled", R"({"application_id":"a"})"), ErrorCode::kOk);
  EXPECT_EQ(code("offer_rejected", R"({"application_id":["a"]})"), ErrorCode::kInvalidProperty);
  EXPECT_EQ(code("search", R"({"query":""})"), ErrorCode::kOk);
  EXPECT_EQ(code("search", R"({"query":1})"), ErrorCode::kInvalidProperty);
  EXPECT_EQ(code("time_spent", R"({"seconds":0})"), ErrorCode::kOk);
  EXPECT_EQ(code("time_spent", R"({"seconds":12.5})"), ErrorCode::kOk);
  EXPECT_EQ(code("time_spent", R"({"seconds":-1})"), ErrorCode::kInvalidProperty);
  EXPECT_EQ(code("time_spent", R"({"seconds":"10"})"), ErrorCode::kInvalidProperty);
  EXPECT_EQ(code("perf_metric", R"({"name":"ttfb","value":-3.5})"), ErrorCode::kOk);
  EXPECT_EQ(code("perf_metric", R"({"name":"ttfb"})"), ErrorCode::kMissingProperty);
  EXPECT_EQ(code("task_run", R"({"task":"rollup","status":"ok"})"), ErrorCode::kOk);
  EXPECT_EQ(code("error", R"({"message":"boom"})"), ErrorCode::kOk);
  EXPECT_EQ(code("form_submit", R"({"form_id":false})"), ErrorCode::kInvalidProperty);
  EXPECT_EQ(code("filter_change", R"({"filter":"remote"})"), ErrorCode::kOk);
}

TEST(BatchDecoderTest, CustomTypes) {
  auto cat = event::Catalogue::Create(
      {{"resume_upload",
        {{"pages", event::PropertyKind::kNumber}, {"public", event::PropertyKind::kBoolean}}}});
  ASSERT_TRUE(cat.ok());
  DecodeOptions o = Options();
  o.catalogue = &*cat;
  EXPECT_EQ(
      EventCode(R"({"type":"resume_upload","user_id":"u","properties":{"pages":2,"public":false}})",
                o),
      ErrorCode::kOk);
  EXPECT_EQ(EventCode(R"({"type":"resume_upload","user_id":"u","properties":{"pages":2}})", o),
            ErrorCode::kMissingProperty);
  EXPECT_EQ(
      EventCode(R"({"type":"resume_upload","user_id":"u","properties":{"pages":2,"public":1}})", o),
      ErrorCode::kInvalidProperty);
  EXPECT_EQ(EventCode(R"({"type":"resume_upload","user_id":"u"})"), ErrorCode::kUnknownEventType);
}

TEST(BatchDecoderTest, MixedBatchKeepsGoodEvents) {
  DecodedBatch b = Decode(R"({"events":[
      {"type":"login","user_id":"u0"},
      17,
      {"type":"job_view","user_id":"u2"},
      {"type":"logout","user_id":"u3"},
      {"type":"bogus","user_id":"u4"},
      {"type":"page_view","anonymous_id":"a5"}]})");
  EXPECT_EQ(b.received, 6u);
  ASSERT_EQ(b.events.size(), 3u);
  EXPECT_EQ(b.event_indexes, (std::vector<uint32_t>{0, 3, 5}));
  EXPECT_EQ(b.events[1].user_id, "u3");
  ASSERT_EQ(b.rejected.size(), 3u);
  EXPECT_EQ(b.rejected[0].index, 1u);
  EXPECT_EQ(b.rejected[0].code, ErrorCode::kEventNotObject);
  EXPECT_EQ(b.rejected[1].index, 2u);
  EXPECT_EQ(b.rejected[1].code, ErrorCode::kMissingProperty);
  EXPECT_EQ(b.rejected[2].index, 4u);
  EXPECT_EQ(b.rejected[2].code, ErrorCode::kUnknownEventType);
}

TEST(BatchDecoderTest, EventSizeLimitUsesMinifiedSize) {
  // Already minified, with escapes that the minifier keeps: the size is the text length.
  std::string ev = R"({"type":"page_view","user_id":"u","properties":{"pad":")" +
                   std::string(200, 'p') + R"(","e":"a\"b\\c\n\u0001","n":[1,-2,2.5,true,null]}})";
  DecodeOptions o = Options();
  o.max_event_bytes = ev.size();
  EXPECT_EQ(EventCode(ev, o), ErrorCode::kOk);
  o.max_event_bytes = ev.size() - 1;
  EXPECT_EQ(EventCode(ev, o), ErrorCode::kEventTooLarge);

  // Whitespace does not count.
  std::string spaced = R"({ "type" : "page_view" , "user_id" : "u" })";
  o.max_event_bytes = std::string(R"({"type":"page_view","user_id":"u"})").size();
  EXPECT_EQ(EventCode(spaced, o), ErrorCode::kOk);
  o.max_event_bytes -= 1;
  EXPECT_EQ(EventCode(spaced, o), ErrorCode::kEventTooLarge);
}

TEST(BatchDecoderTest, EventNestingLimit) {
  // The event object is level 1 and properties level 2, so 30 more levels reach the limit of 32.
  auto ev = [](int inner) {
    return R"({"type":"page_view","user_id":"u","properties":{"x":)" + Nested(inner) + "}}";
  };
  EXPECT_EQ(EventCode(ev(30)), ErrorCode::kOk);
  EXPECT_EQ(EventCode(ev(31)), ErrorCode::kNestingTooDeep);
  EXPECT_EQ(EventCode(R"({"type":"page_view","user_id":"u","context":)" + Nested(32) + "}"),
            ErrorCode::kNestingTooDeep);
  // Empty containers count as a level too.
  EXPECT_EQ(EventCode(R"({"type":"page_view","user_id":"u","properties":{"x":)" + Nested(30, "{}") +
                      "}}"),
            ErrorCode::kNestingTooDeep);
  DecodeOptions o = Options();
  o.max_depth = 2;
  EXPECT_EQ(EventCode(R"({"type":"page_view","user_id":"u","properties":{"a":1}})", o),
            ErrorCode::kOk);
  EXPECT_EQ(EventCode(R"({"type":"page_view","user_id":"u","properties":{"a":[]}})", o),
            ErrorCode::kNestingTooDeep);
}

TEST(BatchDecoderTest, WholeBodyNesting) {
  // Bare array (level 1) + event (2) + properties (3) + `inner` levels. simdjson enforces the body
  // limit (its count is exact for arrays and one stricter for objects), so test clear of the edge.
  auto body = [](int inner) {
    return R"([{"type":"page_view","user_id":"u","properties":)" + Nested(inner + 1) + "}]";
  };
  DecodedBatch b = Decode(body(58));  // 61 levels: parses, the event is rejected
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].code, ErrorCode::kNestingTooDeep);
  EXPECT_EQ(RequestError(body(62)), ErrorCode::kNestingTooDeep);  // 65 levels
  EXPECT_EQ(RequestError(std::string(64, '[') + std::string(64, ']')), ErrorCode::kOk);
  EXPECT_EQ(RequestError(std::string(65, '[') + std::string(65, ']')), ErrorCode::kNestingTooDeep);
  EXPECT_EQ(RequestError(std::string(100000, '[') + std::string(100000, ']')),
            ErrorCode::kNestingTooDeep);
  // A different body depth limit on the same thread reconfigures the parser.
  DecodeOptions o = Options();
  o.max_body_depth = 4;
  EXPECT_EQ(RequestError(body(2), o), ErrorCode::kNestingTooDeep);
  EXPECT_EQ(RequestError(R"([{"type":"login","user_id":"u","properties":{}}])", o), ErrorCode::kOk);
  EXPECT_EQ(RequestError(body(58)), ErrorCode::kOk);
}

TEST(BatchDecoderTest, RequestErrors) {
  EXPECT_EQ(RequestError(""), ErrorCode::kMalformedJson);
  EXPECT_EQ(RequestError("{"), ErrorCode::kMalformedJson);
  EXPECT_EQ(RequestError(R"({"events":[}])"), ErrorCode::kMalformedJson);
  EXPECT_EQ(RequestError("[1,]"), ErrorCode::kMalformedJson);
  EXPECT_EQ(RequestError("\"\xff\""), ErrorCode::kMalformedJson);
  EXPECT_EQ(RequestError("42"), ErrorCode::kBadRequest);
  EXPECT_EQ(RequestError(R"("events")"), ErrorCode::kBadRequest);
  EXPECT_EQ(RequestError("{}"), ErrorCode::kBadRequest);
  EXPECT_EQ(RequestError(R"({"events":{}})"), ErrorCode::kBadRequest);
  EXPECT_EQ(RequestError(R"({"events":null})"), ErrorCode::kBadRequest);
  EXPECT_EQ(RequestError(R"({"events":[],"write_key":5})"), ErrorCode::kBadRequest);
  EXPECT_EQ(RequestError(R"({"events":[],"sent_at":"now"})"), ErrorCode::kBadRequest);
  EXPECT_EQ(RequestError(R"({"events":[],"sent_at":true})"), ErrorCode::kBadRequest);
  EXPECT_EQ(RequestError(R"({"events":[],"sent_at":null})"), ErrorCode::kOk);
  DecodedBatch b = Decode(R"({"events":[],"sent_at":1700000000000})");
  EXPECT_EQ(b.sent_at_ms, 1700000000000);
  EXPECT_EQ(b.received, 0u);
}

TEST(BatchDecoderTest, TooManyEvents) {
  DecodeOptions o = Options();
  o.max_events = 3;
  std::string ev = R"({"type":"login","user_id":"u"})";
  EXPECT_EQ(RequestError("[" + ev + "," + ev + "," + ev + "]", o), ErrorCode::kOk);
  EXPECT_EQ(RequestError("[" + ev + "," + ev + "," + ev + ",1]", o), ErrorCode::kTooManyEvents);
  EXPECT_EQ(RequestError(R"({"events":[1,2,3,4]})", o), ErrorCode::kTooManyEvents);
}

TEST(BatchDecoderTest, ReusedParserHandlesLargerBodies) {
  std::string body = "[";
  for (int i = 0; i < 1000; ++i) {
    body += std::string(i ? "," : "") + R"({"type":"search","user_id":"u)" + std::to_string(i) +
            R"(","properties":{"query":")" + std::string(i % 97, 'q') + R"("}})";
  }
  body += "]";
  EXPECT_EQ(Decode("[]").received, 0u);
  DecodedBatch b = Decode(body);
  EXPECT_EQ(b.events.size(), 1000u);
  EXPECT_EQ(b.events[999].user_id, "u999");
}

TEST(BatchDecoderTest, UnescapedControlCharacterIsMalformed) {
  // Bodies without a backslash take a path that copies strings unscanned; it relies on the parser
  // rejecting raw control characters inside strings.
  EXPECT_EQ(RequestError("[{\"type\":\"page_view\",\"user_id\":\"u\x01\"}]"),
            ErrorCode::kMalformedJson);
  EXPECT_EQ(
      RequestError("[{\"type\":\"page_view\",\"user_id\":\"u\",\"properties\":{\"a\nb\":1}}]"),
      ErrorCode::kMalformedJson);
}

/// Random JSON text with whitespace, escapes (when `escapes`) and numbers of every tape kind.
class RandomJson {
 public:
  RandomJson(uint64_t seed, bool escapes) : rng_(seed), escapes_(escapes) {}

  std::string Object(int depth) {
    std::string s = "{" + Space();
    int n = Pick(5);
    for (int i = 0; i < n; ++i) {
      if (i) s += "," + Space();
      s += String() + Space() + ":" + Space() + Value(depth + 1) + Space();
    }
    return s + "}";
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % n); }
  std::string Space() {
    static const char* const kSpaces[] = {"", "", "", " ", "\n\t ", "\r\n"};
    return kSpaces[Pick(6)];
  }
  std::string String() {
    static const char* const kPlain[] = {"a", "job", "é", "☃", "x y", "\x7f", "0", "{}[]:,"};
    static const char* const kEscaped[] = {"\\\"",    "\\\\", "\\n",     "\\u0001",
                                           "\\u001f", "\\/",  "\\t",     "\\b",
                                           "\\f",     "\\r",  "\\u00e9", "\\ud83d\\ude00"};
    std::string s = "\"";
    int n = Pick(5);
    for (int i = 0; i < n; ++i)
      s += escapes_ && Pick(3) == 0 ? kEscaped[Pick(12)] : kPlain[Pick(8)];
    return s + "\"";
  }
  std::string Value(int depth) {
    static const char* const kNumbers[] = {"0",
                                           "-1",
                                           "42",
                                           "18446744073709551615",
                                           "-9223372036854775808",
                                           "1.5",
                                           "-0.0",
                                           "1e300",
                                           "1E5",
                                           "2.5e-300",
                                           "3.0",
                                           "9007199254740993",
                                           "0.1"};
    switch (Pick(depth > 12 ? 4 : 6)) {
      case 0:
        return String();
      case 1:
        return kNumbers[Pick(13)];
      case 2: {
        static const char* const kLiterals[] = {"true", "false", "null"};
        return kLiterals[Pick(3)];
      }
      case 3:
        return std::to_string(static_cast<int64_t>(rng_()));
      case 4:
        return Object(depth);
      default: {
        std::string s = "[" + Space();
        int n = Pick(5);
        for (int i = 0; i < n; ++i) s += (i ? "," : "") + Value(depth + 1) + Space();
        return s + "]";
      }
    }
  }

  std::mt19937_64 rng_;
  bool escapes_;
};

int DomDepth(simdjson::dom::element e) {
  int d = 0;
  if (e.type() == simdjson::dom::element_type::ARRAY) {
    simdjson::dom::array a = e.get_array().value();
    for (simdjson::dom::element v : a) d = std::max(d, DomDepth(v));
    return d + 1;
  }
  if (e.type() == simdjson::dom::element_type::OBJECT) {
    simdjson::dom::object o = e.get_object().value();
    for (simdjson::dom::key_value_pair kv : o) {
      d = std::max(d, DomDepth(kv.value));
    }
    return d + 1;
  }
  return 0;
}

// Differential test of the one-pass walk: stored JSON, size limit and depth limit against
// simdjson::minify and a recursive depth, for random documents with and without escapes.
TEST(BatchDecoderTest, RandomDocumentsMatchSimdjsonMinify) {
  simdjson::dom::parser parser;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    RandomJson gen(seed, seed % 2 == 1);
    std::string props = gen.Object(0);
    std::string ctx = gen.Object(0);
    std::string other = gen.Object(0);
    std::string ev = R"({"type":"page_view","user_id":"u","extra":)" + other + R"(,"properties":)" +
                     props + R"(,"context":)" + ctx + "}";
    SCOPED_TRACE(ev);
    simdjson::dom::element el;
    ASSERT_EQ(parser.parse(ev).get(el), simdjson::SUCCESS);
    const std::string minified = simdjson::minify(el);
    const int depth = DomDepth(el);
    const std::string want_props = simdjson::minify(el["properties"].value());
    const std::string want_ctx = simdjson::minify(el["context"].value());

    DecodeOptions o = Options();
    o.max_event_bytes = minified.size();
    o.max_depth = depth;
    DecodedBatch b = Decode("[" + ev + "]", o);
    ASSERT_EQ(b.events.size(), 1u);
    EXPECT_EQ(b.events[0].properties_json, want_props);
    EXPECT_EQ(b.events[0].context_json, want_ctx);

    o.max_event_bytes = minified.size() - 1;
    EXPECT_EQ(EventCode(ev, o), ErrorCode::kEventTooLarge);
    o.max_event_bytes = minified.size();
    o.max_depth = depth - 1;
    EXPECT_EQ(EventCode(ev, o), ErrorCode::kNestingTooDeep);
  }
}

}  // namespace
}  // namespace ca::ingest
