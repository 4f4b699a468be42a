#include "event/event_codec.h"
#include "event/json_string.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <memory>

namespace ca::event {
namespace {

Event SampleEvent() {
  Event e;
  e.tenant = "acme";
  e.event_id = "evt-0001";
  e.type = "job_view";
  e.user_id = "u42";
  e.anonymous_id = "anon-7";
  e.session_id = "s1";
  e.timestamp_ms = 1795838410123;
  e.received_at_ms = 1795838411000;
  e.properties_json = R"({"job_id":"j1","tags":["a","b"]})";
  e.context_json = R"({"page":{"path":"/jobs/j1"},"locale":"en-GB"})";
  e.flags = kFlagGeneratedId;
  return e;
}

TEST(EventCodecTest, RoundTrip) {
  Event e = SampleEvent();
  std::string buf = "prefix";
  EncodeEvent(e, &buf);
  EXPECT_EQ(static_cast<uint8_t>(buf[6]), kRecordTypeEventV1);
  auto d = DecodeEvent(std::string_view(buf).substr(6));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, e);
}

TEST(EventCodecTest, RoundTripExtremes) {
  Event e;  // all strings empty or default
  e.properties_json.clear();
  for (auto [ts, rx] : {std::pair<int64_t, int64_t>{0, 0},
                        {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()},
                        {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()},
                        {-5, 7}}) {
    e.timestamp_ms = ts;
    e.received_at_ms = rx;
    e.flags = std::numeric_limits<uint32_t>::max();
    e.user_id = std::string(300, '\0');
    std::string buf;
    EncodeEvent(e, &buf);
    auto d = DecodeEvent(buf);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(*d, e);
  }
}

TEST(EventCodecTest, KeyDecodesWithoutTheRest) {
  Event e = SampleEvent();
  std::string buf;
  EncodeEvent(e, &buf);
  auto k = DecodeEventKey(buf);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->tenant, "acme");
  EXPECT_EQ(k->event_id, "evt-0001");
  EXPECT_EQ(k->received_at_ms, e.received_at_ms);
  // The views point into the payload.
  EXPECT_GE(k->tenant.data(), buf.data());
  EXPECT_LT(k->tenant.data(), buf.data() + buf.size());
}

TEST(EventCodecTest, EveryTruncationIsCorruption) {
  std::string buf;
  EncodeEvent(SampleEvent(), &buf);
  for (size_t n = 0; n < buf.size(); ++n) {
    // A heap copy of exactly n bytes, so ASan flags any read past the end.
    std::unique_ptr<char[]> copy(new char[n == 0 ? 1 : n]);
    std::memcpy(copy.get(), buf.data(), n);
    auto d = DecodeEvent(std::string_view(copy.get(), n));
    ASSERT_FALSE(d.ok()) << n;
    EXPECT_EQ(d.status().code(), ErrorCode::kCorruption);
  }
}

TEST(EventCodecTest, KeyTruncationsAreCorruption) {
  std::string buf;
  EncodeEvent(SampleEvent(), &buf);
  size_t key_end = 1 + 1 + 4 + 1 + 8 + 8;  // type, "acme", "evt-0001", fixed64
  for (size_t n = 0; n < key_end; ++n) {
    auto k = DecodeEventKey(std::string_view(buf.data(), n));
    ASSERT_FALSE(k.ok()) << n;
    EXPECT_EQ(k.status().code(), ErrorCode::kCorruption);
  }
  EXPECT_TRUE(DecodeEventKey(std::string_view(buf.data(), key_end)).ok());
}

TEST(EventCodecTest, RejectsTrailingBytesWrongTypeAndBadVarints) {
  std::string buf;
  EncodeEvent(SampleEvent(), &buf);
  EXPECT_EQ(DecodeEvent(buf + "x").status().code(), ErrorCode::kCorruption);
  std::string wrong = buf;
  wrong[0] = 2;
  EXPECT_EQ(DecodeEvent(wrong).status().code(), ErrorCode::kCorruption);
  EXPECT_EQ(DecodeEventKey(wrong).status().code(), ErrorCode::kCorruption);

  // Tenant length as an 11-byte varint, and a 10-byte varint that overflows 64 bits.
  std::string overlong = "\x01" + std::string(10, '\x80') + "\x01";
  EXPECT_EQ(DecodeEvent(overlong).status().code(), ErrorCode::kCorruption);
  std::string overflow = "\x01" + std::string(9, '\xff') + "\x02";
  EXPECT_EQ(DecodeEvent(overflow).status().code(), ErrorCode::kCorruption);
  // A huge length that would wrap a naive bounds check.
  std::string huge = "\x01" + std::string(9, '\xff') + "\x01";
  EXPECT_EQ(DecodeEvent(huge).status().code(), ErrorCode::kCorruption);
}

TEST(EventCodecTest, CorruptedBytesNeverCrash) {
  std::string buf;
  EncodeEvent(SampleEvent(), &buf);
  for (size_t i = 0; i < buf.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string c = buf;
      c[i] = static_cast<char>(c[i] ^ (1 << bit));
      auto d = DecodeEvent(c);
      if (d.ok()) {
        std::string again;
        EncodeEvent(*d, &again);
        auto d2 = DecodeEvent(again);
        ASSERT_TRUE(d2.ok());
        EXPECT_EQ(*d2, *d);
      }
    }
  }
}

TEST(EventCodecTest, EventToJson) {
  Event e = SampleEvent();
  e.user_id = "quote\"back\\slash\nnl\x01";
  EXPECT_EQ(EventToJson(e),
            R"({"event_id":"evt-0001","tenant":"acme","type":"job_view",)"
            R"("user_id":"quote\"back\\slash\nnl\u0001","anonymous_id":"anon-7","session_id":"s1",)"
            R"("timestamp":"2026-11-28T04:00:10.123Z","received_at":"2026-11-28T04:00:11.000Z",)"
            R"("properties":{"job_id":"j1","tags":["a","b"]},)"
            R"("context":{"page":{"path":"/jobs/j1"},"locale":"en-GB"}})");
  e.properties_json.clear();
  EXPECT_NE(EventToJson(e).find(R"("properties":{},)"), std::string::npos);
}

}  // namespace
}  // namespace ca::event

namespace ca::event {
namespace {

TEST(JsonString, EscapesLikeTheMinifierAndSizesMatch) {
  const std::pair<std::string, std::string> cases[] = {
      {"plain", R"("plain")"},
      {"say \"hi\"\\", R"("say \"hi\"\\")"},
      {"a\b\t\n\f\rz", R"("a\b\t\n\f\rz")"},
      {std::string("\x01\x1f", 2), R"("\u0001\u001f")"},
      {"caf\xc3\xa9 long enough to cross eight bytes",
       "\"caf\xc3\xa9 long enough to cross eight bytes\""},
      {"", R"("")"},
  };
  for (const auto& [in, want] : cases) {
    std::string out;
    AppendJsonString(in, &out);
    EXPECT_EQ(out, want);
    EXPECT_EQ(JsonStringSize(in), want.size()) << want;
  }
}

}  // namespace
}  // namespace ca::event
