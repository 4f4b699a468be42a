// The demo's generated bodies pass the real ingest decoder: every event valid for the catalogue.
#include <gtest/gtest.h>

#include "app/demo_data.h"
#include "ingest/batch_decoder.h"

namespace ca::app {
namespace {

TEST(DemoIngest, EveryGeneratedEventPassesTheDecoder) {
  DemoOptions options;
  options.users = 30;
  options.days = 21;
  DemoGenerator generator(options);
  std::string body;
  uint64_t decoded = 0;
  std::map<std::string, uint64_t> by_type;
  while (generator.NextBatch(500, &body)) {
    ingest::DecodeOptions decode;
    decode.received_at_ms = options.end_ms;
    decode.tenant = "demo";
    auto batch = ingest::DecodeBatch(body, decode);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    for (const auto& r : batch->rejected) {
      ADD_FAILURE() << "event " << r.index << ": " << ErrorCodeName(r.code) << ": " << r.message;
    }
    for (const auto& e : batch->events) ++by_type[e.type];
    decoded += batch->events.size();
  }
  EXPECT_GT(decoded, 1000u);
  EXPECT_EQ(decoded, generator.events_generated());
  EXPECT_EQ(by_type, generator.truth().events_by_type);
}

}  // namespace
}  // namespace ca::app
