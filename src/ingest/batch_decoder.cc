#include "ingest/batch_decoder.h"

#include <openssl/rand.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>

#include "base/random.h"
#include "event/json_string.h"
#include "event/timestamp.h"

namespace ca::ingest {
namespace {

namespace dom = simdjson::dom;
using simdjson::dom::element_type;

/// The value of an element whose JSON type the caller has already checked.
template <auto Getter>
auto As(const dom::element& e) {
  auto result = (e.*Getter)();
  assert(result.error() == simdjson::SUCCESS);
  return std::move(result).value_unsafe();
}

/// Counts the bytes the minified JSON would take, stopping once over `limit`.
struct CountingSink {
  size_t bytes = 0;
  size_t limit = 0;

  bool Stopped() const { return bytes > limit; }
  void Char(char) { ++bytes; }
  void Literal(std::string_view s) { bytes += s.size(); }
  void String(std::string_view s) { bytes += event::JsonStringSize(s); }
  void Number(std::string_view digits) { bytes += digits.size(); }
};

/// Appends the minified JSON to a string.
struct AppendSink {
  std::string* out;

  bool Stopped() const { return false; }
  void Char(char c) { out->push_back(c); }
  void Literal(std::string_view s) { out->append(s); }
  void Number(std::string_view digits) { out->append(digits); }
  void String(std::string_view s) { event::AppendJsonString(s, out); }
};

/// Explicit stacks for the iterative JSON walk (reused across events and batches).
struct WalkStack {
  struct ObjectFrame {
    dom::object::iterator it, end;
    bool first;
  };
  struct ArrayFrame {
    dom::array::iterator it, end;
    bool first;
  };
  std::vector<bool> is_object;
  std::vector<ObjectFrame> objects;
  std::vector<ArrayFrame> arrays;

  void Clear() {
    is_object.clear();
    objects.clear();
    arrays.clear();
  }
};

/// Writes `root` as minified JSON into `sink` without recursion; returns the nesting depth of
/// `root` (a scalar is 0, `{}` is 1). Output is byte-identical to simdjson::minify.
///
/// Hand-written rather than simdjson::minify because the same walk measures the depth and the
/// exact size (counting without writing, with early exit) for the per-event limits, never
/// recurses, and appends to a reused buffer instead of allocating a builder per call.
template <class Sink>
int WalkJson(dom::element root, Sink& sink, WalkStack& stack) {
  stack.Clear();
  int max_depth = 0;
  auto open = [&](dom::element v) {
    char buf[32];
    switch (v.type()) {
      case element_type::ARRAY: {
        dom::array a;
        a = As<&dom::element::get_array>(v);
        sink.Char('[');
        max_depth = std::max(max_depth, static_cast<int>(stack.is_object.size()) + 1);
        stack.is_object.push_back(false);
        stack.arrays.push_back({a.begin(), a.end(), true});
        break;
      }
      case element_type::OBJECT: {
        dom::object o;
        o = As<&dom::element::get_object>(v);
        sink.Char('{');
        max_depth = std::max(max_depth, static_cast<int>(stack.is_object.size()) + 1);
        stack.is_object.push_back(true);
        stack.objects.push_back({o.begin(), o.end(), true});
        break;
      }
      case element_type::STRING: {
        std::string_view s;
        s = As<&dom::element::get_string>(v);
        sink.String(s);
        break;
      }
      case element_type::INT64: {
        int64_t x = 0;
        x = As<&dom::element::get_int64>(v);
        sink.Number(std::string_view(buf, std::to_chars(buf, buf + sizeof(buf), x).ptr - buf));
        break;
      }
      case element_type::UINT64: {
        uint64_t x = 0;
        x = As<&dom::element::get_uint64>(v);
        sink.Number(std::string_view(buf, std::to_chars(buf, buf + sizeof(buf), x).ptr - buf));
        break;
      }
      case element_type::DOUBLE: {
        double x = 0;
        x = As<&dom::element::get_double>(v);
        // simdjson's own shortest-round-trip formatter, so that output matches simdjson::minify.
        char* end = simdjson::internal::to_chars(buf, buf + sizeof(buf), x);
        sink.Number(std::string_view(buf, end - buf));
        break;
      }
      case element_type::BOOL: {
        bool b = false;
        b = As<&dom::element::get_bool>(v);
        sink.Literal(b ? "true" : "false");
        break;
      }
      case element_type::NULL_VALUE:
        sink.Literal("null");
        break;
    }
  };

  open(root);
  while (!stack.is_object.empty() && !sink.Stopped()) {
    if (stack.is_object.back()) {
      WalkStack::ObjectFrame& f = stack.objects.back();
      if (!(f.it != f.end)) {
        sink.Char('}');
        stack.objects.pop_back();
        stack.is_object.pop_back();
        continue;
      }
      if (!f.first) sink.Char(',');
      f.first = false;
      dom::key_value_pair kv = *f.it;
      ++f.it;  // before open(), which may reallocate `objects`
      sink.String(kv.key);
      sink.Char(':');
      open(kv.value);
    } else {
      WalkStack::ArrayFrame& f = stack.arrays.back();
      if (!(f.it != f.end)) {
        sink.Char(']');
        stack.arrays.pop_back();
        stack.is_object.pop_back();
        continue;
      }
      if (!f.first) sink.Char(',');
      f.first = false;
      dom::element v = *f.it;
      ++f.it;
      open(v);
    }
  }
  return max_depth;
}

/// UUIDv4 strings from a per-thread buffer of CSPRNG bytes (one RAND_bytes call per 256 ids).
class UuidSource {
 public:
  void Next(std::string* out) {
    if (pos_ + 16 > sizeof(buf_)) {
      if (RAND_bytes(buf_, sizeof(buf_)) != 1) {
        *out = RandomUuid();  // reports the broken entropy source the base way
        return;
      }
      pos_ = 0;
    }
    uint8_t b[16];
    std::memcpy(b, buf_ + pos_, 16);
    pos_ += 16;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    static constexpr char kHex[] = "0123456789abcdef";
    char text[36];
    size_t n = 0;
    for (int i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) text[n++] = '-';
      text[n++] = kHex[b[i] >> 4];
      text[n++] = kHex[b[i] & 15];
    }
    out->assign(text, 36);
  }

