#include "query/spec.h"

#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "event/timestamp.h"
#include "query/buckets.h"

namespace ca::query {
namespace {

using Json = nlohmann::json;

constexpr int64_t kDayMs = 86400000;
constexpr int64_t kMaxRangeMs = 1830 * kDayMs;
constexpr int64_t kMaxWindowMs = 365 * kDayMs;
constexpr size_t kMaxFilters = 20;
constexpr size_t kMaxInValues = 100;
constexpr size_t kMaxPropertyName = 64;
constexpr size_t kMaxBuckets = 10000;

Status Error(ErrorCode code, const std::string& path, std::string_view what) {
  std::string m = path;
  if (!m.empty()) m += ": ";
  m += what;
  return Status(code, m);
}

std::string Child(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

std::string Item(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

/// kUnknownField for the first key of `obj` not in `allowed`.
Status CheckKeys(const Json& obj, const std::string& path,
                 const std::vector<std::string_view>& allowed) {
  for (const auto& item : obj.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || item.key() == a;
    if (!known) return Error(ErrorCode::kUnknownField, Child(path, item.key()), "unknown field");
  }
  return Status::Ok();
}

const Json* Find(const Json& obj, std::string_view key) {
  auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &*it;
}

/// An integer in [lo, hi]; kInvalidQuery otherwise (floats are not integers here).
Result<int64_t> GetInt(const Json& v, const std::string& path, int64_t lo, int64_t hi) {
  int64_t x = 0;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) {
      return Error(ErrorCode::kInvalidQuery, path, "out of range");
    }
    x = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    x = v.get<int64_t>();
  } else {
    return Error(ErrorCode::kInvalidQuery, path, "expected an integer");
  }
  if (x < lo || x > hi) {
    return Error(ErrorCode::kInvalidQuery, path,
                 "out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return x;
}

/// Optional integer member with a default.
Result<int64_t> GetIntOr(const Json& obj, std::string_view key, const std::string& path, int64_t lo,
                         int64_t hi, int64_t def) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return def;
  return GetInt(*v, Child(path, key), lo, hi);
}

/// Optional string member; nullopt when absent. kInvalidQuery when not a string.
Result<std::optional<std::string>> GetString(const Json& obj, std::string_view key,
                                             const std::string& path) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string())
    return Error(ErrorCode::kInvalidQuery, Child(path, key), "expected a string");
  return std::optional<std::string>(v->get<std::string>());
}

Result<int64_t> ParseTime(const Json& obj, std::string_view key, const std::string& path) {
  const Json* v = Find(obj, key);
  std::string p = Child(path, key);
  if (v == nullptr) return Error(ErrorCode::kInvalidQuery, p, "missing");
  if (v->is_string()) {
    auto t = event::ParseIso8601Millis(v->get<std::string>());
    if (!t.ok()) return Error(ErrorCode::kInvalidQuery, p, t.status().message());
    return *t;
  }
  if (v->is_number_integer() || v->is_number_unsigned()) {
    return GetInt(*v, p, 0, event::kMaxTimestampMs);
  }
  return Error(ErrorCode::kInvalidQuery, p, "expected an ISO-8601 string or epoch milliseconds");
}

bool IsValidPropertyName(std::string_view name) {
  if (name.empty() || name.size() > kMaxPropertyName) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '$' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/// What a filter targets, for checking its operator and values.
enum class Target { kString, kNumber, kProperty };

Result<Literal> ParseLiteral(const Json& v, const std::string& path, Target target, FilterOp op) {
  auto bad = [&](std::string_view what) { return Error(ErrorCode::kInvalidFilter, path, what); };
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (target == Target::kNumber) return bad("expected a number");
    if (op == FilterOp::kGt || op == FilterOp::kLt) return bad("expected a number");
    if (target == Target::kString && s.empty()) return bad("empty string");
    return Literal(std::move(s));
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (!std::isfinite(d)) return bad("number out of range");
    if (target == Target::kString) return bad("expected a string");
    if (op == FilterOp::kContains) return bad("expected a string");
    return Literal(d);
  }
  if (v.is_boolean()) {
    if (target != Target::kProperty) return bad("booleans only compare with properties");
    if (op != FilterOp::kEq && op != FilterOp::kNeq && op != FilterOp::kIn) {
      return bad("expected a " + std::string(op == FilterOp::kContains ? "string" : "number"));
    }
    return Literal(v.get<bool>());
  }
  return bad("expected a string, number or boolean");
}

Result<Filter> ParseFilter(const Json& v, const std::string& path) {
  if (!v.is_object()) return Error(ErrorCode::kInvalidFilter, path, "expected an object");
  CA_RETURN_IF_ERROR(CheckKeys(v, path, {"field", "property", "op", "value"}));
  Filter f;
  const Json* field = Find(v, "field");
  const Json* property = Find(v, "property");
  if ((field == nullptr) == (property == nullptr)) {
    return Error(ErrorCode::kInvalidFilter, path, "exactly one of field and property is required");
  }
  Target target = Target::kProperty;
  if (field != nullptr) {
    std::string p = Child(path, "field");
    if (!field->is_string()) return Error(ErrorCode::kInvalidFilter, p, "expected a string");
    std::string name = field->get<std::string>();
    auto c = store::ColumnFromName(name);
    if (!c || !IsFilterableColumn(*c)) {
      return Error(ErrorCode::kUnknownField, p, "unknown field \"" + name + "\"");
    }
    f.field = *c;
    target = *c == store::Column::kValue ? Target::kNumber : Target::kString;
  } else {
    std::string p = Child(path, "property");
    if (!property->is_string() || !IsValidPropertyName(property->get<std::string>())) {
      return Error(ErrorCode::kInvalidFilter, p, "expected 1..64 characters of [A-Za-z0-9_$-]");
    }
    f.property = property->get<std::string>();
  }

  const Json* op = Find(v, "op");
  std::string op_path = Child(path, "op");
  if (op == nullptr) return Error(ErrorCode::kInvalidFilter, op_path, "missing");
  if (!op->is_string()) return Error(ErrorCode::kInvalidFilter, op_path, "expected a string");
  std::string op_name = op->get<std::string>();
  if (op_name == "eq") {
    f.op = FilterOp::kEq;
  } else if (op_name == "neq") {
    f.op = FilterOp::kNeq;
  } else if (op_name == "in") {
    f.op = FilterOp::kIn;
  } else if (op_name == "contains") {
    f.op = FilterOp::kContains;
  } else if (op_name == "gt") {
    f.op = FilterOp::kGt;
  } else if (op_name == "lt") {
    f.op = FilterOp::kLt;
  } else if (op_name == "exists") {
    f.op = FilterOp::kExists;
  } else {
    return Error(ErrorCode::kInvalidFilter, op_path, "unknown operator \"" + op_name + "\"");
  }
  if (target == Target::kString && (f.op == FilterOp::kGt || f.op == FilterOp::kLt)) {
    return Error(ErrorCode::kInvalidFilter, op_path, "gt/lt do not apply to a string field");
  }
  if (target == Target::kNumber && f.op == FilterOp::kContains) {
    return Error(ErrorCode::kInvalidFilter, op_path, "contains does not apply to value");
  }

  const Json* value = Find(v, "value");
  std::string value_path = Child(path, "value");
  if (f.op == FilterOp::kExists) {
    if (value != nullptr)
      return Error(ErrorCode::kInvalidFilter, value_path, "exists takes no value");
    return f;
  }
  if (value == nullptr) return Error(ErrorCode::kInvalidFilter, value_path, "missing");
  if (f.op == FilterOp::kIn) {
    if (!value->is_array() || value->empty() || value->size() > kMaxInValues) {
      return Error(ErrorCode::kInvalidFilter, value_path, "expected an array of 1..100 values");
    }
    for (size_t i = 0; i < value->size(); ++i) {
      CA_ASSIGN_OR_RETURN(Literal lit,
                          ParseLiteral((*value)[i], Item(value_path, i), target, f.op));
      f.values.push_back(std::move(lit));
    }
    return f;
  }
  CA_ASSIGN_OR_RETURN(Literal lit, ParseLiteral(*value, value_path, target, f.op));
  f.values.push_back(std::move(lit));
  return f;
}

Result<std::vector<Filter>> ParseFilters(const Json& obj, const std::string& path) {
  std::vector<Filter> out;
  const Json* v = Find(obj, "filters");
  if (v == nullptr) return out;
  std::string p = Child(path, "filters");
  if (!v->is_array()) return Error(ErrorCode::kInvalidQuery, p, "expected an array");
  if (v->size() > kMaxFilters) return Error(ErrorCode::kInvalidQuery, p, "at most 20 filters");
  for (size_t i = 0; i < v->size(); ++i) {
    CA_ASSIGN_OR_RETURN(Filter f, ParseFilter((*v)[i], Item(p, i)));
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::string> ParseEventName(const Json& obj, const std::string& path) {
  const Json* v = Find(obj, "event");
  std::string p = Child(path, "event");
  if (v == nullptr) return Error(ErrorCode::kInvalidQuery, p, "missing");
  if (!v->is_string() || v->get<std::string>().empty()) {
    return Error(ErrorCode::kInvalidQuery, p, "expected a non-empty string");
  }
  return v->get<std::string>();
}

/// {"event": ..., "filters": [...]}; `keys` lists the allowed keys (others read by the caller).
Result<EventMatcher> ParseMatcher(const Json& v, const std::string& path,
                                  const std::vector<std::string_view>& keys) {
  if (!v.is_object()) return Error(ErrorCode::kInvalidQuery, path, "expected an object");
  CA_RETURN_IF_ERROR(CheckKeys(v, path, keys));
  EventMatcher m;
  CA_ASSIGN_OR_RETURN(m.event, ParseEventName(v, path));
  CA_ASSIGN_OR_RETURN(m.filters, ParseFilters(v, path));
  return m;
}

Result<EventMatcher> ParseRequiredMatcher(const Json& obj, std::string_view key) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return Error(ErrorCode::kInvalidQuery, std::string(key), "missing");
  return ParseMatcher(*v, std::string(key), {"event", "filters"});
}

Result<Interval> ParseIntervalName(const std::string& name, const std::string& path) {
  if (name == "hour") return Interval::kHour;
  if (name == "day") return Interval::kDay;
  if (name == "week") return Interval::kWeek;
  if (name == "month") return Interval::kMonth;
  return Error(ErrorCode::kInvalidInterval, path, "unknown interval \"" + name + "\"");
}

Result<Math> ParseMath(const std::string& name, const std::string& path) {
  static constexpr std::pair<std::string_view, Math> kNames[] = {
      {"count", Math::kCount}, {"unique_users", Math::kUniqueUsers},
      {"sum", Math::kSum},     {"avg", Math::kAvg},
      {"min", Math::kMin},     {"max", Math::kMax},
      {"p50", Math::kP50},     {"p90", Math::kP90},
      {"p99", Math::kP99}};
  for (const auto& [n, m] : kNames) {
    if (n == name) return m;
  }
  return Error(ErrorCode::kInvalidQuery, path, "unknown math \"" + name + "\"");
}

Result<TrendsSpec> ParseTrends(const Json& root) {
  TrendsSpec t;
  CA_ASSIGN_OR_RETURN(auto interval, GetString(root, "interval", ""));
  if (interval) {
    CA_ASSIGN_OR_RETURN(t.interval, ParseIntervalName(*interval, "interval"));
  }
  const Json* series = Find(root, "series");
  if (series == nullptr) return Error(ErrorCode::kInvalidQuery, "series", "missing");
  if (!series->is_array() || series->empty() || series->size() > 10) {
    return Error(ErrorCode::kInvalidQuery, "series", "expected an array of 1..10 series");
  }
  for (size_t i = 0; i < series->size(); ++i) {
    std::string p = Item("series", i);
    const Json& s = (*series)[i];
    Series out;
    CA_ASSIGN_OR_RETURN(out.matcher, ParseMatcher(s, p, {"event", "filters", "math"}));
    CA_ASSIGN_OR_RETURN(auto math, GetString(s, "math", p));
    if (math) {
      CA_ASSIGN_OR_RETURN(out.math, ParseMath(*math, Child(p, "math")));
    }
    t.series.push_back(std::move(out));
  }
  if (const Json* b = Find(root, "breakdown")) {
    if (!b->is_object()) return Error(ErrorCode::kInvalidQuery, "breakdown", "expected an object");
    CA_RETURN_IF_ERROR(CheckKeys(*b, "breakdown", {"field", "property", "limit"}));
    Breakdown bd;
    const Json* field = Find(*b, "field");
    const Json* property = Find(*b, "property");
    if ((field == nullptr) == (property == nullptr)) {
      return Error(ErrorCode::kInvalidQuery, "breakdown",
                   "exactly one of field and property is required");
    }
    if (field != nullptr) {
      if (!field->is_string()) {
        return Error(ErrorCode::kInvalidQuery, "breakdown.field", "expected a string");
      }
      std::string name = field->get<std::string>();
      auto c = store::ColumnFromName(name);
      if (!c || !IsFilterableColumn(*c)) {
        return Error(ErrorCode::kUnknownField, "breakdown.field", "unknown field \"" + name + "\"");
      }
      if (!IsBreakdownColumn(*c)) {
        return Error(ErrorCode::kInvalidQuery, "breakdown.field",
                     "\"" + name + "\" is not a string field with values to group by");
      }
      bd.field = *c;
    } else {
      if (!property->is_string() || !IsValidPropertyName(property->get<std::string>())) {
        return Error(ErrorCode::kInvalidQuery, "breakdown.property",
                     "expected 1..64 characters of [A-Za-z0-9_$-]");
      }
      bd.property = property->get<std::string>();
    }
    CA_ASSIGN_OR_RETURN(int64_t limit, GetIntOr(*b, "limit", "breakdown", 1, 100, 10));
    bd.limit = static_cast<int>(limit);
    t.breakdown = std::move(bd);
  }
  return t;
}

Result<FunnelSpec> ParseFunnel(const Json& root) {
  FunnelSpec f;
  const Json* steps = Find(root, "steps");
  if (steps == nullptr) return Error(ErrorCode::kInvalidQuery, "steps", "missing");
  if (!steps->is_array() || steps->size() < 2 || steps->size() > 10) {
    return Error(ErrorCode::kInvalidQuery, "steps", "expected an array of 2..10 steps");
  }
  for (size_t i = 0; i < steps->size(); ++i) {
    CA_ASSIGN_OR_RETURN(EventMatcher m,
                        ParseMatcher((*steps)[i], Item("steps", i), {"event", "filters"}));
    f.steps.push_back(std::move(m));
  }
  const Json* window = Find(root, "window_ms");
  if (window == nullptr) return Error(ErrorCode::kInvalidQuery, "window_ms", "missing");
  CA_ASSIGN_OR_RETURN(f.window_ms, GetInt(*window, "window_ms", 1000, kMaxWindowMs));
  CA_ASSIGN_OR_RETURN(auto by, GetString(root, "by", ""));
  if (by) {
    if (*by == "user") {
      f.by = FunnelBy::kUser;
    } else if (*by == "application") {
      f.by = FunnelBy::kApplication;
    } else {
      return Error(ErrorCode::kInvalidQuery, "by", "expected \"user\" or \"application\"");
    }
  }
  return f;
}

Result<RetentionSpec> ParseRetention(const Json& root) {
  RetentionSpec r;
  CA_ASSIGN_OR_RETURN(r.start, ParseRequiredMatcher(root, "start_event"));
  CA_ASSIGN_OR_RETURN(r.ret, ParseRequiredMatcher(root, "return_event"));
  CA_ASSIGN_OR_RETURN(auto period, GetString(root, "period", ""));
  if (period) {
    if (*period == "day") {
      r.period = Interval::kDay;
    } else if (*period == "week") {
      r.period = Interval::kWeek;
    } else {
      return Error(ErrorCode::kInvalidInterval, "period",
                   "retention period must be \"day\" or \"week\", not \"" + *period + "\"");
    }
  }
  CA_ASSIGN_OR_RETURN(int64_t periods, GetIntOr(root, "periods", "", 1, 52, 8));
  r.periods = static_cast<int>(periods);
  return r;
}

Result<PathsSpec> ParsePaths(const Json& root) {
  PathsSpec p;
  CA_ASSIGN_OR_RETURN(p.anchor, ParseRequiredMatcher(root, "event"));
  CA_ASSIGN_OR_RETURN(auto direction, GetString(root, "direction", ""));
  if (direction) {
    if (*direction == "next") {
      p.direction = Direction::kNext;
    } else if (*direction == "previous") {
      p.direction = Direction::kPrevious;
    } else {
      return Error(ErrorCode::kInvalidQuery, "direction", "expected \"next\" or \"previous\"");
    }
  }
  CA_ASSIGN_OR_RETURN(int64_t depth, GetIntOr(root, "depth", "", 1, 5, 3));
  CA_ASSIGN_OR_RETURN(int64_t limit, GetIntOr(root, "limit", "", 1, 100, 10));
  p.depth = static_cast<int>(depth);
  p.limit = static_cast<int>(limit);
  return p;
}

Result<EventsSpec> ParseEvents(const Json& root) {
  EventsSpec e;
  CA_ASSIGN_OR_RETURN(int64_t limit, GetIntOr(root, "limit", "", 1, 1000, 100));
  e.limit = static_cast<int>(limit);
  if (const Json* c = Find(root, "cursor"); c != nullptr && !c->is_null()) {
    if (!c->is_string()) return Error(ErrorCode::kInvalidQuery, "cursor", "expected a string");
    auto after = DecodeCursor(c->get<std::string>());
    if (!after.ok()) return after.status().WithContext("cursor");
    e.after = std::move(*after);
  }
  return e;
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

bool IsFilterableColumn(store::Column c) {
  return store::IsDictionaryColumn(c) || c == store::Column::kValue || c == store::Column::kEventId;
}

bool IsBreakdownColumn(store::Column c) { return store::IsDictionaryColumn(c); }

std::string EncodeCursor(int64_t timestamp_ms, std::string_view event_id) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string raw = std::to_string(timestamp_ms);
  raw += ':';
  raw += event_id;
  std::string out;
  out.reserve((raw.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= raw.size(); i += 3) {
    uint32_t n = (uint32_t{static_cast<uint8_t>(raw[i])} << 16) |
                 (uint32_t{static_cast<uint8_t>(raw[i + 1])} << 8) |
                 uint32_t{static_cast<uint8_t>(raw[i + 2])};
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  size_t rest = raw.size() - i;
  if (rest == 1) {
    uint32_t n = uint32_t{static_cast<uint8_t>(raw[i])} << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (rest == 2) {
    uint32_t n = (uint32_t{static_cast<uint8_t>(raw[i])} << 16) |
                 (uint32_t{static_cast<uint8_t>(raw[i + 1])} << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

Result<std::pair<int64_t, std::string>> DecodeCursor(std::string_view cursor) {
  auto bad = [](std::string_view what) { return Status(ErrorCode::kInvalidCursor, what); };
  if (cursor.empty() || cursor.size() > 256 || cursor.size() % 4 == 1) {
    return bad("not a cursor of this API");
  }
  std::string raw;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : cursor) {
    int v = Base64UrlValue(c);
    if (v < 0) return bad("not base64url");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      raw += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return bad("not canonical base64url");
  size_t colon = raw.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= raw.size()) {
    return bad("expected <timestamp>:<event_id>");
  }
  std::string_view ts_text(raw.data(), colon);
  if (ts_text[0] == '+') return bad("bad timestamp");
  int64_t ts = 0;
  auto r = std::from_chars(ts_text.data(), ts_text.data() + ts_text.size(), ts);
  if (r.ec != std::errc() || r.ptr != ts_text.data() + ts_text.size()) {
    return bad("bad timestamp");
  }
  for (size_t i = colon + 1; i < raw.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c < 0x20 || c > 0x7e) return bad("bad event id");
  }
  return std::pair<int64_t, std::string>(ts, raw.substr(colon + 1));
}

Result<QuerySpec> ParseQuerySpec(std::string_view json) {
  Json root = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status(ErrorCode::kMalformedJson, "the query spec is not JSON");
  if (!root.is_object()) return Status(ErrorCode::kInvalidQuery, "the query spec is not an object");

  CA_ASSIGN_OR_RETURN(auto kind, GetString(root, "kind", ""));
  if (!kind) return Error(ErrorCode::kInvalidQuery, "kind", "missing");
  std::vector<std::string_view> keys;
  if (*kind == "trends") {
    keys = {"kind",       "from",     "to",     "timezone", "filters",
            "timeout_ms", "interval", "series", "breakdown"};
  } else if (*kind == "funnel") {
    keys = {"kind", "from", "to", "timezone", "filters", "timeout_ms", "steps", "window_ms", "by"};
  } else if (*kind == "retention") {
    keys = {"kind",       "from",   "to",      "timezone",    "filters",
            "timeout_ms", "period", "periods", "start_event", "return_event"};
  } else if (*kind == "paths") {
    keys = {"kind",       "from",  "to",        "timezone", "filters",
            "timeout_ms", "event", "direction", "depth",    "limit"};
  } else if (*kind == "events") {
    keys = {"kind", "from", "to", "timezone", "filters", "timeout_ms", "limit", "cursor"};
  } else {
    return Error(ErrorCode::kUnknownField, "kind", "unknown kind \"" + *kind + "\"");
  }
  CA_RETURN_IF_ERROR(CheckKeys(root, "", keys));

  QuerySpec spec;
  CA_ASSIGN_OR_RETURN(spec.from_ms, ParseTime(root, "from", ""));
  CA_ASSIGN_OR_RETURN(spec.to_ms, ParseTime(root, "to", ""));
  if (spec.to_ms <= spec.from_ms) {
    return Error(ErrorCode::kInvalidQuery, "to", "must be after from");
  }
  if (spec.to_ms - spec.from_ms > kMaxRangeMs) {
    return Error(ErrorCode::kRangeTooLarge, "to", "the range spans more than 1830 days");
  }
  CA_ASSIGN_OR_RETURN(auto tz, GetString(root, "timezone", ""));
  if (tz) spec.timezone = *tz;
  {
    // Loads the zone (kInvalidQuery when unknown); month buckets are few and cheap.
    auto check = Buckets::Make(spec.from_ms, spec.to_ms, Interval::kMonth, spec.timezone);
    if (!check.ok()) return check.status().WithContext("timezone");
  }
  CA_ASSIGN_OR_RETURN(spec.timeout_ms, GetIntOr(root, "timeout_ms", "", 1, 60000, 10000));
  CA_ASSIGN_OR_RETURN(spec.filters, ParseFilters(root, ""));

  if (*kind == "trends") {
    CA_ASSIGN_OR_RETURN(TrendsSpec t, ParseTrends(root));
    auto buckets = Buckets::Make(spec.from_ms, spec.to_ms, t.interval, spec.timezone, kMaxBuckets);
    if (!buckets.ok()) return buckets.status().WithContext("interval");
    spec.kind = std::move(t);
  } else if (*kind == "funnel") {
    CA_ASSIGN_OR_RETURN(spec.kind, ParseFunnel(root));
  } else if (*kind == "retention") {
    CA_ASSIGN_OR_RETURN(RetentionSpec r, ParseRetention(root));
    auto buckets = Buckets::Make(spec.from_ms, spec.to_ms, r.period, spec.timezone, kMaxBuckets);
    if (!buckets.ok()) return buckets.status().WithContext("period");
    spec.kind = std::move(r);
  } else if (*kind == "paths") {
    CA_ASSIGN_OR_RETURN(spec.kind, ParsePaths(root));
  } else {
    CA_ASSIGN_OR_RETURN(spec.kind, ParseEvents(root));
  }
  return spec;
}

}  // namespace ca::query
