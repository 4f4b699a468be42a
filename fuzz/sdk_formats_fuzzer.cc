// libFuzzer target for the SDK formats (ca::ingest::SdkBody: Segment and PostHog bodies rewritten
// as native batches). The first byte picks the format and the Segment call; the rest is the body.
// Besides memory errors it checks that a body that parses always becomes a native batch the
// native decoder reads whole (never a whole-request error), with one native event per SDK event.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "event/catalogue.h"
#include "ingest/batch_decoder.h"
#include "ingest/sdk_formats.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

constexpr std::string_view kCalls[] = {"batch",    "track", "page",  "screen",
                                       "identify", "group", "alias", "other"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool posthog = (data[0] & 0x80) != 0;
  const std::string_view call = kCalls[data[0] & 7];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto format = posthog ? ca::ingest::SdkFormat::kPostHog : ca::ingest::SdkFormat::kSegment;
  auto parsed = ca::ingest::SdkBody::Parse(format, call, body, ca::ingest::kSdkMaxDepth, 64);
  if (!parsed.ok()) {
    Check(parsed.status().code() != ca::ErrorCode::kOk, "error without a code");
    return 0;
  }
  static const ca::event::Catalogue builtins;
  const std::string native = parsed->ToNative(builtins);
  ca::ingest::DecodeOptions options;
  options.tenant = "fuzz";
  options.received_at_ms = 1795838410123;
  options.max_events = 64;
  options.catalogue = &builtins;
  auto batch = ca::ingest::DecodeBatch(native, options);
  if (!batch.ok()) {
    std::fprintf(stderr, "%s\nnative body: %.2000s\n", batch.status().ToString().c_str(),
                 native.c_str());
  }
  Check(batch.ok(), "the native rewrite decodes as a whole");
  Check(batch->events.size() + batch->rejected.size() == batch->received, "events accounted for");
  for (const auto& e : batch->events) Check(builtins.Find(e.type) != nullptr, "known type");
  return 0;
}
