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
#include "ingest/parse_error.h"

namespace ca::ingest {
namespace {

/// Read-only access to the tape of a parsed simdjson DOM document, by word index.
///
/// The decoder walks the tape directly instead of through dom::element / dom::object: the walk
/// is a flat loop over 64-bit words with no iterator objects, and one pass both writes the
/// minified text and measures size and depth. Format (simdjson's doc/tape.md, unchanged since
/// 0.3; the layout dom::element reads): each word holds a type character in its top byte and a
/// 56-bit payload. '{' and '[' carry the index just past their closing word in the low 32 bits
/// and the element count (saturated at 0xFFFFFF) in bits 32..55; '"' carries an offset into the
/// string buffer, where a 32-bit length precedes the unescaped bytes; 'l', 'u' and 'd'
/// (int64, uint64, double) keep their value in the next word; 't', 'f', 'n' have no payload.
/// Index 1 is the root value. The byte-identity tests against simdjson::minify pin this down.
///
/// `plain` says that no string of the document needs escaping when written back as JSON; the
/// caller knows this when the body has no backslash, since simdjson rejects unescaped control
/// characters in strings and '"' cannot occur unescaped. Most bodies qualify, and their strings
/// are then copied without a scan.
class Tape {
 public:
  static constexpr size_t kRoot = 1;

  Tape(const simdjson::dom::document& doc, bool plain)
      : words_(doc.tape.get()), strings_(doc.string_buf.get()), plain_(plain) {}

  char Type(size_t i) const { return static_cast<char>(words_[i] >> 56); }

  /// The index of the value that follows the one at `i` (skipping its contents).
  size_t After(size_t i) const {
    switch (Type(i)) {
      case '{':
      case '[':
        return static_cast<uint32_t>(words_[i]);
      case 'l':
      case 'u':
      case 'd':
        return i + 2;
      default:
        return i + 1;
    }
  }

  /// The unescaped text of the string (or object key) at `i`.
  std::string_view String(size_t i) const {
    const uint8_t* p = strings_ + (words_[i] & simdjson::internal::JSON_VALUE_MASK);
    uint32_t length = 0;
    std::memcpy(&length, p, sizeof(length));
    return {reinterpret_cast<const char*>(p + sizeof(length)), length};
  }

  /// The size of String(i) written as a JSON string literal.
  size_t JsonSize(size_t i) const { return JsonSize(String(i)); }
  size_t JsonSize(std::string_view s) const {
    return plain_ ? s.size() + 2 : event::JsonStringSize(s);
  }

  /// Appends String(i) as a JSON string literal, escaped as event::AppendJsonString does.
  void AppendJson(size_t i, std::string* out) const {
    std::string_view s = String(i);
    if (!plain_) return event::AppendJsonString(s, out);
    out->push_back('"');
    out->append(s.data(), s.size());
    out->push_back('"');
  }

  int64_t Int64(size_t i) const { return static_cast<int64_t>(words_[i + 1]); }
  uint64_t Uint64(size_t i) const { return words_[i + 1]; }
  double Double(size_t i) const {
    double x = 0;
    std::memcpy(&x, &words_[i + 1], sizeof(x));
    return x;
  }

  /// The element count of the array at `i` as dom::array::size() reports it.
  size_t Count(size_t i) const { return (words_[i] >> 32) & simdjson::internal::JSON_COUNT_MASK; }

  /// The value of the first `key` of the object at `obj` (as dom::object::at_key), or 0.
  size_t Find(size_t obj, std::string_view key) const {
    for (size_t k = obj + 1; Type(k) != '}'; k = After(k + 1)) {
      if (String(k) == key) return k + 1;
    }
    return 0;
  }

