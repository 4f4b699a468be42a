#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "event/event.h"
#include "store/tenant_snapshot.h"

namespace ca::query {

/// How a TestSnapshot hands out its rows.
struct TestSnapshotOptions {
  /// Seeds the block sizes and the block order of every Scan.
  uint64_t seed = 1;
  /// Blocks hold 1..max_block_rows rows (at most 65536).
  size_t max_block_rows = 7;
  /// Also hands out some blocks that hold no row of the requested range or user.
  bool include_outside_rows = true;
  /// Sleeps this long before each block (deadline tests).
  int64_t block_delay_ms = 0;
};

/// An in-memory TenantSnapshot over a fixed list of events, for the executor's tests and the
/// differential test. The core columns are derived from each event's properties and context
/// exactly as docs/api/query.md's field table says (a string source that is missing, not a
/// string or empty is id 0; `value` is properties.value, else properties.seconds, when a number).
/// Scan fills only the requested columns (plus kTimestamp), cuts the rows (in the given order)
/// into blocks of random sizes and hands them out in random order, including blocks with rows
/// outside the range and of other users, so a caller must filter. Thread-safe (immutable).
class TestSnapshot final : public store::TenantSnapshot {
 public:
  explicit TestSnapshot(const std::vector<event::Event>& events, TestSnapshotOptions options = {});

  std::optional<uint32_t> Lookup(store::Column column, std::string_view value) const override;
  std::string_view Name(store::Column column, uint32_t id) const override;
  uint32_t DictionarySize(store::Column column) const override;
  Status Scan(const store::ScanRequest& request,
              const std::function<Status(const store::ColumnBatch&)>& fn) const override;

  /// All rows, every column filled, in the order given.
  const store::ColumnBatch& rows() const { return rows_; }

 private:
  struct Dictionary {
    std::vector<std::string> names{""};
    std::unordered_map<std::string, uint32_t> ids{{"", 0}};
    uint32_t Intern(const std::string& s);
  };

  TestSnapshotOptions options_;
  std::array<Dictionary, 10> dicts_;
  store::ColumnBatch rows_;
};

}  // namespace ca::query
