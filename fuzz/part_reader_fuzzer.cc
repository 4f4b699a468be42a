// Feeds arbitrary bytes to the part reader (PartReader::FromBuffer, then Verify and ReadGranule of
// every granule). None may crash or read out of bounds; a part that verifies must read back.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/part_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ca::store;
  auto reader = PartReader::FromBuffer(std::string(reinterpret_cast<const char*>(data), size));
  if (!reader.ok()) return 0;
  const PartReader& r = **reader;
  const bool verified = r.Verify().ok();
  ColumnBatch out;
  for (size_t g = 0; g < r.granules().size(); ++g) {
    const ca::Status s = r.ReadGranule(g, ColumnSet::All(), &out);
    if (verified && (!s.ok() || out.size() != r.granules()[g].rows)) {
      std::fprintf(stderr, "verified part failed to read granule %zu\n", g);
      std::abort();
    }
    ca::Status partial = r.ReadGranule(g, {Column::kUser, Column::kType}, &out);
    partial.IgnoreError();
  }
  return 0;
}
