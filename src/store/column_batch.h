#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ca::store {

/// The columns of the event store. The numbering is part of the on-disk part format
/// (docs/formats/part.md): never renumber, only append.
enum class Column : uint8_t {
  kTimestamp = 0,    ///< int64 epoch ms (event time)
  kReceivedAt = 1,   ///< int64 epoch ms (server receive time)
  kFlags = 2,        ///< uint32 event flags (event.h kFlag*)
  kUser = 3,         ///< uint32 dense id of user_id (0 = none)
  kAnonymous = 4,    ///< uint32 dense id of anonymous_id (0 = none)
  kSession = 5,      ///< uint32 dense id of session_id (0 = none)
  kType = 6,         ///< uint32 dense id of the event type (never 0)
  kJob = 7,          ///< uint32 dense id of properties.job_id when a string (0 = none)
  kApplication = 8,  ///< uint32 dense id of properties.application_id when a string (0 = none)
  kStatus = 9,       ///< uint32 dense id of properties.status when a string (0 = none)
  kPath = 10,        ///< uint32 dense id of context.page.path, else properties.path (0 = none)
  kCountry = 11,     ///< uint32 dense id of context.country when a string (0 = none)
  kDevice = 12,      ///< uint32 dense id of context.device when a string (0 = none)
  kValue = 13,    ///< double: properties.value, else properties.seconds, when a number; NaN = none
  kEventId = 14,  ///< string
  kProperties = 15,  ///< string: minified JSON object
  kContext = 16,     ///< string: minified JSON object
};
inline constexpr size_t kColumnCount = 17;

/// The kind of values a column holds.
enum class ColumnKind : uint8_t { kInt64, kUInt32, kDouble, kString };

constexpr ColumnKind KindOf(Column c) {
  switch (c) {
    case Column::kTimestamp:
    case Column::kReceivedAt:
      return ColumnKind::kInt64;
    case Column::kValue:
      return ColumnKind::kDouble;
    case Column::kEventId:
    case Column::kProperties:
    case Column::kContext:
      return ColumnKind::kString;
    default:
      return ColumnKind::kUInt32;
  }
}

/// True for the uint32 columns whose values are ids in a per-tenant dictionary (all but kFlags).
constexpr bool IsDictionaryColumn(Column c) {
  return KindOf(c) == ColumnKind::kUInt32 && c != Column::kFlags;
}

/// Stable lower-case name ("timestamp", "user_id", "type", "job_id", ...), as used in query specs
/// and in the part format's column table.
std::string_view ColumnName(Column c);
/// Inverse of ColumnName; nullopt for an unknown name.
std::optional<Column> ColumnFromName(std::string_view name);

/// A set of columns, as a bit mask (bit i = Column i).
class ColumnSet {
 public:
  constexpr ColumnSet() = default;
  constexpr ColumnSet(std::initializer_list<Column> columns) {
    for (Column c : columns) Add(c);
  }
  static constexpr ColumnSet All() {
    ColumnSet s;
    s.bits_ = (uint32_t{1} << kColumnCount) - 1;
    return s;
  }
  constexpr void Add(Column c) { bits_ |= uint32_t{1} << static_cast<unsigned>(c); }
  constexpr bool Has(Column c) const { return bits_ & (uint32_t{1} << static_cast<unsigned>(c)); }
  constexpr uint32_t bits() const { return bits_; }

 private:
  uint32_t bits_ = 0;
};

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

/// Rows of events in columnar form: the memtable's chunks, the input of the part writer and what
/// a scan hands to the query engine. Every present column has size() entries; a column not asked
/// for in a scan is left empty. Plain value type.
struct ColumnBatch {
  std::vector<int64_t> timestamp;
  std::vector<int64_t> received_at;
  std::vector<uint32_t> flags;
  /// Dictionary id columns, indexed by DictIndex(column).
  std::array<std::vector<uint32_t>, 10> ids;
  std::vector<double> value;
  std::vector<std::string> event_id;
  std::vector<std::string> properties;
  std::vector<std::string> context;

  size_t size() const { return timestamp.size(); }

  /// Index into `ids` of a dictionary column (kUser -> 0 ... kDevice -> 9).
  static constexpr size_t DictIndex(Column c) { return static_cast<size_t>(c) - 3; }
  std::vector<uint32_t>& Ids(Column c) { return ids[DictIndex(c)]; }
  const std::vector<uint32_t>& Ids(Column c) const { return ids[DictIndex(c)]; }
};

/// Appends row `i` of `from` (every column) to `to`.
void CopyRow(const ColumnBatch& from, size_t i, ColumnBatch* to);

}  // namespace ca::store
