// libFuzzer target for the query spec parser (ca::query::ParseQuerySpec, the body of
// POST /analytics/query) and, for every spec it accepts, the embedded executor over a small fixed
// dataset and the SQL compiler. Besides memory errors it aborts when an accepted spec makes the
// executor fail with anything but a resource limit, or the compiler fail at all.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "query/executor.h"
#include "query/spec.h"
#include "query/sql_compiler.h"
#include "query/test_snapshot.h"

namespace {

void Check(bool ok, const char* what, const ca::Status& status) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s: %s\n", what, status.ToString().c_str());
    std::abort();
  }
}

const ca::query::TestSnapshot& Snapshot() {
  static const ca::query::TestSnapshot snapshot = [] {
    std::vector<ca::event::Event> events;
    const int64_t start = 1735689600000;  // 2025-01-01
    const char* types[] = {"page_view", "job_view", "job_apply", "application_status_changed"};
    for (int i = 0; i < 64; ++i) {
      ca::event::Event e;
      e.tenant = "t";
      e.event_id = "e" + std::to_string(i);
      e.type = types[i % 4];
      e.user_id = "u" + std::to_string(i % 5);
      e.timestamp_ms = start + i * 3'600'000;
      e.received_at_ms = e.timestamp_ms;
      e.properties_json = R"({"job_id":"j)" + std::to_string(i % 3) + R"(","application_id":"a)" +
                          std::to_string(i % 7) + R"(","status":"interview","value":)" +
                          std::to_string(i) + "}";
      e.context_json = R"({"page":{"path":"/p"}})";
      events.push_back(std::move(e));
    }
    return ca::query::TestSnapshot(events);
  }();
  return snapshot;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto spec = ca::query::ParseQuerySpec(input);
  if (!spec.ok()) return 0;
  // Keep each input cheap: the fuzzer is after crashes, not after slow queries.
  spec->timeout_ms = std::min<int64_t>(spec->timeout_ms, 1000);
  ca::query::ExecOptions options;
  options.max_memory_bytes = 64 << 20;
  auto result = ca::query::Execute(Snapshot(), *spec, options);
  Check(result.ok() || result.status().code() == ca::ErrorCode::kQueryTimeout ||
            result.status().code() == ca::ErrorCode::kQueryMemoryExceeded,
        "execute", result.status());
  auto plan = ca::query::CompileSql(*spec, "t", ca::query::Dialect::kSqlite);
  Check(plan.ok(), "compile", plan.status());
  return 0;
}
