#include "query/executor.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/utf8.h"
#include "event/timestamp.h"
#include "query/buckets.h"
#include "query/result_json.h"

namespace ca::query {
namespace {

using store::Column;
using store::ColumnBatch;
using store::ColumnSet;
using store::TenantSnapshot;
using Json = nlohmann::json;
using Sel = std::vector<uint32_t>;

constexpr int64_t kMinTs = std::numeric_limits<int64_t>::min();

class Deadline {
 public:
  explicit Deadline(int64_t timeout_ms)
      : end_ns_(MonotonicNanos() + std::max<int64_t>(timeout_ms, 0) * 1'000'000) {}
  Status Check() const {
    if (MonotonicNanos() > end_ns_) return Status(ErrorCode::kQueryTimeout, "query ran too long");
    return Status::Ok();
  }

 private:
  int64_t end_ns_;
};

Status CheckMemory(size_t in_use, size_t limit) {
  if (in_use > limit) {
    return Status(ErrorCode::kQueryMemoryExceeded,
                  "query needs more than " + std::to_string(limit >> 20) + " MiB");
  }
  return Status::Ok();
}

template <typename V>
size_t BytesOf(const V& v) {
  return v.capacity() * sizeof(typename V::value_type);
}

// ---- Minimal scanner for the top-level keys of a minified, valid JSON object.

enum class JsonKind : uint8_t { kMissing, kNull, kString, kNumber, kTrue, kFalse, kOther };

struct PropValue {
  JsonKind kind = JsonKind::kMissing;
  std::string_view raw;  // string contents without quotes (still escaped when `escaped`)
  bool escaped = false;
  double number = 0;
};

inline size_t SkipWs(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  return i;
}

// s[i] is the opening quote; returns the index just past the closing quote.
inline size_t ScanString(std::string_view s, size_t i, bool* escaped) {
  ++i;
  const size_t n = s.size();
  while (i < n) {
    const char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      *escaped = true;
      i += 2;
      continue;
    }
    ++i;
  }
  return n;
}

size_t SkipValue(std::string_view s, size_t i) {
  const size_t n = s.size();
  if (i >= n) return n;
  const char c = s[i];
  if (c == '"') {
    bool esc = false;
    return ScanString(s, i, &esc);
  }
  if (c == '{' || c == '[') {
    int depth = 0;
    while (i < n) {
      const char d = s[i];
      if (d == '"') {
        bool esc = false;
        i = ScanString(s, i, &esc);
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return n;
  }
  while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ') ++i;
  return i;
}

uint32_t Hex4(std::string_view s, size_t i) {
  uint32_t v = 0;
  for (size_t k = i; k < i + 4 && k < s.size(); ++k) {
    const char c = s[k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
    if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
  }
  return v;
}

// Decodes the contents of a JSON string (without quotes).
void Unescape(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out->push_back(s[i]);
      continue;
    }
    const char e = s[++i];
    switch (e) {
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        uint32_t cp = Hex4(s, i + 1);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < s.size() && s[i + 1] == '\\' &&
            s[i + 2] == 'u') {
          const uint32_t lo = Hex4(s, i + 3);
          if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        out->push_back(e);
        break;
    }
  }
}

PropValue ValueAt(std::string_view s, size_t i) {
  PropValue v;
  if (i >= s.size()) return v;
  switch (s[i]) {
    case '"': {
      bool esc = false;
      const size_t end = ScanString(s, i, &esc);
      v.kind = JsonKind::kString;
      v.raw = s.substr(i + 1, end - i - 2);
      v.escaped = esc;
      return v;
    }
    case 't':
      v.kind = JsonKind::kTrue;
      return v;
    case 'f':
      v.kind = JsonKind::kFalse;
      return v;
    case 'n':
      v.kind = JsonKind::kNull;
      return v;
    case '{':
    case '[':
      v.kind = JsonKind::kOther;
      return v;
    default: {
      const size_t end = SkipValue(s, i);
      double d = 0;
      const auto r = std::from_chars(s.data() + i, s.data() + end, d);
      if (r.ec != std::errc()) {
        v.kind = JsonKind::kOther;
        return v;
      }
      v.kind = JsonKind::kNumber;
      v.number = d;
      return v;
    }
  }
}

// The value of top-level key `key` in the JSON object `s`; the first occurrence wins.
PropValue FindProperty(std::string_view s, std::string_view key, std::string* scratch) {
  size_t i = SkipWs(s, 0);
  const size_t n = s.size();
  if (i >= n || s[i] != '{') return {};
  i = SkipWs(s, i + 1);
  while (i < n && s[i] == '"') {
    bool esc = false;
    const size_t end = ScanString(s, i, &esc);
    const std::string_view k = s.substr(i + 1, end - i - 2);
    bool match;
    if (esc) {
      Unescape(k, scratch);
      match = *scratch == key;
    } else {
      match = k == key;
    }
    i = SkipWs(s, end);
    if (i < n && s[i] == ':') i = SkipWs(s, i + 1);
    if (match) return ValueAt(s, i);
    i = SkipWs(s, SkipValue(s, i));
    if (i >= n || s[i] != ',') break;
    i = SkipWs(s, i + 1);
  }
  return {};
}

// The decoded string of a kString PropValue.
std::string_view StringOf(const PropValue& v, std::string* scratch) {
  if (!v.escaped) return v.raw;
  Unescape(v.raw, scratch);
  return *scratch;
}

// ---- Compiled filters.

struct CompiledFilter {
  enum class Kind { kNone, kDict, kValue, kEventId, kProperty };
  Kind kind = Kind::kNone;
  Column column = Column::kType;
  FilterOp op = FilterOp::kEq;
  std::vector<uint8_t> bitmap;       // kDict: match per dictionary id
  std::vector<double> numbers;       // kValue
  std::vector<std::string> strings;  // kEventId, and kProperty string literals
  std::string property;              // kProperty
  std::vector<Literal> literals;     // kProperty
};

Status BadFilter(std::string_view what) { return Status(ErrorCode::kInvalidFilter, what); }

Result<std::vector<std::string>> StringValues(const Filter& f, bool allow_empty) {
  std::vector<std::string> out;
  for (const Literal& l : f.values) {
    const auto* s = std::get_if<std::string>(&l);
    if (s == nullptr) return BadFilter("a string field needs string values");
    if (s->empty() && !allow_empty) return BadFilter("empty string for a core field");
    out.push_back(*s);
  }
  return out;
}

Status CheckArity(const Filter& f) {
  const size_t n = f.values.size();
  switch (f.op) {
    case FilterOp::kExists:
      return n == 0 ? Status::Ok() : BadFilter("exists takes no value");
    case FilterOp::kIn:
      return n >= 1 ? Status::Ok() : BadFilter("in takes 1..100 values");
    default:
      return n == 1 ? Status::Ok() : BadFilter("operator takes one value");
  }
}

Result<CompiledFilter> CompileFilter(const Filter& f, const TenantSnapshot& snap) {
  CA_RETURN_IF_ERROR(CheckArity(f));
  CompiledFilter c;
  c.op = f.op;
  if (!f.field.has_value()) {
    if (f.property.empty()) return BadFilter("a filter needs a field or a property");
    c.kind = CompiledFilter::Kind::kProperty;
    c.property = f.property;
    for (const Literal& l : f.values) {
      if ((f.op == FilterOp::kContains) && !std::holds_alternative<std::string>(l)) {
        return BadFilter("contains needs a string");
      }
      if ((f.op == FilterOp::kGt || f.op == FilterOp::kLt) && !std::holds_alternative<double>(l)) {
        return BadFilter("gt and lt need a number");
      }
    }
    c.literals = f.values;
    return c;
  }
  const Column col = *f.field;
  c.column = col;
  if (store::IsDictionaryColumn(col)) {
    if (f.op == FilterOp::kGt || f.op == FilterOp::kLt) return BadFilter("gt/lt on a string");
    CA_ASSIGN_OR_RETURN(std::vector<std::string> values, StringValues(f, false));
    c.kind = CompiledFilter::Kind::kDict;
    const uint32_t size = snap.DictionarySize(col);
    c.bitmap.assign(size, 0);
    switch (f.op) {
      case FilterOp::kEq:
      case FilterOp::kIn:
      case FilterOp::kNeq:
        for (const std::string& v : values) {
          const std::optional<uint32_t> id = snap.Lookup(col, v);
          if (id.has_value() && *id != 0 && *id < size) c.bitmap[*id] = 1;
        }
        if (f.op == FilterOp::kNeq) {
          for (uint8_t& b : c.bitmap) b = !b;
        }
        break;
      case FilterOp::kContains:
        for (uint32_t id = 1; id < size; ++id) {
          if (snap.Name(col, id).find(values[0]) != std::string_view::npos) c.bitmap[id] = 1;
        }
        break;
      case FilterOp::kExists:
        for (uint32_t id = 1; id < size; ++id) c.bitmap[id] = 1;
        break;
      default:
        return BadFilter("operator does not fit a string field");
    }
    return c;
  }
  if (col == Column::kValue) {
    if (f.op == FilterOp::kContains) return BadFilter("contains on a number");
    c.kind = CompiledFilter::Kind::kValue;
    for (const Literal& l : f.values) {
      const auto* d = std::get_if<double>(&l);
      if (d == nullptr) return BadFilter("value needs numbers");
      c.numbers.push_back(*d);
    }
    return c;
  }
  if (col == Column::kEventId) {
    if (f.op == FilterOp::kGt || f.op == FilterOp::kLt) return BadFilter("gt/lt on a string");
    CA_ASSIGN_OR_RETURN(c.strings, StringValues(f, false));
    c.kind = CompiledFilter::Kind::kEventId;
    return c;
  }
  return BadFilter("field cannot be filtered");
}

void AddColumns(const CompiledFilter& f, ColumnSet* cols) {
  switch (f.kind) {
    case CompiledFilter::Kind::kDict:
      cols->Add(f.column);
      break;
    case CompiledFilter::Kind::kValue:
      cols->Add(Column::kValue);
      break;
    case CompiledFilter::Kind::kEventId:
      cols->Add(Column::kEventId);
      break;
    case CompiledFilter::Kind::kProperty:
      cols->Add(Column::kProperties);
      break;
    case CompiledFilter::Kind::kNone:
      break;
  }
}

bool LiteralEq(const PropValue& v, const Literal& l, std::string* scratch) {
  if (const auto* s = std::get_if<std::string>(&l)) {
    return v.kind == JsonKind::kString && StringOf(v, scratch) == *s;
  }
  if (const auto* d = std::get_if<double>(&l)) return v.kind == JsonKind::kNumber && v.number == *d;
  const bool b = std::get<bool>(l);
  return v.kind == (b ? JsonKind::kTrue : JsonKind::kFalse);
}

bool PropertyMatches(const CompiledFilter& f, const PropValue& v, std::string* scratch) {
  switch (f.op) {
    case FilterOp::kEq:
      return LiteralEq(v, f.literals[0], scratch);
    case FilterOp::kNeq:
      return !LiteralEq(v, f.literals[0], scratch);
    case FilterOp::kIn:
      for (const Literal& l : f.literals) {
        if (LiteralEq(v, l, scratch)) return true;
      }
      return false;
    case FilterOp::kContains:
      return v.kind == JsonKind::kString &&
             StringOf(v, scratch).find(std::get<std::string>(f.literals[0])) !=
                 std::string_view::npos;
    case FilterOp::kGt:
      return v.kind == JsonKind::kNumber && v.number > std::get<double>(f.literals[0]);
    case FilterOp::kLt:
      return v.kind == JsonKind::kNumber && v.number < std::get<double>(f.literals[0]);
    case FilterOp::kExists:
      return v.kind != JsonKind::kMissing && v.kind != JsonKind::kNull;
  }
  return false;
}

bool ValueMatches(const CompiledFilter& f, double v) {
  const bool present = !std::isnan(v);
  switch (f.op) {
    case FilterOp::kEq:
    case FilterOp::kIn:
    case FilterOp::kNeq: {
      bool eq = false;
      for (double x : f.numbers) eq |= present && v == x;
      return f.op == FilterOp::kNeq ? !eq : eq;
    }
    case FilterOp::kGt:
      return present && v > f.numbers[0];
    case FilterOp::kLt:
      return present && v < f.numbers[0];
    case FilterOp::kExists:
      return present;
    case FilterOp::kContains:
      return false;
  }
  return false;
}

bool EventIdMatches(const CompiledFilter& f, std::string_view id) {
  switch (f.op) {
    case FilterOp::kEq:
    case FilterOp::kIn:
    case FilterOp::kNeq: {
      bool eq = false;
      for (const std::string& x : f.strings) eq |= id == x;
      return f.op == FilterOp::kNeq ? !eq : eq;
    }
    case FilterOp::kContains:
      return id.find(f.strings[0]) != std::string_view::npos;
    case FilterOp::kExists:
      return !id.empty();
    default:
      return false;
  }
}

// Keeps the rows of `sel` that pass `f`.
void ApplyFilter(const CompiledFilter& f, const ColumnBatch& b, Sel* sel, std::string* scratch) {
  size_t out = 0;
  uint32_t* s = sel->data();
  const size_t n = sel->size();
  switch (f.kind) {
    case CompiledFilter::Kind::kNone:
      break;
    case CompiledFilter::Kind::kDict: {
      const uint32_t* ids = b.Ids(f.column).data();
      const uint8_t* bm = f.bitmap.data();
      const size_t size = f.bitmap.size();
      for (size_t j = 0; j < n; ++j) {
        const uint32_t r = s[j];
        const uint32_t id = ids[r];
        s[out] = r;
        out += (id < size && bm[id]) ? 1 : 0;
      }
      break;
    }
    case CompiledFilter::Kind::kValue:
      for (size_t j = 0; j < n; ++j) {
        const uint32_t r = s[j];
        s[out] = r;
        out += ValueMatches(f, b.value[r]) ? 1 : 0;
      }
      break;
    case CompiledFilter::Kind::kEventId:
      for (size_t j = 0; j < n; ++j) {
        const uint32_t r = s[j];
        s[out] = r;
        out += EventIdMatches(f, b.event_id[r]) ? 1 : 0;
      }
      break;
    case CompiledFilter::Kind::kProperty: {
      std::string key_scratch;
      for (size_t j = 0; j < n; ++j) {
        const uint32_t r = s[j];
        const PropValue v = FindProperty(b.properties[r], f.property, &key_scratch);
        s[out] = r;
        out += PropertyMatches(f, v, scratch) ? 1 : 0;
      }
      break;
    }
  }
  sel->resize(out);
}

void ApplyFilters(const std::vector<CompiledFilter>& fs, const ColumnBatch& b, Sel* sel,
                  std::string* scratch) {
  for (const CompiledFilter& f : fs) {
    if (sel->empty()) return;
    ApplyFilter(f, b, sel, scratch);
  }
}

Result<std::vector<CompiledFilter>> CompileFilters(const std::vector<Filter>& fs,
                                                   const TenantSnapshot& snap, ColumnSet* cols) {
  std::vector<CompiledFilter> out;
  for (const Filter& f : fs) {
    CA_ASSIGN_OR_RETURN(CompiledFilter c, CompileFilter(f, snap));
    AddColumns(c, cols);
    out.push_back(std::move(c));
  }
  return out;
}

// An event type plus its filters, compiled.
struct CompiledMatcher {
  bool never = false;
  bool any_type = false;  // event "*"
  uint32_t type_id = 0;
  std::vector<CompiledFilter> filters;

  // Keeps the rows of `sel` that match.
  void Apply(const ColumnBatch& b, Sel* sel, std::string* scratch) const {
    if (never) {
      sel->clear();
      return;
    }
    if (any_type) {
      ApplyFilters(filters, b, sel, scratch);
      return;
    }
    const uint32_t* types = b.Ids(Column::kType).data();
    size_t out = 0;
    uint32_t* s = sel->data();
    for (size_t j = 0, n = sel->size(); j < n; ++j) {
      const uint32_t r = s[j];
      s[out] = r;
      out += types[r] == type_id ? 1 : 0;
    }
    sel->resize(out);
    ApplyFilters(filters, b, sel, scratch);
  }
};

Result<CompiledMatcher> CompileMatcher(const EventMatcher& m, const TenantSnapshot& snap,
                                       ColumnSet* cols) {
  CompiledMatcher c;
  if (m.event == kAnyEvent) {
    c.any_type = true;
  } else {
    cols->Add(Column::kType);
    const std::optional<uint32_t> id = snap.Lookup(Column::kType, m.event);
    if (!id.has_value() || *id == 0) c.never = true;
    c.type_id = id.value_or(0);
  }
  CA_ASSIGN_OR_RETURN(c.filters, CompileFilters(m.filters, snap, cols));
  return c;
}

// ---- The scan common to every kind.

struct Scan {
  const TenantSnapshot& snap;
  const QuerySpec& spec;
  Deadline deadline;
  size_t memory_limit;
  std::vector<CompiledFilter> global;
  ColumnSet columns{Column::kTimestamp};
  std::optional<uint32_t> user;
  std::string scratch;

  Scan(const TenantSnapshot& s, const QuerySpec& q, const ExecOptions& o)
      : snap(s), spec(q), deadline(q.timeout_ms), memory_limit(o.max_memory_bytes) {}

  Status Init() {
    CA_ASSIGN_OR_RETURN(global, CompileFilters(spec.filters, snap, &columns));
    for (const Filter& f : spec.filters) {
      if (f.field == Column::kUser && (f.op == FilterOp::kEq || f.op == FilterOp::kIn) &&
          f.values.size() == 1) {
        const auto* s = std::get_if<std::string>(&f.values[0]);
        if (s == nullptr) continue;
        const std::optional<uint32_t> id = snap.Lookup(Column::kUser, *s);
        if (id.has_value() && *id != 0) user = *id;
      }
    }
    return Status::Ok();
  }

  // Scans [from, to): calls fn(batch, sel) with the rows of the range, before global filters
  // when `raw`, after them otherwise.
  template <typename Fn>
  Status Run(int64_t from, int64_t to, Fn&& fn) {
    store::ScanRequest req;
    req.from_ms = from;
    req.to_ms = to;
    req.columns = columns;
    req.user = user;
    Sel sel;
    return snap.Scan(req, [&](const ColumnBatch& b) -> Status {
      CA_RETURN_IF_ERROR(deadline.Check());
      const size_t n = b.size();
      sel.resize(n);
      const int64_t* ts = b.timestamp.data();
      size_t out = 0;
      for (size_t r = 0; r < n; ++r) {
        sel[out] = static_cast<uint32_t>(r);
        out += (ts[r] >= from && ts[r] < to) ? 1 : 0;
      }
      sel.resize(out);
      return fn(b, sel);
    });
  }
};

// Index of the bucket of a timestamp: remembers the last bucket (rows tend to come in time
// order), else binary search over the bucket starts.
class BucketFinder {
 public:
  explicit BucketFinder(const Buckets& b) : starts_(b.starts()) {
    ends_.reserve(b.size());
    for (size_t i = 0; i < b.size(); ++i) ends_.push_back(b.end(i));
  }
  /// -1 outside every bucket.
  int32_t Find(int64_t ts) {
    if (ts >= starts_[cur_] && ts < ends_[cur_]) return static_cast<int32_t>(cur_);
    const auto it = std::upper_bound(starts_.begin(), starts_.end(), ts);
    if (it == starts_.begin()) return -1;
    const size_t i = static_cast<size_t>(it - starts_.begin()) - 1;
    if (ts >= ends_[i]) return -1;
    cur_ = i;
    return static_cast<int32_t>(i);
  }

 private:
  const std::vector<int64_t>& starts_;
  std::vector<int64_t> ends_;
  size_t cur_ = 0;
};

int64_t NearestRank(size_t n, int p) {
  const int64_t rank = (static_cast<int64_t>(p) * static_cast<int64_t>(n) + 99) / 100;
  return std::max<int64_t>(rank, 1);
}

// The p-th percentile of `v` (non-empty); reorders `v`.
template <typename T>
T Percentile(std::vector<T>* v, int p) {
  const auto k = static_cast<size_t>(NearestRank(v->size(), p) - 1);
  std::nth_element(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(k), v->end());
  return (*v)[k];
}

int PercentOf(Math m) { return m == Math::kP50 ? 50 : m == Math::kP90 ? 90 : 99; }

bool IsPercentile(Math m) { return m == Math::kP50 || m == Math::kP90 || m == Math::kP99; }

bool UsesValue(Math m) { return m != Math::kCount && m != Math::kUniqueUsers; }

// ---- trends

constexpr int64_t kDayMs = 86'400'000;

// count: a = events. sum/avg: a = values, s = sum. min/max: a = values, s = min/max.
struct Cell {
  int64_t a = 0;
  double s = 0;
};

void AddValue(Math m, Cell* c, double v) {
  switch (m) {
    case Math::kSum:
    case Math::kAvg:
      c->s += v;
      break;
    case Math::kMin:
      c->s = c->a == 0 ? v : std::min(c->s, v);
      break;
    case Math::kMax:
      c->s = c->a == 0 ? v : std::max(c->s, v);
      break;
    default:
      break;
  }
  ++c->a;
}

void MergeCell(Math m, Cell* into, const Cell& c) {
  if (m == Math::kCount) {
    into->a += c.a;
    return;
  }
  if (c.a == 0) return;
  switch (m) {
    case Math::kSum:
    case Math::kAvg:
      into->s += c.s;
      break;
    case Math::kMin:
      into->s = into->a == 0 ? c.s : std::min(into->s, c.s);
      break;
    case Math::kMax:
      into->s = into->a == 0 ? c.s : std::max(into->s, c.s);
      break;
    default:
      break;
  }
  into->a += c.a;
}

std::optional<double> CellValue(Math m, const Cell& c) {
  switch (m) {
    case Math::kCount:
      return static_cast<double>(c.a);
    case Math::kSum:
      return c.s;
    case Math::kAvg:
      return c.a == 0 ? std::nullopt : std::optional<double>(c.s / static_cast<double>(c.a));
    case Math::kMin:
    case Math::kMax:
      return c.a == 0 ? std::nullopt : std::optional<double>(c.s);
    default:
      return std::nullopt;
  }
}

struct TrendKey {
  bool is_null = true;
  std::string label;
  int64_t events = 0;
  Cell total;
  std::vector<Cell> cells;      // per bucket (count, sum, avg, min, max)
  std::vector<uint64_t> pairs;  // unique_users: bucket << 32 | user
  size_t pairs_compacted = 0;
  // unique_users without a breakdown: a bitmap of user ids per bucket (dense ids make it small).
  std::vector<uint64_t> bits;
  size_t words = 0;                                 // per bucket
  std::vector<std::pair<uint32_t, double>> values;  // percentiles: (bucket, value)
};

void CompactPairs(std::vector<uint64_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

class TrendsRunner {
 public:
  TrendsRunner(Scan* scan, const TrendsSpec& t) : scan_(*scan), t_(t) {}

  Result<Json> Run() {
    const QuerySpec& spec = scan_.spec;
    CA_ASSIGN_OR_RETURN(Buckets buckets,
                        Buckets::Make(spec.from_ms, spec.to_ms, t_.interval, spec.timezone));
    nb_ = buckets.size();
    // Bitmaps for unique users when there is one key per series and they stay small.
    const size_t user_words = (scan_.snap.DictionarySize(Column::kUser) + 63) / 64;
    use_bitmap_ = !t_.breakdown.has_value() && nb_ * user_words * 8 <= kMaxBitmapBytes;
    CA_RETURN_IF_ERROR(scan_.Init());
    ColumnSet& cols = scan_.columns;
    series_.resize(t_.series.size());
    for (size_t i = 0; i < t_.series.size(); ++i) {
      CA_ASSIGN_OR_RETURN(series_[i].matcher,
                          CompileMatcher(t_.series[i].matcher, scan_.snap, &cols));
      series_[i].math = t_.series[i].math;
      if (series_[i].math == Math::kUniqueUsers) cols.Add(Column::kUser);
      if (UsesValue(series_[i].math)) cols.Add(Column::kValue);
    }
    if (t_.breakdown.has_value()) {
      const Breakdown& bd = *t_.breakdown;
      if (bd.field.has_value()) {
        if (store::IsDictionaryColumn(*bd.field)) {
          dict_breakdown_ = *bd.field;
          cols.Add(*bd.field);
          for (SeriesState& s : series_) {
            s.dict_to_local.assign(scan_.snap.DictionarySize(*bd.field), -1);
          }
        } else if (*bd.field == Column::kEventId) {
          string_breakdown_ = true;
          cols.Add(Column::kEventId);
        } else {
          return Status(ErrorCode::kInvalidQuery, "breakdown needs a string field");
        }
      } else {
        string_breakdown_ = true;
        property_ = bd.property;
        cols.Add(Column::kProperties);
      }
    }

    BucketFinder finder(buckets);
    Sel ssel;
    std::vector<int32_t> bucket_of;
    std::vector<int32_t> key_of;
    // Whole UTC days that part footers summarise need no scan (see UseDayAggregates).
    std::vector<std::pair<int64_t, int64_t>> ranges = {{spec.from_ms, spec.to_ms}};
    if (UseDayAggregates(buckets)) {
      CA_ASSIGN_OR_RETURN(ranges, ApplyDayAggregates(finder));
    }
    auto accumulate = [&](const ColumnBatch& b, Sel& sel) -> Status {
      ApplyFilters(scan_.global, b, &sel, &scan_.scratch);
      if (sel.empty()) return Status::Ok();
      bucket_of.resize(b.size());
      size_t kept = 0;
      for (uint32_t r : sel) {
        const int32_t bucket = finder.Find(b.timestamp[r]);
        bucket_of[r] = bucket;
        sel[kept] = r;
        kept += bucket >= 0 ? 1 : 0;
      }
      sel.resize(kept);
      key_of.resize(b.size());
      for (SeriesState& s : series_) {
        ssel = sel;
        s.matcher.Apply(b, &ssel, &scan_.scratch);
        if (ssel.empty()) continue;
        CA_RETURN_IF_ERROR(AssignKeys(b, ssel, &s, &key_of));
        Accumulate(b, ssel, bucket_of, key_of, &s);
      }
      block_bytes_ = MemoryInUse();
      return CheckMemory(block_bytes_, scan_.memory_limit);
    };
    for (const auto& [from, to] : ranges) CA_RETURN_IF_ERROR(scan_.Run(from, to, accumulate));

    std::vector<std::string> labels;
    labels.reserve(nb_);
    for (size_t i = 0; i < nb_; ++i) labels.push_back(buckets.Label(i));
    std::vector<TrendsRow> rows;
    for (size_t i = 0; i < series_.size(); ++i) {
      CA_RETURN_IF_ERROR(scan_.deadline.Check());
      RenderSeries(i, &rows);
    }
    return TrendsJson(t_.interval, spec.timezone, labels, rows);
  }

 private:
  struct SeriesState {
    CompiledMatcher matcher;
    Math math = Math::kCount;
    std::vector<int32_t> dict_to_local;
    std::unordered_map<std::string, int32_t> str_to_local;
    int32_t absent_local = -1;
    std::vector<TrendKey> keys;
  };

  // Day aggregates (TenantSnapshot::DayAggregates) answer the query when buckets are UTC days and
  // every series is a count, or the unique users of all events, without filters; a breakdown
  // only by type, of counts.
  bool UseDayAggregates(const Buckets& buckets) const {
    if (t_.interval != Interval::kDay || !scan_.global.empty()) return false;
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (buckets.starts()[i] % kDayMs != 0 || buckets.end(i) % kDayMs != 0) return false;
    }
    const bool by_type = dict_breakdown_ == Column::kType;
    if (t_.breakdown.has_value() && !by_type) return false;
    for (const SeriesState& s : series_) {
      if (!s.matcher.filters.empty() || s.matcher.never) return false;
      if (s.math == Math::kCount) continue;
      if (s.math == Math::kUniqueUsers && s.matcher.any_type && use_bitmap_ && !by_type) continue;
      return false;
    }
    return true;
  }

  // Adds the aggregates of the whole days in range to the series; returns the time ranges still
  // to scan.
  Result<std::vector<std::pair<int64_t, int64_t>>> ApplyDayAggregates(BucketFinder& finder) {
    const QuerySpec& spec = scan_.spec;
    const int64_t first = (spec.from_ms + kDayMs - 1) / kDayMs;
    const int64_t last = spec.to_ms / kDayMs - 1;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    std::vector<store::DayAggregate> days;
    if (first <= last) {
      days = scan_.snap.DayAggregates(static_cast<int32_t>(first), static_cast<int32_t>(last));
    }
    int64_t cursor = spec.from_ms;
    for (const store::DayAggregate& d : days) {
      const int64_t start = int64_t{d.day} * kDayMs;
      if (start > cursor) ranges.emplace_back(cursor, start);
      cursor = start + kDayMs;
      const int32_t bucket = finder.Find(start);
      if (bucket < 0) return Status(ErrorCode::kInternal, "day aggregate outside the buckets");
      for (SeriesState& s : series_) {
        CA_RETURN_IF_ERROR(scan_.deadline.Check());
        if (s.math == Math::kUniqueUsers) {
          if (s.keys.empty()) NewKey(&s, true, "");
          TrendKey& k = s.keys[0];
          k.events += static_cast<int64_t>(d.rows);
          for (uint32_t u : *d.users) {
            if ((u >> 6) >= k.words) GrowBitmap(&k, u);
            k.bits[static_cast<size_t>(bucket) * k.words + (u >> 6)] |= uint64_t{1} << (u & 63);
          }
          continue;
        }
        for (const auto& [type, n] : d.type_counts) {
          if (!s.matcher.any_type && type != s.matcher.type_id) continue;
          int32_t key = 0;
          if (dict_breakdown_.has_value()) {
            if (type >= s.dict_to_local.size()) s.dict_to_local.resize(type + 1, -1);
            key = s.dict_to_local[type];
            if (key < 0) {
              key = NewKey(&s, type == 0, scan_.snap.Name(Column::kType, type));
              s.dict_to_local[type] = key;
            }
          } else if (s.keys.empty()) {
            NewKey(&s, true, "");
          }
          TrendKey& k = s.keys[static_cast<size_t>(key)];
          k.cells[static_cast<size_t>(bucket)].a += static_cast<int64_t>(n);
          k.events += static_cast<int64_t>(n);
          k.total.a += static_cast<int64_t>(n);
        }
      }
    }
    if (cursor < spec.to_ms) ranges.emplace_back(cursor, spec.to_ms);
    return ranges;
  }

  // Widens k's bitmaps so that user id `u` fits (ids past the snapshot's dictionary size are not
  // expected; this keeps the result right if one comes).
  void GrowBitmap(TrendKey* k, uint32_t u) {
    const size_t words = (static_cast<size_t>(u) >> 6) + 1;
    std::vector<uint64_t> bits(nb_ * words, 0);
    for (size_t i = 0; i < nb_; ++i) {
      std::copy_n(k->bits.begin() + static_cast<std::ptrdiff_t>(i * k->words), k->words,
                  bits.begin() + static_cast<std::ptrdiff_t>(i * words));
    }
    k->bits = std::move(bits);
    k->words = words;
  }

  int32_t NewKey(SeriesState* s, bool is_null, std::string_view label) {
    TrendKey k;
    k.is_null = is_null;
    k.label = std::string(label);
    if (s->math == Math::kCount || (UsesValue(s->math) && !IsPercentile(s->math))) {
      k.cells.resize(nb_);
    }
    if (s->math == Math::kUniqueUsers && use_bitmap_) {
      k.words = (scan_.snap.DictionarySize(Column::kUser) + 63) / 64;
      k.bits.assign(nb_ * k.words, 0);
    }
    key_bytes_ += sizeof(TrendKey) + BytesOf(k.cells) + k.label.capacity() + 64;
    s->keys.push_back(std::move(k));
    return static_cast<int32_t>(s->keys.size() - 1);
  }

  Status AssignKeys(const ColumnBatch& b, const Sel& sel, SeriesState* s,
                    std::vector<int32_t>* key_of) {
    int32_t* out = key_of->data();
    if (dict_breakdown_.has_value()) {
      const Column col = *dict_breakdown_;
      const uint32_t* ids = b.Ids(col).data();
      for (uint32_t r : sel) {
        const uint32_t id = ids[r];
        if (id >= s->dict_to_local.size()) s->dict_to_local.resize(id + 1, -1);
        int32_t k = s->dict_to_local[id];
        if (k < 0) {
          k = NewKey(s, id == 0, id == 0 ? std::string_view() : scan_.snap.Name(col, id));
          s->dict_to_local[id] = k;
          CA_RETURN_IF_ERROR(CheckMemory(key_bytes_ + block_bytes_, scan_.memory_limit));
        }
        out[r] = k;
      }
      return Status::Ok();
    }
    if (!string_breakdown_) {
      if (s->keys.empty()) NewKey(s, true, "");
      for (uint32_t r : sel) out[r] = 0;
      return Status::Ok();
    }
    std::string key_scratch;
    std::string value_scratch;
    for (uint32_t r : sel) {
      std::optional<std::string_view> label;
      if (property_.empty()) {
        if (!b.event_id[r].empty()) label = b.event_id[r];
      } else {
        const PropValue v = FindProperty(b.properties[r], property_, &key_scratch);
        if (v.kind == JsonKind::kString) label = StringOf(v, &value_scratch);
      }
      int32_t k;
      if (!label.has_value()) {
        if (s->absent_local < 0) s->absent_local = NewKey(s, true, "");
        k = s->absent_local;
      } else {
        auto it = s->str_to_local.find(std::string(*label));
        if (it == s->str_to_local.end()) {
          k = NewKey(s, false, *label);
          s->str_to_local.emplace(std::string(*label), k);
          CA_RETURN_IF_ERROR(CheckMemory(key_bytes_ + block_bytes_, scan_.memory_limit));
        } else {
          k = it->second;
        }
      }
      out[r] = k;
    }
    return Status::Ok();
  }

  void Accumulate(const ColumnBatch& b, const Sel& sel, const std::vector<int32_t>& bucket_of,
                  const std::vector<int32_t>& key_of, SeriesState* s) {
    const int32_t* bk = bucket_of.data();
    const int32_t* kk = key_of.data();
    TrendKey* keys = s->keys.data();
    switch (s->math) {
      case Math::kCount:
        if (s->keys.size() == 1) {
          Cell* cells = keys[0].cells.data();
          for (uint32_t r : sel) ++cells[bk[r]].a;
          keys[0].events += static_cast<int64_t>(sel.size());
          keys[0].total.a += static_cast<int64_t>(sel.size());
        } else {
          for (uint32_t r : sel) {
            TrendKey& k = keys[kk[r]];
            ++k.cells[bk[r]].a;
            ++k.events;
            ++k.total.a;
          }
        }
        return;
      case Math::kUniqueUsers: {
        const uint32_t* users = b.Ids(Column::kUser).data();
        if (use_bitmap_) {
          TrendKey& k = keys[0];
          k.events += static_cast<int64_t>(sel.size());
          for (uint32_t r : sel) {
            const uint32_t u = users[r];
            if (u == 0) continue;
            if ((u >> 6) >= k.words) GrowBitmap(&k, u);
            k.bits[static_cast<size_t>(bk[r]) * k.words + (u >> 6)] |= uint64_t{1} << (u & 63);
          }
          return;
        }
        for (uint32_t r : sel) {
          TrendKey& k = keys[kk[r]];
          ++k.events;
          if (users[r] == 0) continue;
          k.pairs.push_back(static_cast<uint64_t>(bk[r]) << 32 | users[r]);
        }
        for (TrendKey& k : s->keys) {
          if (k.pairs.size() > 2 * k.pairs_compacted + 4096) {
            CompactPairs(&k.pairs);
            k.pairs_compacted = k.pairs.size();
          }
        }
        return;
      }
      default:
        break;
    }
    const double* values = b.value.data();
    const bool pct = IsPercentile(s->math);
    for (uint32_t r : sel) {
      TrendKey& k = keys[kk[r]];
      ++k.events;
      const double v = values[r];
      if (std::isnan(v)) continue;
      if (pct) {
        k.values.emplace_back(static_cast<uint32_t>(bk[r]), v);
      } else {
        AddValue(s->math, &k.cells[bk[r]], v);
        AddValue(s->math, &k.total, v);
      }
    }
  }

  size_t MemoryInUse() const {
    size_t bytes = 0;
    for (const SeriesState& s : series_) {
      bytes += BytesOf(s.dict_to_local) + BytesOf(s.keys) + s.str_to_local.size() * 64;
      for (const TrendKey& k : s.keys) {
        bytes += BytesOf(k.cells) + BytesOf(k.pairs) + BytesOf(k.values) + BytesOf(k.bits) +
                 k.label.capacity();
      }
    }
    return bytes;
  }

  // The row of one set of keys (one shown value, or all the "other" ones merged).
  TrendsRow RenderRow(size_t index, const SeriesState& s, const std::vector<const TrendKey*>& keys,
                      bool other) {
    TrendsRow row;
    row.index = index;
    row.event = t_.series[index].matcher.event;
    row.math = s.math;
    if (!other && !keys[0]->is_null) row.breakdown = keys[0]->label;
    row.other = other;
    std::vector<std::optional<double>>& values = row.values;
    std::optional<double>& total = row.total;
    if (s.math == Math::kUniqueUsers && use_bitmap_) {
      const TrendKey& k = *keys[0];
      std::vector<uint64_t> all(k.words, 0);
      for (size_t i = 0; i < nb_; ++i) {
        int64_t n = 0;
        const uint64_t* w = k.bits.data() + i * k.words;
        for (size_t j = 0; j < k.words; ++j) {
          n += std::popcount(w[j]);
          all[j] |= w[j];
        }
        values.push_back(static_cast<double>(n));
      }
      int64_t distinct = 0;
      for (uint64_t w : all) distinct += std::popcount(w);
      total = static_cast<double>(distinct);
    } else if (s.math == Math::kUniqueUsers) {
      std::vector<uint64_t> pairs;
      for (const TrendKey* k : keys) pairs.insert(pairs.end(), k->pairs.begin(), k->pairs.end());
      CompactPairs(&pairs);
      std::vector<int64_t> per_bucket(nb_, 0);
      std::vector<uint32_t> users;
      users.reserve(pairs.size());
      for (uint64_t p : pairs) {
        ++per_bucket[p >> 32];
        users.push_back(static_cast<uint32_t>(p));
      }
      std::sort(users.begin(), users.end());
      const auto distinct = std::unique(users.begin(), users.end()) - users.begin();
      for (int64_t c : per_bucket) values.push_back(static_cast<double>(c));
      total = static_cast<double>(distinct);
    } else if (IsPercentile(s.math)) {
      const int p = PercentOf(s.math);
      std::vector<std::vector<double>> per_bucket(nb_);
      std::vector<double> all;
      for (const TrendKey* k : keys) {
        for (const auto& [bucket, v] : k->values) {
          per_bucket[bucket].push_back(v);
          all.push_back(v);
        }
      }
      for (std::vector<double>& v : per_bucket) {
        values.push_back(v.empty() ? std::nullopt : std::optional<double>(Percentile(&v, p)));
      }
      if (!all.empty()) total = Percentile(&all, p);
    } else {
      std::vector<Cell> cells(nb_);
      Cell t;
      for (const TrendKey* k : keys) {
        for (size_t i = 0; i < nb_; ++i) MergeCell(s.math, &cells[i], k->cells[i]);
        MergeCell(s.math, &t, k->total);
      }
      for (const Cell& c : cells) values.push_back(CellValue(s.math, c));
      total = CellValue(s.math, t);
    }
    return row;
  }

  // A series with no matching events has one row with no values (docs/api/query.md).
  void RenderSeries(size_t index, std::vector<TrendsRow>* rows) {
    const SeriesState& s = series_[index];
    std::vector<const TrendKey*> order;
    for (const TrendKey& k : s.keys) {
      if (k.events > 0) order.push_back(&k);
    }
    if (order.empty()) {
      TrendsRow row;
      row.index = index;
      row.event = t_.series[index].matcher.event;
      row.math = s.math;
      rows->push_back(std::move(row));
      return;
    }
    if (!t_.breakdown.has_value()) {
      rows->push_back(RenderRow(index, s, order, false));
      return;
    }
    std::sort(order.begin(), order.end(), [](const TrendKey* a, const TrendKey* b) {
      if (a->events != b->events) return a->events > b->events;
      if (a->is_null != b->is_null) return a->is_null;
      return a->label < b->label;
    });
    const size_t limit = static_cast<size_t>(std::max(t_.breakdown->limit, 1));
    for (size_t i = 0; i < order.size() && i < limit; ++i) {
      rows->push_back(RenderRow(index, s, {order[i]}, false));
    }
    if (order.size() > limit) {
      std::vector<const TrendKey*> rest(order.begin() + static_cast<std::ptrdiff_t>(limit),
                                        order.end());
      rows->push_back(RenderRow(index, s, rest, true));
    }
  }

  Scan& scan_;
  const TrendsSpec& t_;
  size_t nb_ = 0;
  bool use_bitmap_ = false;
  static constexpr size_t kMaxBitmapBytes = size_t{64} << 20;
  std::optional<Column> dict_breakdown_;
  bool string_breakdown_ = false;
  std::string property_;
  std::vector<SeriesState> series_;
  size_t key_bytes_ = 0;    // grows with every new breakdown key
  size_t block_bytes_ = 0;  // everything, as measured after the last block
};

// ---- funnel

struct FunnelTuple {
  uint32_t entity;
  uint32_t mask;
  int64_t ts;
};

Result<Json> RunFunnel(Scan& scan, const FunnelSpec& f) {
  const QuerySpec& spec = scan.spec;
  const size_t n_steps = f.steps.size();
  if (n_steps < 1 || n_steps > 32) return Status(ErrorCode::kInvalidQuery, "bad step count");
  CA_RETURN_IF_ERROR(scan.Init());
  const Column entity_col = f.by == FunnelBy::kUser ? Column::kUser : Column::kApplication;
  ColumnSet& cols = scan.columns;
  cols.Add(entity_col);
  std::vector<CompiledMatcher> steps(n_steps);
  for (size_t i = 0; i < n_steps; ++i) {
    CA_ASSIGN_OR_RETURN(steps[i], CompileMatcher(f.steps[i], scan.snap, &cols));
  }
  // Terminal events of applications (no filters apply to this check).
  const bool by_app = f.by == FunnelBy::kApplication;
  std::vector<uint8_t> terminal_type;
  std::vector<uint8_t> terminal_status;
  uint32_t status_changed = 0;
  std::vector<uint8_t> terminal;
  if (by_app) {
    cols.Add(Column::kType);
    cols.Add(Column::kStatus);
    terminal_type.assign(scan.snap.DictionarySize(Column::kType), 0);
    terminal_status.assign(scan.snap.DictionarySize(Column::kStatus), 0);
    for (std::string_view t : {"offer_accepted", "offer_rejected"}) {
      const auto id = scan.snap.Lookup(Column::kType, t);
      if (id.has_value() && *id != 0 && *id < terminal_type.size()) terminal_type[*id] = 1;
    }
    const auto sc = scan.snap.Lookup(Column::kType, "application_status_changed");
    if (sc.has_value() && *sc != 0) status_changed = *sc;
    for (std::string_view s : {"rejected", "withdrawn", "ghosted"}) {
      const auto id = scan.snap.Lookup(Column::kStatus, s);
      if (id.has_value() && *id != 0 && *id < terminal_status.size()) terminal_status[*id] = 1;
    }
    terminal.assign(scan.snap.DictionarySize(Column::kApplication), 0);
  }
  // A terminal check must see events the global filters drop, so the user pin does not apply.
  if (by_app) scan.user.reset();

  std::vector<FunnelTuple> tuples;
  std::vector<uint32_t> mask;
  Sel ssel;
  Sel fsel;
  CA_RETURN_IF_ERROR(scan.Run(spec.from_ms, spec.to_ms, [&](const ColumnBatch& b, Sel& sel) {
    const uint32_t* ent = b.Ids(entity_col).data();
    if (by_app) {
      const uint32_t* types = b.Ids(Column::kType).data();
      const uint32_t* status = b.Ids(Column::kStatus).data();
      for (uint32_t r : sel) {
        const uint32_t a = ent[r];
        if (a == 0 || a >= terminal.size()) continue;
        const uint32_t t = types[r];
        const bool term = (t < terminal_type.size() && terminal_type[t]) ||
                          (status_changed != 0 && t == status_changed &&
                           status[r] < terminal_status.size() && terminal_status[status[r]]);
        if (term) terminal[a] = 1;
      }
    }
    fsel.clear();
    for (uint32_t r : sel) {
      if (ent[r] != 0) fsel.push_back(r);
    }
    ApplyFilters(scan.global, b, &fsel, &scan.scratch);
    if (fsel.empty()) return Status::Ok();
    mask.assign(b.size(), 0);
    for (size_t k = 0; k < n_steps; ++k) {
      ssel = fsel;
      steps[k].Apply(b, &ssel, &scan.scratch);
      for (uint32_t r : ssel) mask[r] |= uint32_t{1} << k;
    }
    for (uint32_t r : fsel) {
      if (mask[r] != 0) tuples.push_back({ent[r], mask[r], b.timestamp[r]});
    }
    return CheckMemory(BytesOf(tuples) + BytesOf(terminal), scan.memory_limit);
  }));
  std::sort(tuples.begin(), tuples.end(), [](const FunnelTuple& a, const FunnelTuple& b) {
    return a.entity != b.entity ? a.entity < b.entity : a.ts < b.ts;
  });
  CA_RETURN_IF_ERROR(scan.deadline.Check());

  std::vector<int64_t> count(n_steps, 0);
  std::vector<int64_t> dropped(n_steps, 0);
  std::vector<int64_t> in_progress(n_steps, 0);
  std::vector<std::vector<int64_t>> gaps(n_steps);
  std::vector<std::vector<int64_t>> step_ts(n_steps);
  std::vector<int64_t> chain(n_steps);
  std::vector<int64_t> best(n_steps);
  size_t since_check = 0;
  for (size_t i = 0; i < tuples.size();) {
    size_t j = i;
    for (auto& v : step_ts) v.clear();
    while (j < tuples.size() && tuples[j].entity == tuples[i].entity) {
      for (size_t k = 0; k < n_steps; ++k) {
        if (tuples[j].mask & (uint32_t{1} << k)) step_ts[k].push_back(tuples[j].ts);
      }
      ++j;
    }
    const uint32_t entity = tuples[i].entity;
    since_check += j - i;
    i = j;
    if (since_check > 65536) {
      since_check = 0;
      CA_RETURN_IF_ERROR(scan.deadline.Check());
    }
    size_t best_level = 0;
    int64_t prev_t1 = kMinTs;
    for (int64_t t1 : step_ts[0]) {
      if (t1 == prev_t1) continue;
      prev_t1 = t1;
      const int64_t limit = t1 + f.window_ms;
      chain[0] = t1;
      size_t level = 1;
      int64_t t_prev = t1;
      for (size_t k = 1; k < n_steps; ++k) {
        const auto& list = step_ts[k];
        const auto it = std::upper_bound(list.begin(), list.end(), t_prev);
        if (it == list.end() || *it > limit) break;
        t_prev = *it;
        chain[k] = t_prev;
        level = k + 1;
      }
      if (level > best_level) {
        best_level = level;
        std::copy(chain.begin(), chain.begin() + static_cast<std::ptrdiff_t>(level), best.begin());
        if (level == n_steps) break;
      }
    }
    if (best_level == 0) continue;
    for (size_t k = 0; k < best_level; ++k) {
      ++count[k];
      if (k > 0) gaps[k].push_back(best[k] - best[k - 1]);
    }
    if (best_level < n_steps) {
      bool open;
      if (by_app) {
        open = !(entity < terminal.size() && terminal[entity]);
      } else {
        open = best[0] + f.window_ms >= spec.to_ms;
      }
      ++(open ? in_progress : dropped)[best_level - 1];
    }
  }

  std::vector<FunnelStepRow> rows(n_steps);
  for (size_t k = 0; k < n_steps; ++k) {
    FunnelStepRow& row = rows[k];
    row.event = f.steps[k].event;
    row.count = count[k];
    if (k > 0 && !gaps[k].empty()) row.median_ms_from_previous = Percentile(&gaps[k], 50);
    row.dropped = dropped[k];
    row.in_progress = in_progress[k];
  }
  return FunnelJson(f.by, rows);
}

// ---- retention

Result<Json> RunRetention(Scan& scan, const RetentionSpec& rs) {
  const QuerySpec& spec = scan.spec;
  if (rs.periods < 1) return Status(ErrorCode::kInvalidQuery, "periods must be 1..52");
  CA_ASSIGN_OR_RETURN(Buckets buckets,
                      Buckets::Make(spec.from_ms, spec.to_ms, rs.period, spec.timezone));
  const size_t n_cohort_buckets = buckets.size();
  const auto periods = static_cast<size_t>(rs.periods);
  if (periods > 1) {
    CA_RETURN_IF_ERROR(buckets.Extend(periods - 1, n_cohort_buckets + periods));
  }
  CA_RETURN_IF_ERROR(scan.Init());
  ColumnSet& cols = scan.columns;
  cols.Add(Column::kUser);
  CA_ASSIGN_OR_RETURN(CompiledMatcher start, CompileMatcher(rs.start, scan.snap, &cols));
  CA_ASSIGN_OR_RETURN(CompiledMatcher ret, CompileMatcher(rs.ret, scan.snap, &cols));
  const int64_t scan_to = buckets.end(buckets.size() - 1);
  const uint32_t n_users = scan.snap.DictionarySize(Column::kUser);
  std::vector<int64_t> first_start(n_users, std::numeric_limits<int64_t>::max());
  std::vector<uint64_t> returns;  // user << 32 | bucket
  size_t compacted = 0;
  BucketFinder finder(buckets);
  Sel fsel;
  Sel ssel;
  CA_RETURN_IF_ERROR(CheckMemory(BytesOf(first_start), scan.memory_limit));
  CA_RETURN_IF_ERROR(scan.Run(spec.from_ms, scan_to, [&](const ColumnBatch& b, Sel& sel) {
    const uint32_t* users = b.Ids(Column::kUser).data();
    fsel.clear();
    for (uint32_t r : sel) {
      if (users[r] != 0 && users[r] < n_users) fsel.push_back(r);
    }
    ApplyFilters(scan.global, b, &fsel, &scan.scratch);
    if (fsel.empty()) return Status::Ok();
    ssel = fsel;
    start.Apply(b, &ssel, &scan.scratch);
    for (uint32_t r : ssel) {
      const int64_t ts = b.timestamp[r];
      if (ts < spec.to_ms && ts < first_start[users[r]]) first_start[users[r]] = ts;
    }
    if (periods > 1) {
      ssel = fsel;
      ret.Apply(b, &ssel, &scan.scratch);
      for (uint32_t r : ssel) {
        const int32_t bucket = finder.Find(b.timestamp[r]);
        if (bucket < 0) continue;
        returns.push_back(static_cast<uint64_t>(users[r]) << 32 | static_cast<uint32_t>(bucket));
      }
      if (returns.size() > 2 * compacted + 4096) {
        CompactPairs(&returns);
        compacted = returns.size();
      }
    }
    return CheckMemory(BytesOf(first_start) + BytesOf(returns), scan.memory_limit);
  }));
  CompactPairs(&returns);
  CA_RETURN_IF_ERROR(scan.deadline.Check());

  std::vector<int32_t> cohort_of(n_users, -1);
  std::vector<std::vector<int64_t>> values(n_cohort_buckets, std::vector<int64_t>(periods, 0));
  BucketFinder cohort_finder(buckets);
  for (uint32_t u = 1; u < n_users; ++u) {
    if (first_start[u] == std::numeric_limits<int64_t>::max()) continue;
    const int32_t c = cohort_finder.Find(first_start[u]);
    if (c < 0 || static_cast<size_t>(c) >= n_cohort_buckets) continue;
    cohort_of[u] = c;
    ++values[static_cast<size_t>(c)][0];
  }
  for (uint64_t p : returns) {
    const auto u = static_cast<uint32_t>(p >> 32);
    const auto bucket = static_cast<int64_t>(static_cast<uint32_t>(p));
    const int32_t c = cohort_of[u];
    if (c < 0) continue;
    const int64_t n = bucket - c;
    if (n >= 1 && n < static_cast<int64_t>(periods)) {
      ++values[static_cast<size_t>(c)][static_cast<size_t>(n)];
    }
  }
  std::vector<RetentionCohortRow> rows;
  for (size_t c = 0; c < n_cohort_buckets; ++c) {
    if (values[c][0] == 0) continue;
    rows.push_back({buckets.Label(c), std::move(values[c])});
  }
  return RetentionJson(rs.period, rows);
}

// ---- paths

struct PathEvent {
  uint32_t user;
  uint32_t type;
  int64_t ts;
  uint64_t id_prefix;  // first 8 bytes of event_id, big-endian, zero-padded
  uint32_t id_offset;  // into the event-id arena
  uint16_t id_length;
  bool anchor;
};

uint64_t IdPrefix(std::string_view id) {
  uint64_t p = 0;
  for (size_t i = 0; i < 8; ++i) {
    p = p << 8 | (i < id.size() ? static_cast<uint8_t>(id[i]) : 0);
  }
  return p;
}

constexpr size_t kMaxPathDepth = 5;
using PathKey = std::array<uint32_t, kMaxPathDepth + 1>;

struct PathKeyHash {
  size_t operator()(const PathKey& k) const {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (uint32_t v : k) h = (h ^ v) * 0x100000001B3ull + (h >> 29);
    return static_cast<size_t>(h);
  }
};

Result<Json> RunPaths(Scan& scan, const PathsSpec& ps) {
  const QuerySpec& spec = scan.spec;
  const size_t depth =
      static_cast<size_t>(std::clamp(ps.depth, 1, static_cast<int>(kMaxPathDepth)));
  CA_RETURN_IF_ERROR(scan.Init());
  ColumnSet& cols = scan.columns;
  cols.Add(Column::kUser);
  cols.Add(Column::kType);
  cols.Add(Column::kEventId);
  CA_ASSIGN_OR_RETURN(CompiledMatcher anchor, CompileMatcher(ps.anchor, scan.snap, &cols));
  std::vector<PathEvent> events;
  std::string arena;
  std::vector<uint8_t> is_anchor;
  Sel fsel;
  Sel asel;
  CA_RETURN_IF_ERROR(scan.Run(spec.from_ms, spec.to_ms, [&](const ColumnBatch& b, Sel& sel) {
    const uint32_t* users = b.Ids(Column::kUser).data();
    const uint32_t* types = b.Ids(Column::kType).data();
    fsel.clear();
    for (uint32_t r : sel) {
      if (users[r] != 0) fsel.push_back(r);
    }
    ApplyFilters(scan.global, b, &fsel, &scan.scratch);
    if (fsel.empty()) return Status::Ok();
    asel = fsel;
    anchor.Apply(b, &asel, &scan.scratch);
    is_anchor.assign(b.size(), 0);
    for (uint32_t r : asel) is_anchor[r] = 1;
    for (uint32_t r : fsel) {
      const std::string& id = b.event_id[r];
      PathEvent e{users[r], types[r], b.timestamp[r], IdPrefix(id), 0, 0, is_anchor[r] != 0};
      if (id.size() > 8) {
        if (arena.size() + id.size() > std::numeric_limits<uint32_t>::max()) {
          return Status(ErrorCode::kQueryMemoryExceeded, "too many events for paths");
        }
        e.id_offset = static_cast<uint32_t>(arena.size());
        e.id_length = static_cast<uint16_t>(std::min<size_t>(id.size(), 0xFFFF));
        arena.append(id, 0, e.id_length);
      } else {
        e.id_length = static_cast<uint16_t>(id.size());
      }
      events.push_back(e);
    }
    return CheckMemory(BytesOf(events) + arena.capacity(), scan.memory_limit);
  }));
  const auto full_id = [&](const PathEvent& e) {
    return std::string_view(arena).substr(e.id_offset, e.id_length);
  };
  std::sort(events.begin(), events.end(), [&](const PathEvent& a, const PathEvent& b) {
    if (a.user != b.user) return a.user < b.user;
    if (a.ts != b.ts) return a.ts < b.ts;
    if (a.id_prefix != b.id_prefix) return a.id_prefix < b.id_prefix;
    if (a.id_length <= 8 || b.id_length <= 8) return a.id_length < b.id_length;
    return full_id(a) < full_id(b);
  });
  CA_RETURN_IF_ERROR(scan.deadline.Check());

  std::vector<std::unordered_map<PathKey, int64_t, PathKeyHash>> counts(depth + 1);
  const bool next = ps.direction == Direction::kNext;
  size_t since_check = 0;
  for (size_t i = 0; i < events.size();) {
    size_t j = i;
    while (j < events.size() && events[j].user == events[i].user) ++j;
    for (size_t a = i; a < j; ++a) {
      if (!events[a].anchor) continue;
      PathKey key{};
      key[0] = events[a].type;
      for (size_t d = 1; d <= depth; ++d) {
        if (next) {
          if (a + d >= j) break;
          key[d] = events[a + d].type;
        } else {
          if (a < i + d) break;
          key[d] = events[a - d].type;
        }
        ++counts[d][key];
      }
    }
    since_check += j - i;
    if (since_check > 65536) {
      since_check = 0;
      CA_RETURN_IF_ERROR(scan.deadline.Check());
    }
    i = j;
  }

  std::vector<PathRow> rows;
  const TenantSnapshot& snap = scan.snap;
  for (size_t d = 1; d <= depth; ++d) {
    std::vector<std::pair<const PathKey*, int64_t>> ranked;
    ranked.reserve(counts[d].size());
    for (const auto& [k, c] : counts[d]) ranked.emplace_back(&k, c);
    const auto by_rank = [&](const std::pair<const PathKey*, int64_t>& a,
                             const std::pair<const PathKey*, int64_t>& b) {
      if (a.second != b.second) return a.second > b.second;
      for (size_t s = 0; s <= d; ++s) {
        const std::string_view x = snap.Name(Column::kType, (*a.first)[s]);
        const std::string_view y = snap.Name(Column::kType, (*b.first)[s]);
        if (x != y) return x < y;
      }
      return false;
    };
    const size_t shown = std::min(ranked.size(), static_cast<size_t>(std::max(ps.limit, 1)));
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(shown),
                      ranked.end(), by_rank);
    for (size_t i = 0; i < shown; ++i) {
      PathRow row;
      row.depth = static_cast<int>(d);
      for (size_t s = 0; s <= d; ++s) {
        row.steps.emplace_back(snap.Name(Column::kType, (*ranked[i].first)[s]));
      }
      row.count = ranked[i].second;
      rows.push_back(std::move(row));
    }
  }
  return PathsJson(ps.direction, rows);
}

// ---- events

struct KeptEvent {
  int64_t ts = 0;
  std::string event_id;
  int64_t received_at = 0;
  uint32_t type = 0;
  uint32_t user = 0;
  uint32_t anonymous = 0;
  uint32_t session = 0;
  std::string properties;
  std::string context;
};

// True when a is newer than b: (ts, event_id) greater.
bool Newer(int64_t ts_a, std::string_view id_a, int64_t ts_b, std::string_view id_b) {
  return ts_a != ts_b ? ts_a > ts_b : id_a > id_b;
}

Result<Json> RunEvents(Scan& scan, const EventsSpec& es) {
  const QuerySpec& spec = scan.spec;
  const size_t limit = static_cast<size_t>(std::max(es.limit, 1));
  CA_RETURN_IF_ERROR(scan.Init());
  int64_t from = spec.from_ms;
  int64_t to = spec.to_ms;
  if (es.after.has_value()) to = std::min(to, es.after->first + 1);

  // Pass 1, on the timestamp, the event id and the filters' columns only: the oldest
  // (timestamp, event_id) of the page. Pass 2 then decodes the wide columns (properties,
  // context) only from [that timestamp, to): usually the last day's parts, not the whole range.
  {
    scan.columns.Add(Column::kEventId);
    std::vector<std::pair<int64_t, std::string>> keys;  // min-heap: the oldest kept on top
    const auto older_on_top = [](const auto& a, const auto& b) {
      return Newer(a.first, a.second, b.first, b.second);
    };
    CA_RETURN_IF_ERROR(scan.Run(from, to, [&](const ColumnBatch& b, Sel& sel) {
      ApplyFilters(scan.global, b, &sel, &scan.scratch);
      for (uint32_t r : sel) {
        const int64_t ts = b.timestamp[r];
        const std::string& id = b.event_id[r];
        if (es.after.has_value() && !Newer(es.after->first, es.after->second, ts, id)) continue;
        if (keys.size() == limit && !Newer(ts, id, keys.front().first, keys.front().second)) {
          continue;
        }
        if (keys.size() == limit) {
          std::pop_heap(keys.begin(), keys.end(), older_on_top);
          keys.back() = {ts, id};
        } else {
          keys.emplace_back(ts, id);
        }
        std::push_heap(keys.begin(), keys.end(), older_on_top);
      }
      return Status::Ok();
    }));
    if (keys.size() == limit) from = std::max(from, keys.front().first);
  }
  for (Column c : {Column::kReceivedAt, Column::kType, Column::kUser, Column::kAnonymous,
                   Column::kSession, Column::kProperties, Column::kContext}) {
    scan.columns.Add(c);
  }

  // Min-heap by (ts, event_id): the oldest kept row on top.
  std::vector<KeptEvent> heap;
  const auto older_on_top = [](const KeptEvent& a, const KeptEvent& b) {
    return Newer(a.ts, a.event_id, b.ts, b.event_id);
  };
  CA_RETURN_IF_ERROR(scan.Run(from, to, [&](const ColumnBatch& b, Sel& sel) {
    ApplyFilters(scan.global, b, &sel, &scan.scratch);
    for (uint32_t r : sel) {
      const int64_t ts = b.timestamp[r];
      const std::string& id = b.event_id[r];
      if (es.after.has_value() && !Newer(es.after->first, es.after->second, ts, id)) continue;
      if (heap.size() == limit && !Newer(ts, id, heap.front().ts, heap.front().event_id)) continue;
      KeptEvent row{ts,
                    id,
                    b.received_at[r],
                    b.Ids(Column::kType)[r],
                    b.Ids(Column::kUser)[r],
                    b.Ids(Column::kAnonymous)[r],
                    b.Ids(Column::kSession)[r],
                    b.properties[r],
                    b.context[r]};
      if (heap.size() == limit) {
        std::pop_heap(heap.begin(), heap.end(), older_on_top);
        heap.back() = std::move(row);
      } else {
        heap.push_back(std::move(row));
      }
      std::push_heap(heap.begin(), heap.end(), older_on_top);
    }
    return Status::Ok();
  }));
  std::sort_heap(heap.begin(), heap.end(), older_on_top);
  const TenantSnapshot& snap = scan.snap;
  std::vector<EventRow> rows;
  rows.reserve(heap.size());
  for (KeptEvent& e : heap) {
    EventRow row;
    row.event_id = e.event_id;
    row.type = std::string(snap.Name(Column::kType, e.type));
    row.user_id = std::string(snap.Name(Column::kUser, e.user));
    row.anonymous_id = std::string(snap.Name(Column::kAnonymous, e.anonymous));
    row.session_id = std::string(snap.Name(Column::kSession, e.session));
    row.timestamp_ms = e.ts;
    row.received_at_ms = e.received_at;
    row.properties_json = std::move(e.properties);
    row.context_json = std::move(e.context);
    rows.push_back(std::move(row));
  }
  std::optional<std::string> next_cursor;
  if (heap.size() == limit) next_cursor = EncodeCursor(heap.back().ts, heap.back().event_id);
  return EventsJson(rows, next_cursor);
}

}  // namespace

Result<nlohmann::json> Execute(const store::TenantSnapshot& snapshot, const QuerySpec& spec,
                               const ExecOptions& options) {
  if (spec.to_ms <= spec.from_ms) return Status(ErrorCode::kInvalidQuery, "to must be after from");
  Scan scan(snapshot, spec, options);
  switch (spec.kind.index()) {
    case 0: {
      TrendsRunner runner(&scan, std::get<TrendsSpec>(spec.kind));
      return runner.Run();
    }
    case 1:
      return RunFunnel(scan, std::get<FunnelSpec>(spec.kind));
    case 2:
      return RunRetention(scan, std::get<RetentionSpec>(spec.kind));
    case 3:
      return RunPaths(scan, std::get<PathsSpec>(spec.kind));
    case 4:
      return RunEvents(scan, std::get<EventsSpec>(spec.kind));
    default:
      return Status(ErrorCode::kInvalidQuery, "unknown kind");
  }
}

}  // namespace ca::query
