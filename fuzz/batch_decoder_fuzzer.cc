// libFuzzer target for the native batch decoder (ca::ingest::DecodeBatch) and, through it, the
// event record codec. Besides memory errors it checks the decoder's invariants and aborts when one
// is broken: every event is accepted or rejected exactly once, in order; accepted events survive a
// WAL encode/decode round trip; stored properties/context are minified JSON objects.

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "event/catalogue.h"
#include "event/event_codec.h"
#include "ingest/batch_decoder.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

const ca::event::Catalogue& FuzzCatalogue() {
  static const ca::event::Catalogue catalogue = [] {
    auto c = ca::event::Catalogue::Create(
        {{"custom_event",
          {{"n", ca::event::PropertyKind::kNumber}, {"b", ca::event::PropertyKind::kBoolean}}}});
    Check(c.ok(), "catalogue");
    return *c;
  }();
  return catalogue;
}

bool IsJsonObject(simdjson::dom::parser& parser, std::string_view text) {
  simdjson::dom::element el;
  if (parser.parse(text.data(), text.size()).get(el) != simdjson::SUCCESS) return false;
  return el.type() == simdjson::dom::element_type::OBJECT && simdjson::minify(el) == text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ca::ingest::DecodeOptions options;
  options.tenant = "fuzz";
  options.received_at_ms = 1795838410123;
  options.max_event_bytes = 2048;  // small limits so that the fuzzer reaches them
  options.max_events = 64;
  options.max_depth = 8;
  options.catalogue = &FuzzCatalogue();

  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto result = ca::ingest::DecodeBatch(body, options);
  if (!result.ok()) {
    Check(result.status().code() != ca::ErrorCode::kOk, "error without a code");
    return 0;
  }
  const ca::ingest::DecodedBatch& batch = *result;
  Check(batch.events.size() == batch.event_indexes.size(), "indexes parallel to events");
  Check(batch.events.size() + batch.rejected.size() == batch.received, "every event accounted for");
  Check(batch.received <= options.max_events, "max_events");

  // Accepted and rejected indexes together are 0..received-1, each in increasing order.
  size_t a = 0, r = 0;
  for (uint32_t i = 0; i < batch.received; ++i) {
    if (a < batch.event_indexes.size() && batch.event_indexes[a] == i) {
      ++a;
    } else {
      Check(r < batch.rejected.size() && batch.rejected[r].index == i, "index order");
      Check(batch.rejected[r].code != ca::ErrorCode::kOk, "rejection without a code");
      ++r;
    }
  }

  simdjson::dom::parser parser;
  for (const ca::event::Event& e : batch.events) {
    Check(e.tenant == "fuzz", "tenant");
    Check(!e.event_id.empty() && e.event_id.size() <= 64, "event_id length");
    Check(!e.user_id.empty() || !e.anonymous_id.empty(), "user or anonymous id");
    Check(e.received_at_ms == options.received_at_ms, "received_at");
    Check(options.catalogue->Find(e.type) != nullptr, "known type");
    Check(IsJsonObject(parser, e.properties_json), "properties is a minified object");
    Check(IsJsonObject(parser, e.context_json), "context is a minified object");

    std::string record;
    ca::event::EncodeEvent(e, &record);
    auto decoded = ca::event::DecodeEvent(record);
    Check(decoded.ok() && *decoded == e, "codec round trip");
    auto key = ca::event::DecodeEventKey(record);
    Check(key.ok() && key->tenant == e.tenant && key->event_id == e.event_id, "key decode");
    for (size_t n = 0; n < record.size(); ++n) {
      Check(!ca::event::DecodeEvent(std::string_view(record.data(), n)).ok(), "truncation");
    }
    simdjson::dom::element el;
    std::string json = ca::event::EventToJson(e);
    Check(parser.parse(json).get(el) == simdjson::SUCCESS, "EventToJson is JSON");
  }
  return 0;
}
