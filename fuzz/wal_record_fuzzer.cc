// Feeds arbitrary bytes to the WAL segment parser (as used by recovery) and to the offline Reader
// over a one-segment log holding those bytes. Neither may crash, read out of bounds or disagree.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "io/env.h"
#include "wal/format.h"
#include "wal/wal.h"

namespace {

const std::string& FuzzDir() {
  static const std::string dir = [] {
    std::string tmpl = "/tmp/ca_wal_fuzz_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) ::abort();
    return tmpl;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ca::wal;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  uint64_t records = 0;
  format::SegmentScan scan = format::ScanSegment(bytes, [&](uint64_t offset, std::string_view p) {
    if (offset + format::kRecordHeaderSize + p.size() > bytes.size()) ::abort();
    ++records;
  });
  if (records != scan.records || scan.valid_end > bytes.size()) ::abort();
  if (scan.damaged && scan.damage_offset != scan.valid_end) ::abort();

  // The same bytes as the only segment of a log, named after the LSN their header claims.
  const std::string& dir = FuzzDir();
  ca::io::Env* env = ca::io::Env::Default();
  auto names = env->GetChildren(dir);
  if (names.ok()) {
    for (const auto& n : *names) env->RemoveFile(ca::io::JoinPath(dir, n)).IgnoreError();
  }
  const uint64_t start = scan.header_bad || scan.header_torn ? 0 : scan.start_lsn;
  const std::string path = ca::io::JoinPath(dir, format::SegmentFileName(start));
  {
    auto f = env->NewWritableFile(path, /*append=*/false);
    if (!f.ok() || !(*f)->Append(bytes).ok()) return 0;
  }
  Options options;
  options.dir = dir;
  auto reader = Reader::Open(options, start);
  if (!reader.ok()) return 0;
  uint64_t read = 0;
  while (true) {
    Lsn lsn;
    std::string payload;
    auto more = (*reader)->Next(&lsn, &payload);
    if (!more.ok() || !*more) break;
    ++read;
  }
  // The reader never yields more than the scan found valid.
  if (!scan.header_bad && read > scan.records) ::abort();
  return 0;
}
