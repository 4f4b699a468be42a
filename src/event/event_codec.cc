#include "event/event_codec.h"

#include "base/varint.h"

#include "event/json_string.h"

#include <cstring>

#include "event/timestamp.h"

namespace ca::event {
namespace {

void PutString(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

void PutFixed64(uint64_t v, std::string* out) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out->append(buf, 8);
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

/// Bounds-checked reader over the payload; every getter fails instead of reading past the end.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool Byte(uint8_t* v) {
    if (pos_ >= data_.size()) return false;
    *v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }

  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      uint64_t b = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && b > 1) return false;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  bool Fixed64(uint64_t* v) {
    if (data_.size() - pos_ < 8) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i)
      r |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += 8;
    *v = r;
    return true;
  }

  bool String(std::string_view* s) {
    uint64_t n;
    if (!Varint(&n) || n > data_.size() - pos_) return false;
    *s = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  bool String(std::string* s) {
    std::string_view v;
    if (!String(&v)) return false;
    s->assign(v);
    return true;
  }

  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

Status Bad(std::string_view what) {
  return Corruption(std::string("event record: ") + std::string(what));
}

bool ReadKey(Reader* r, EventKey* key) {
  uint64_t received;
  if (!r->String(&key->tenant) || !r->String(&key->event_id) || !r->Fixed64(&received)) {
    return false;
  }
  key->received_at_ms = static_cast<int64_t>(received);
  return true;
}

Status CheckType(Reader* r) {
  uint8_t type;
  if (!r->Byte(&type)) return Bad("empty payload");
  if (type != kRecordTypeEventV1) return Bad("unknown record type " + std::to_string(type));
  return Status::Ok();
}

}  // namespace

void EncodeEvent(const Event& e, std::string* out) {
  out->push_back(static_cast<char>(kRecordTypeEventV1));
  PutString(e.tenant, out);
  PutString(e.event_id, out);
  PutFixed64(static_cast<uint64_t>(e.received_at_ms), out);
  PutVarint(e.flags, out);
  // Wrapping subtraction: the event time is usually close to the receive time.
  PutVarint(ZigZag(static_cast<int64_t>(static_cast<uint64_t>(e.timestamp_ms) -
                                        static_cast<uint64_t>(e.received_at_ms))),
            out);
  PutString(e.type, out);
  PutString(e.user_id, out);
  PutString(e.anonymous_id, out);
  PutString(e.session_id, out);
  PutString(e.properties_json, out);
  PutString(e.context_json, out);
}

Status DecodeEventHeadInto(std::string_view payload, Event* out, std::string_view* properties,
                           std::string_view* context) {
  Reader r(payload);
  CA_RETURN_IF_ERROR(CheckType(&r));
  EventKey key;
  if (!ReadKey(&r, &key)) return Bad("truncated key");
  Event& e = *out;
  e.tenant.assign(key.tenant);
  e.event_id.assign(key.event_id);
  e.received_at_ms = key.received_at_ms;
  uint64_t flags, delta;
  if (!r.Varint(&flags) || flags > UINT32_MAX) return Bad("bad flags");
  e.flags = static_cast<uint32_t>(flags);
  if (!r.Varint(&delta)) return Bad("bad timestamp");
  e.timestamp_ms = static_cast<int64_t>(static_cast<uint64_t>(e.received_at_ms) +
                                        static_cast<uint64_t>(UnZigZag(delta)));
  if (!r.String(&e.type) || !r.String(&e.user_id) || !r.String(&e.anonymous_id) ||
      !r.String(&e.session_id) || !r.String(properties) || !r.String(context)) {
    return Bad("truncated field");
  }
  if (!r.AtEnd()) return Bad("trailing bytes");
  e.properties_json.clear();
  e.context_json.clear();
  return Status::Ok();
}

Status DecodeEventInto(std::string_view payload, Event* out) {
  std::string_view properties, context;
  CA_RETURN_IF_ERROR(DecodeEventHeadInto(payload, out, &properties, &context));
  out->properties_json.assign(properties);
  out->context_json.assign(context);
  return Status::Ok();
}

Result<Event> DecodeEvent(std::string_view payload) {
  Event e;
  CA_RETURN_IF_ERROR(DecodeEventInto(payload, &e));
  return e;
}

Result<EventKey> DecodeEventKey(std::string_view payload) {
  Reader r(payload);
  CA_RETURN_IF_ERROR(CheckType(&r));
  EventKey key;
  if (!ReadKey(&r, &key)) return Bad("truncated key");
  return key;
}

std::string EventToJson(const Event& e) {
  std::string out;
  out.reserve(128 + e.properties_json.size() + e.context_json.size());
  auto field = [&out](std::string_view name, std::string_view value) {
    if (out.size() > 1) out.push_back(',');
    AppendJsonMember(name, value, &out);
  };
  out.push_back('{');
  field("event_id", e.event_id);
  field("tenant", e.tenant);
  field("type", e.type);
  field("user_id", e.user_id);
  field("anonymous_id", e.anonymous_id);
  field("session_id", e.session_id);
  out.append(",\"timestamp\":\"");
  AppendIso8601Millis(e.timestamp_ms, &out);
  out.append("\",\"received_at\":\"");
  AppendIso8601Millis(e.received_at_ms, &out);
  out.append("\",\"properties\":");
  out.append(e.properties_json.empty() ? std::string_view("{}") : e.properties_json);
  out.append(",\"context\":");
  out.append(e.context_json.empty() ? std::string_view("{}") : e.context_json);
  out.push_back('}');
  return out;
}

}  // namespace ca::event