 private:
  const uint64_t* words_;
  const uint8_t* strings_;
  bool plain_;
};

bool IsNumber(char type) { return type == 'l' || type == 'u' || type == 'd'; }

/// The text of the number at `i` as simdjson::minify writes it; `buf` backs the result.
std::string_view NumberText(const Tape& t, size_t i, char (&buf)[32]) {
  char* end = buf;
  switch (t.Type(i)) {
    case 'l':
      end = std::to_chars(buf, buf + sizeof(buf), t.Int64(i)).ptr;
      break;
    case 'u':
      end = std::to_chars(buf, buf + sizeof(buf), t.Uint64(i)).ptr;
      break;
    default:
      // simdjson's own shortest-round-trip formatter, so that output matches simdjson::minify.
      end = simdjson::internal::to_chars(buf, buf + sizeof(buf), t.Double(i));
      break;
  }
  return std::string_view(buf, end - buf);
}

/// The size of the scalar at `i` written as minified JSON.
size_t ScalarSize(const Tape& t, size_t i) {
  char buf[32];
  switch (t.Type(i)) {
    case '"':
      return t.JsonSize(i);
    case 't':
    case 'n':
      return 4;
    case 'f':
      return 5;
    default:
      return NumberText(t, i, buf).size();
  }
}

/// Appends the value at `i` to `out` as minified JSON, byte-identical to simdjson::minify, in one
/// flat loop (no recursion). Returns the nesting depth of the value (a scalar is 0, `{}` is 1).
/// Stops early, with partial output and depth, once it has appended more than `limit` bytes.
/// `is_object` is scratch (one flag per open level, [0] must be false).
int AppendMinified(const Tape& t, size_t i, size_t limit, std::vector<uint8_t>& is_object,
                   std::string* out) {
  const size_t start = out->size();
  size_t depth = 0;
  size_t max_depth = 0;
  bool comma = false;
  char buf[32];
  for (;;) {
    char type = t.Type(i);
    if (is_object[depth] && type != '}') {
      if (comma) out->push_back(',');
      t.AppendJson(i, out);
      out->push_back(':');
      ++i;
      type = t.Type(i);
      comma = false;
    }
    switch (type) {
      case '{':
      case '[':
        if (comma) out->push_back(',');
        out->push_back(type);
        ++depth;
        if (depth == is_object.size()) is_object.push_back(0);
        is_object[depth] = type == '{';
        max_depth = std::max(max_depth, depth);
        comma = false;
        ++i;
        continue;
      case '}':
      case ']':
        out->push_back(type);
        --depth;
        ++i;
        break;
      case '"':
        if (comma) out->push_back(',');
        t.AppendJson(i, out);
        ++i;
        break;
      case 't':
        if (comma) out->push_back(',');
        out->append("true", 4);
        ++i;
        break;
      case 'f':
        if (comma) out->push_back(',');
        out->append("false", 5);
        ++i;
        break;
      case 'n':
        if (comma) out->push_back(',');
        out->append("null", 4);
        ++i;
        break;
      default: {
        assert(IsNumber(type));
        if (comma) out->push_back(',');
        std::string_view digits = NumberText(t, i, buf);
        out->append(digits.data(), digits.size());
        i += 2;
        break;
      }
    }
    comma = true;
    if (depth == 0 || out->size() - start > limit) break;
  }
  return static_cast<int>(max_depth);
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
  simdjson::dom::parser parser;
  UuidSource uuids;
  std::vector<uint8_t> is_object = std::vector<uint8_t>(1, 0);  // AppendMinified scratch
  std::string properties;  // minified `properties` of the event being decoded
  std::string context;     // minified `context` of the event being decoded
  std::string other;       // minified other containers, written only to measure them
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

/// A user, anonymous or session id: a string, or a JSON integer written in decimal (SDKs send
/// numeric ids). `buf` backs the text of numbers. Returns an error code or kOk.
ErrorCode IdText(const Tape& t, size_t i, char (&buf)[32], std::string_view* out) {
  switch (t.Type(i)) {
    case '"':
      *out = t.String(i);
      return ErrorCode::kOk;
    case 'l':
    case 'u':
      *out = NumberText(t, i, buf);
      return ErrorCode::kOk;
    case 'd': {
      // 123.0 or 1e3: accepted when integral and exactly representable.
      double x = t.Double(i);
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

/// Checks one required property of the `properties` object at `props` (0: absent).
std::optional<Reject> CheckProperty(const event::PropertySpec& spec, const Tape& t, size_t props) {
  size_t v = props == 0 ? 0 : t.Find(props, spec.name);
  if (v == 0 || t.Type(v) == 'n') {
    return Rej(ErrorCode::kMissingProperty, "properties." + std::string(spec.name),
               "required property missing");
  }
  auto bad = [&spec](std::string_view what) {
    return Rej(ErrorCode::kInvalidProperty, "properties." + std::string(spec.name), what);
  };
  char type = t.Type(v);
  switch (spec.kind) {
    case event::PropertyKind::kString: {
      if (type != '"') return bad("must be a string");
      std::string_view s = t.String(v);
      if (spec.non_empty && s.empty()) return bad("must not be empty");
      if (!spec.allowed_values.empty() &&
          std::find(spec.allowed_values.begin(), spec.allowed_values.end(), s) ==
              spec.allowed_values.end()) {
        return bad("value not allowed");
      }
      return std::nullopt;
    }
    case event::PropertyKind::kNumber: {
      if (!IsNumber(type)) return bad("must be a number");
      if (spec.non_negative) {
        double x = type == 'l'   ? static_cast<double>(t.Int64(v))
                   : type == 'u' ? static_cast<double>(t.Uint64(v))
                                 : t.Double(v);
        if (x < 0) return bad("must be >= 0");
      }
      return std::nullopt;
    }
    case event::PropertyKind::kBoolean:
      return type == 't' || type == 'f' ? std::nullopt : std::optional(bad("must be a boolean"));
    case event::PropertyKind::kObject:
      return type == '{' ? std::nullopt : std::optional(bad("must be an object"));
    case event::PropertyKind::kArray:
      return type == '[' ? std::nullopt : std::optional(bad("must be an array"));
  }
  return bad("unknown kind");
}

/// Validates the event at tape index `ev` and, when valid, appends it to `batch->events`.
std::optional<Reject> DecodeOneEvent(const Tape& t, size_t ev, const DecodeOptions& opt,
                                     const event::Catalogue& catalogue, ThreadState& ts,
                                     DecodedBatch* batch) {
  if (t.Type(ev) != '{') {
    return Rej(ErrorCode::kEventNotObject, "event", "must be a JSON object");
  }
  // One pass over the fields: dispatch the known ones (null counts as absent; the last of
  // duplicate keys wins), write properties and context minified into scratch buffers, and add up
  // the event's minified size and depth for the limits below. Once the size is over the limit the
  // event is rejected for it whatever else it holds, so the walks stop there.
  size_t type_i = 0, id_i = 0, user_i = 0, anon_i = 0, session_i = 0, ts_i = 0, props_i = 0,
         ctx_i = 0;  // value indexes of the fields present (not null); 0: absent
  size_t size = 2;   // {}
  int depth = 1;
  bool first = true;
  for (size_t k = ev + 1; t.Type(k) != '}'; k = t.After(k + 1)) {
    std::string_view key = t.String(k);
    const size_t v = k + 1;
    size += (first ? 0 : 1) + t.JsonSize(key) + 1;
    first = false;
    const char type = t.Type(v);
    const size_t present = type == 'n' ? 0 : v;
    std::string* scratch = nullptr;
    switch (key.size()) {
      case 4:
        if (key == "type") type_i = present;
        break;
      case 7:
        if (key == "user_id") {
          user_i = present;
        } else if (key == "context") {
          ctx_i = present;
          if (type == '{') scratch = &ts.context;
        }
        break;
      case 8:
        if (key == "event_id") id_i = present;
        break;
      case 9:
        if (key == "timestamp") ts_i = present;
        break;
      case 10:
        if (key == "session_id") {
          session_i = present;
        } else if (key == "properties") {
          props_i = present;
          if (type == '{') scratch = &ts.properties;
        }
        break;
      case 12:
        if (key == "anonymous_id") anon_i = present;
        break;
      default:
        break;
    }
    if (type == '{' || type == '[') {
      if (scratch == nullptr) scratch = &ts.other;
      scratch->clear();
      size_t room = size > opt.max_event_bytes ? 0 : opt.max_event_bytes - size;
      depth = std::max(depth, 1 + AppendMinified(t, v, room, ts.is_object, scratch));
      size += scratch->size();
    } else {
      size += ScalarSize(t, v);
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

  if (type_i == 0) return Rej(ErrorCode::kMissingField, "type", "required");
  if (t.Type(type_i) != '"') return Rej(ErrorCode::kWrongType, "type", "must be a string");
  std::string_view type = t.String(type_i);
  if (type.empty()) return Rej(ErrorCode::kMissingField, "type", "must not be empty");
  const event::EventTypeSpec* spec = catalogue.Find(type);
  if (spec == nullptr) return Rej(ErrorCode::kUnknownEventType, "type", "unknown event type");

  std::string_view event_id;
  if (id_i != 0) {
    if (t.Type(id_i) == '"') event_id = t.String(id_i);
    if (t.Type(id_i) != '"' || !ValidEventId(event_id, opt.max_event_id_chars)) {
      return Rej(ErrorCode::kInvalidEventId, "event_id",
                 "must be a string of 1.." + std::to_string(opt.max_event_id_chars) +
                     " printable ASCII characters");
    }
  }

  char user_buf[32], anon_buf[32], session_buf[32];
  std::string_view user_id, anonymous_id, session_id;
  struct IdField {
    size_t index;
    char (*buf)[32];
    std::string_view* out;
    std::string_view name;
  };
  const IdField id_fields[] = {{user_i, &user_buf, &user_id, "user_id"},
                               {anon_i, &anon_buf, &anonymous_id, "anonymous_id"},
                               {session_i, &session_buf, &session_id, "session_id"}};
  for (const IdField& f : id_fields) {
    if (f.index == 0) continue;
    if (IdText(t, f.index, *f.buf, f.out) != ErrorCode::kOk) {
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
  if (ts_i != 0) {
    switch (t.Type(ts_i)) {
      case '"': {
        Result<int64_t> parsed = event::ParseIso8601Millis(t.String(ts_i));
        if (!parsed.ok()) {
          return Rej(ErrorCode::kInvalidTimestamp, "timestamp", parsed.status().message());
        }
        timestamp_ms = *parsed;
        break;
      }
      case 'l':
        timestamp_ms = t.Int64(ts_i);
        break;
      case 'u':
      case 'd':
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
  // The sender's clock, seen through sent_at, is off by (received_at - sent_at): network
  // transit is counted as skew, which is the SDKs' convention (docs/api/ingest.md "Clocks").
  bool corrected = false;
  if (ts_i != 0 && batch->sent_at_ms && *batch->sent_at_ms != opt.received_at_ms) {
    timestamp_ms += opt.received_at_ms - *batch->sent_at_ms;
    timestamp_ms = std::clamp<int64_t>(timestamp_ms, 0, event::kMaxTimestampMs);
    corrected = true;
  }
  bool clamped = false;
  if (opt.max_future_ms > 0 && timestamp_ms > opt.received_at_ms + opt.max_future_ms) {
    timestamp_ms = opt.received_at_ms;
    clamped = true;
  }
  if (opt.max_late_ms > 0 && timestamp_ms < opt.received_at_ms - opt.max_late_ms) {
    return Rej(ErrorCode::kEventTooOld, "timestamp",
               "older than the tenant's late-event bound of " +
                   std::to_string(opt.max_late_ms / (24LL * 3600 * 1000)) + " days");
  }

  if (props_i != 0 && t.Type(props_i) != '{') {
    return Rej(ErrorCode::kWrongType, "properties", "must be an object");
  }
  if (ctx_i != 0 && t.Type(ctx_i) != '{') {
    return Rej(ErrorCode::kWrongType, "context", "must be an object");
  }
  for (const event::PropertySpec& p : spec->required) {
    if (auto r = CheckProperty(p, t, props_i)) return r;
  }

  event::Event& e = batch->events.emplace_back();
  e.tenant.assign(opt.tenant);
  if (id_i != 0) {
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
  if (ts_i == 0) e.flags |= event::kFlagDefaultTimestamp;
  if (clamped) e.flags |= event::kFlagFutureClamped;
  if (corrected) e.flags |= event::kFlagClockCorrected;
  e.received_at_ms = opt.received_at_ms;
  if (props_i != 0) e.properties_json.assign(ts.properties);
  if (opt.context_headroom > 0) {
    e.context_json.reserve((ctx_i != 0 ? ts.context.size() : 2) + opt.context_headroom);
  }
  if (ctx_i != 0) e.context_json.assign(ts.context);
  return std::nullopt;
}

}  // namespace

Result<DecodedBatch> DecodeBatch(std::string_view body, const DecodeOptions& opt) {
  ThreadState& ts = State();
  simdjson::dom::parser& parser = ts.parser;
  size_t body_depth = static_cast<size_t>(std::max(opt.max_body_depth, 1));
  if (parser.max_depth() != body_depth) {
    size_t capacity = std::max<size_t>({parser.capacity(), body.size(), 64});
    if (simdjson::error_code err = parser.allocate(capacity, body_depth))
      return ParseErrorStatus(err);
  }
  simdjson::dom::element root;
  if (simdjson::error_code err = parser.parse(body.data(), body.size()).get(root)) {
    return ParseErrorStatus(err);
  }
  const Tape t(parser.doc, std::memchr(body.data(), '\\', body.size()) == nullptr);

  DecodedBatch batch;
  size_t events = 0;
  if (t.Type(Tape::kRoot) == '[') {
    events = Tape::kRoot;
  } else if (t.Type(Tape::kRoot) == '{') {
    for (size_t k = Tape::kRoot + 1; t.Type(k) != '}'; k = t.After(k + 1)) {
      std::string_view key = t.String(k);
      const size_t v = k + 1;
      if (key == "events") {
        if (t.Type(v) != '[') return Status(ErrorCode::kBadRequest, "events: must be an array");
        events = v;
      } else if (key == "write_key") {
        if (t.Type(v) != '"') return Status(ErrorCode::kBadRequest, "write_key: must be a string");
        batch.write_key.assign(t.String(v));
      } else if (key == "sent_at") {
        if (t.Type(v) == '"') {
          Result<int64_t> parsed = event::ParseIso8601Millis(t.String(v));
          if (!parsed.ok()) return Status(ErrorCode::kBadRequest, parsed.status().message());
          batch.sent_at_ms = *parsed;
        } else if (t.Type(v) == 'l' && t.Int64(v) >= 0 && t.Int64(v) <= event::kMaxTimestampMs) {
          batch.sent_at_ms = t.Int64(v);
        } else if (t.Type(v) != 'n') {
          return Status(ErrorCode::kBadRequest,
                        "sent_at: must be an ISO-8601 string or integer epoch milliseconds");
        }
      }
    }
    if (events == 0) return Status(ErrorCode::kBadRequest, "events: required");
  } else {
    return Status(ErrorCode::kBadRequest, "request body must be a JSON object or array");
  }

  size_t count = t.Count(events);
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
  for (size_t ev = events + 1; t.Type(ev) != ']'; ev = t.After(ev)) {
    if (std::optional<Reject> r = DecodeOneEvent(t, ev, opt, catalogue, ts, &batch)) {
      batch.rejected.push_back({index, r->code, std::move(r->message), {}});
      if (opt.keep_rejected_raw) {
        ts.is_object.assign(1, 0);
        AppendMinified(t, ev, SIZE_MAX, ts.is_object, &batch.rejected.back().raw);
      }
    } else {
      batch.event_indexes.push_back(index);
    }
    ++index;
  }
  return batch;
}

}  // namespace ca::ingest