 private:
  uint8_t buf_[4096];
  size_t pos_ = sizeof(buf_);
};

struct ThreadState {
  dom::parser parser;
  WalkStack stack;
  UuidSource uuids;
  std::string properties;  // minified `properties` of the event being decoded
  std::string context;     // minified `context` of the event being decoded
};

ThreadState& State() {
  thread_local ThreadState state;
  return state;
}

/// A reason to reject one event.
struct Reject {
  ErrorCode code;
  std::string message;
};

Reject Rej(ErrorCode code, std::string_view field, std::string_view what) {
  std::string m;
  m.reserve(field.size() + what.size() + 3);
  m.append(field).append(": ").append(what);
  return {code, std::move(m)};
}

/// Present and not JSON null.
bool Has(const dom::element& e) { return e.type() != element_type::NULL_VALUE; }

/// A user, anonymous or session id: a string, or a JSON integer written in decimal (SDKs send
/// numeric ids). `buf` backs the text of numbers. Returns an error code or kOk.
ErrorCode IdText(const dom::element& e, char (&buf)[32], std::string_view* out) {
  switch (e.type()) {
    case element_type::STRING:
      *out = As<&dom::element::get_string>(e);
      return ErrorCode::kOk;
    case element_type::INT64: {
      int64_t x = 0;
      x = As<&dom::element::get_int64>(e);
      *out = std::string_view(buf, std::to_chars(buf, buf + sizeof(buf), x).ptr - buf);
      return ErrorCode::kOk;
    }
    case element_type::UINT64: {
      uint64_t x = 0;
      x = As<&dom::element::get_uint64>(e);
      *out = std::string_view(buf, std::to_chars(buf, buf + sizeof(buf), x).ptr - buf);
      return ErrorCode::kOk;
    }
    case element_type::DOUBLE: {
      // 123.0 or 1e3: accepted when integral and exactly representable.
      double x = 0;
      x = As<&dom::element::get_double>(e);
      if (std::trunc(x) != x || std::fabs(x) > 9007199254740992.0) return ErrorCode::kWrongType;
      *out = std::string_view(
          buf, std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(x)).ptr - buf);
      return ErrorCode::kOk;
    }
    default:
      return ErrorCode::kWrongType;
  }
}

bool ValidEventId(std::string_view id, size_t max_chars) {
  if (id.empty() || id.size() > max_chars) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool IsNumber(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

std::optional<Reject> CheckProperty(const event::PropertySpec& spec, dom::object props,
                                    bool has_props) {
  dom::element v;
  if (!has_props || props.at_key(spec.name).get(v) != simdjson::SUCCESS || !Has(v)) {
    return Rej(ErrorCode::kMissingProperty, "properties." + std::string(spec.name),
               "required property missing");
  }
  auto bad = [&spec](std::string_view what) {
    return Rej(ErrorCode::kInvalidProperty, "properties." + std::string(spec.name), what);
  };
  element_type t = v.type();
  switch (spec.kind) {
    case event::PropertyKind::kString: {
      if (t != element_type::STRING) return bad("must be a string");
      std::string_view s;
      s = As<&dom::element::get_string>(v);
      if (spec.non_empty && s.empty()) return bad("must not be empty");
      if (!spec.allowed_values.empty() &&
          std::find(spec.allowed_values.begin(), spec.allowed_values.end(), s) ==
              spec.allowed_values.end()) {
        return bad("value not allowed");
      }
      return std::nullopt;
    }
    case event::PropertyKind::kNumber: {
      if (!IsNumber(t)) return bad("must be a number");
      if (spec.non_negative) {
        double x = 0;
        x = As<&dom::element::get_double>(v);
        if (x < 0) return bad("must be >= 0");
      }
      return std::nullopt;
    }
    case event::PropertyKind::kBoolean:
      return t == element_type::BOOL ? std::nullopt : std::optional(bad("must be a boolean"));
    case event::PropertyKind::kObject:
      return t == element_type::OBJECT ? std::nullopt : std::optional(bad("must be an object"));
    case event::PropertyKind::kArray:
      return t == element_type::ARRAY ? std::nullopt : std::optional(bad("must be an array"));
  }
  return bad("unknown kind");
}

/// Validates one event element and, when valid, appends it to `batch->events`.
std::optional<Reject> DecodeOneEvent(dom::element ev, const DecodeOptions& opt,
                                     const event::Catalogue& catalogue, ThreadState& ts,
                                     DecodedBatch* batch) {
  dom::object obj;
  if (ev.get_object().get(obj) != simdjson::SUCCESS) {
    return Rej(ErrorCode::kEventNotObject, "event", "must be a JSON object");
  }
  // One pass over the fields: dispatch the known ones (null counts as absent; the last of
  // duplicate keys wins), write properties and context minified into scratch buffers, and add up
  // the event's minified size and depth for the limits below.
  dom::element type_e, id_e, user_e, anon_e, session_e, ts_e, props_e, ctx_e;
  bool has_type = false, has_id = false, has_user = false, has_anon = false, has_session = false,
       has_ts = false, has_props = false, has_ctx = false;
  size_t size = 2;  // {}
  int depth = 1;
  bool first = true;
  for (dom::key_value_pair kv : obj) {
    std::string_view k = kv.key;
    size += (first ? 0 : 1) + event::JsonStringSize(k) + 1;
    first = false;
    element_type t = kv.value.type();
    bool present = t != element_type::NULL_VALUE;
    std::string* scratch = nullptr;
    switch (k.size()) {
      case 4:
        if (k == "type") {
          type_e = kv.value;
          has_type = present;
        }
        break;
      case 7:
        if (k == "user_id") {
          user_e = kv.value;
          has_user = present;
        } else if (k == "context") {
          ctx_e = kv.value;
          has_ctx = present;
          if (t == element_type::OBJECT) scratch = &ts.context;
        }
        break;
      case 8:
        if (k == "event_id") {
          id_e = kv.value;
          has_id = present;
        }
        break;
      case 9:
        if (k == "timestamp") {
          ts_e = kv.value;
          has_ts = present;
        }
        break;
      case 10:
        if (k == "session_id") {
          session_e = kv.value;
          has_session = present;
        } else if (k == "properties") {
          props_e = kv.value;
          has_props = present;
          if (t == element_type::OBJECT) scratch = &ts.properties;
        }
        break;
      case 12:
        if (k == "anonymous_id") {
          anon_e = kv.value;
          has_anon = present;
        }
        break;
      default:
        break;
    }
    if (scratch != nullptr) {
      scratch->clear();
      AppendSink sink{scratch};
      depth = std::max(depth, 1 + WalkJson(kv.value, sink, ts.stack));
      size += scratch->size();
    } else {
      CountingSink counter{0, opt.max_event_bytes};
      depth = std::max(depth, 1 + WalkJson(kv.value, counter, ts.stack));
      size += counter.bytes;
    }
    if (size > opt.max_event_bytes) break;
  }
  if (size > opt.max_event_bytes) {
    return Rej(ErrorCode::kEventTooLarge, "event",
               "larger than " + std::to_string(opt.max_event_bytes) + " bytes");
  }
  if (depth > opt.max_depth) {
    return Rej(ErrorCode::kNestingTooDeep, "event",
               "nested deeper than " + std::to_string(opt.max_depth) + " levels");
  }

  std::string_view type;
  if (!has_type) return Rej(ErrorCode::kMissingField, "type", "required");
  if (type_e.get_string().get(type) != simdjson::SUCCESS) {
    return Rej(ErrorCode::kWrongType, "type", "must be a string");
  }
  if (type.empty()) return Rej(ErrorCode::kMissingField, "type", "must not be empty");
  const event::EventTypeSpec* spec = catalogue.Find(type);
  if (spec == nullptr) return Rej(ErrorCode::kUnknownEventType, "type", "unknown event type");

  std::string_view event_id;
  if (has_id && (id_e.get_string().get(event_id) != simdjson::SUCCESS ||
                 !ValidEventId(event_id, opt.max_event_id_chars))) {
    return Rej(ErrorCode::kInvalidEventId, "event_id",
               "must be a string of 1.." + std::to_string(opt.max_event_id_chars) +
                   " printable ASCII characters");
  }

  char user_buf[32], anon_buf[32], session_buf[32];
  std::string_view user_id, anonymous_id, session_id;
  struct IdField {
    bool has;
    const dom::element* e;
    char (*buf)[32];
    std::string_view* out;
    std::string_view name;
  };
  const IdField id_fields[] = {{has_user, &user_e, &user_buf, &user_id, "user_id"},
                               {has_anon, &anon_e, &anon_buf, &anonymous_id, "anonymous_id"},
                               {has_session, &session_e, &session_buf, &session_id, "session_id"}};
  for (const IdField& f : id_fields) {
    if (!f.has) continue;
    if (IdText(*f.e, *f.buf, f.out) != ErrorCode::kOk) {
      return Rej(ErrorCode::kWrongType, f.name, "must be a string or an integer");
    }
    if (f.out->size() > opt.max_id_chars) {
      return Rej(ErrorCode::kFieldTooLong, f.name,
                 "longer than " + std::to_string(opt.max_id_chars) + " bytes");
    }
  }
  if (user_id.empty() && anonymous_id.empty()) {
    return Rej(ErrorCode::kMissingField, "user_id", "user_id or anonymous_id required (non-empty)");
  }

  int64_t timestamp_ms = opt.received_at_ms;
  if (has_ts) {
    switch (ts_e.type()) {
      case element_type::STRING: {
        std::string_view text;
        text = As<&dom::element::get_string>(ts_e);
        Result<int64_t> parsed = event::ParseIso8601Millis(text);
        if (!parsed.ok()) {
          return Rej(ErrorCode::kInvalidTimestamp, "timestamp", parsed.status().message());
        }
        timestamp_ms = *parsed;
        break;
      }
      case element_type::INT64:
        timestamp_ms = As<&dom::element::get_int64>(ts_e);
        break;
      case element_type::UINT64:
      case element_type::DOUBLE:
        timestamp_ms = -1;  // out of range or not an integer
        break;
      default:
        return Rej(ErrorCode::kWrongType, "timestamp",
                   "must be an ISO-8601 string or integer epoch milliseconds");
    }
    if (timestamp_ms < 0 || timestamp_ms > event::kMaxTimestampMs) {
      return Rej(ErrorCode::kInvalidTimestamp, "timestamp",
                 "must be integer epoch milliseconds within 1970..9999");
    }
  }

  dom::object props, ctx;
  if (has_props && props_e.get_object().get(props) != simdjson::SUCCESS) {
    return Rej(ErrorCode::kWrongType, "properties", "must be an object");
  }
  if (has_ctx && ctx_e.get_object().get(ctx) != simdjson::SUCCESS) {
    return Rej(ErrorCode::kWrongType, "context", "must be an object");
  }
  for (const event::PropertySpec& p : spec->required) {
    if (auto r = CheckProperty(p, props, has_props)) return r;
  }

  event::Event& e = batch->events.emplace_back();
  e.tenant.assign(opt.tenant);
  if (has_id) {
    e.event_id.assign(event_id);
  } else {
    ts.uuids.Next(&e.event_id);
    e.flags |= event::kFlagGeneratedId;
  }
  e.type.assign(type);
  e.user_id.assign(user_id);
  e.anonymous_id.assign(anonymous_id);
  e.session_id.assign(session_id);
  e.timestamp_ms = timestamp_ms;
  if (!has_ts) e.flags |= event::kFlagDefaultTimestamp;
  e.received_at_ms = opt.received_at_ms;
  if (has_props) e.properties_json.assign(ts.properties);
  if (has_ctx) e.context_json.assign(ts.context);
  return std::nullopt;
}

Status ParseError(simdjson::error_code err) {
  switch (err) {
    case simdjson::DEPTH_ERROR:
      return Status(ErrorCode::kNestingTooDeep, "request body nested too deeply");
    case simdjson::MEMALLOC:
      return Status(ErrorCode::kInternal, "out of memory parsing the request body");
    case simdjson::CAPACITY:
      return Status(ErrorCode::kBodyTooLarge, "request body too large to parse");
    default:
      return Status(ErrorCode::kMalformedJson,
                    std::string("request body is not valid JSON: ") + simdjson::error_message(err));
  }
}

}  // namespace

Result<DecodedBatch> DecodeBatch(std::string_view body, const DecodeOptions& opt) {
  ThreadState& ts = State();
  dom::parser& parser = ts.parser;
  size_t body_depth = static_cast<size_t>(std::max(opt.max_body_depth, 1));
  if (parser.max_depth() != body_depth) {
    size_t capacity = std::max<size_t>({parser.capacity(), body.size(), 64});
    if (simdjson::error_code err = parser.allocate(capacity, body_depth)) return ParseError(err);
  }
  dom::element root;
  if (simdjson::error_code err = parser.parse(body.data(), body.size()).get(root)) {
    return ParseError(err);
  }

  DecodedBatch batch;
  dom::array events;
  if (root.type() == element_type::ARRAY) {
    events = As<&dom::element::get_array>(root);
  } else if (root.type() == element_type::OBJECT) {
    bool has_events = false;
    dom::object top;
    top = As<&dom::element::get_object>(root);
    for (dom::key_value_pair kv : top) {
      if (kv.key == "events") {
        if (kv.value.get_array().get(events) != simdjson::SUCCESS) {
          return Status(ErrorCode::kBadRequest, "events: must be an array");
        }
        has_events = true;
      } else if (kv.key == "write_key") {
        std::string_view key;
        if (kv.value.get_string().get(key) != simdjson::SUCCESS) {
          return Status(ErrorCode::kBadRequest, "write_key: must be a string");
        }
        batch.write_key.assign(key);
      } else if (kv.key == "sent_at") {
        std::string_view text;
        int64_t ms = 0;
        if (kv.value.get_string().get(text) == simdjson::SUCCESS) {
          Result<int64_t> parsed = event::ParseIso8601Millis(text);
          if (!parsed.ok()) return Status(ErrorCode::kBadRequest, parsed.status().message());
          batch.sent_at_ms = *parsed;
        } else if (kv.value.get_int64().get(ms) == simdjson::SUCCESS && ms >= 0 &&
                   ms <= event::kMaxTimestampMs) {
          batch.sent_at_ms = ms;
        } else if (Has(kv.value)) {
          return Status(ErrorCode::kBadRequest,
                        "sent_at: must be an ISO-8601 string or integer epoch milliseconds");
        }
      }
    }
    if (!has_events) return Status(ErrorCode::kBadRequest, "events: required");
  } else {
    return Status(ErrorCode::kBadRequest, "request body must be a JSON object or array");
  }

  size_t count = events.size();
  if (count > opt.max_events) {
    return Status(ErrorCode::kTooManyEvents, std::to_string(count) +
                                                 " events in one request (max " +
                                                 std::to_string(opt.max_events) + ")");
  }
  batch.received = static_cast<uint32_t>(count);
  batch.events.reserve(count);
  batch.event_indexes.reserve(count);

  event::Catalogue builtins_only;
  const event::Catalogue& catalogue = opt.catalogue ? *opt.catalogue : builtins_only;
  uint32_t index = 0;
  for (dom::element ev : events) {
    if (std::optional<Reject> r = DecodeOneEvent(ev, opt, catalogue, ts, &batch)) {
      batch.rejected.push_back({index, r->code, std::move(r->message)});
    } else {
      batch.event_indexes.push_back(index);
    }
    ++index;
  }
  return batch;
}

}  // namespace ca::ingest
