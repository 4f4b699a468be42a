#include "ingest/sdk_formats.h"

#include <openssl/sha.h>
#include <simdjson.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "event/json_string.h"
#include "event/timestamp.h"
#include "ingest/parse_error.h"

namespace ca::ingest {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

/// The members of a JSON object being built: keys unique, in insertion order, values as raw JSON.
class Fields {
 public:
  bool Has(std::string_view key) const {
    return std::any_of(fields_.begin(), fields_.end(),
                       [&](const auto& f) { return f.first == key; });
  }
  /// Sets `key` (replacing an earlier value) to the raw JSON `raw`.
  void Set(std::string_view key, std::string raw) {
    for (auto& f : fields_) {
      if (f.first == key) {
        f.second = std::move(raw);
        return;
      }
    }
    fields_.emplace_back(std::string(key), std::move(raw));
  }
  void SetIfAbsent(std::string_view key, std::string raw) {
    if (!Has(key)) Set(key, std::move(raw));
  }
  void SetString(std::string_view key, std::string_view value) {
    std::string raw;
    event::AppendJsonString(value, &raw);
    Set(key, std::move(raw));
  }
  /// Adds every member of `o` (later ones win, as in the native decoder).
  void AddAll(object o) {
    for (auto field : o) Set(field.key, simdjson::minify(field.value));
  }
  bool empty() const { return fields_.empty(); }
  void AppendTo(std::string* out) const {
    out->push_back('{');
    bool first = true;
    for (const auto& [key, raw] : fields_) {
      if (!first) out->push_back(',');
      first = false;
      event::AppendJsonString(key, out);
      out->push_back(':');
      out->append(raw);
    }
    out->push_back('}');
  }
  std::string ToJson() const {
    std::string out;
    AppendTo(&out);
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// Member `key` of `o`, or nullopt when absent or null.
std::optional<element> Member(object o, std::string_view key) {
  element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  return e;
}

std::optional<std::string_view> StringMember(object o, std::string_view key) {
  auto e = Member(o, key);
  std::string_view s;
  if (!e || e->get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
  return s;
}

std::optional<object> ObjectMember(object o, std::string_view key) {
  auto e = Member(o, key);
  object out;
  if (!e || e->get_object().get(out) != simdjson::SUCCESS) return std::nullopt;
  return out;
}

/// Copies member `from` of `o` as `to` into `fields`, raw, when present.
void CopyMember(object o, std::string_view from, std::string_view to, Fields* fields) {
  if (auto e = Member(o, from)) fields->Set(to, simdjson::minify(*e));
}

/// Sets event_id from an SDK message id: strings are normalised (NativeEventId); any other JSON
/// value is passed on so that the native decoder rejects it as invalid_event_id.
void SetEventId(std::optional<element> id, Fields* event) {
  if (!id) return;
  std::string_view s;
  if (id->get_string().get(s) == simdjson::SUCCESS) {
    event->SetString("event_id", NativeEventId(s));
  } else {
    event->Set("event_id", simdjson::minify(*id));
  }
}

std::string SnakeCase(std::string_view name) {
  std::string out;
  bool gap = false;
  for (unsigned char c : name) {
    if (std::isalnum(c)) {
      if (gap && !out.empty()) out.push_back('_');
      gap = false;
      out.push_back(static_cast<char>(std::tolower(c)));
    } else {
      gap = true;
    }
  }
  return out;
}

// ---- Segment (https://segment.com/docs/connections/spec/)

/// The native type of a Segment call.
std::string SegmentType(std::string_view call, object ev, const event::Catalogue& catalogue) {
  if (call == "track") return NativeEventType(StringMember(ev, "event").value_or(""), catalogue);
  if (call == "page") return "page_view";
  if (call == "screen") return "screen_view";
  if (call == "identify" || call == "group" || call == "alias") return std::string(call);
  return std::string(call);  // unknown: rejected by the native decoder
}

/// The page of a Segment `page` call's properties, as context.page {url, path, referrer, title}.
std::optional<std::string> PageFromProperties(object properties) {
  Fields page;
  for (std::string_view key : {"url", "path", "referrer", "title"}) {
    CopyMember(properties, key, key, &page);
  }
  if (page.empty()) return std::nullopt;
  return page.ToJson();
}

void AppendSegmentEvent(element raw, std::string_view path_call,
                        std::optional<object> batch_context, const event::Catalogue& catalogue,
                        std::string* out) {
  object ev;
  if (raw.get_object().get(ev) != simdjson::SUCCESS) {
    out->append(simdjson::minify(raw));  // the native decoder answers event_not_object
    return;
  }
  std::string call(path_call);
  if (call == "batch") {
    call = StringMember(ev, "type").value_or(StringMember(ev, "action").value_or(""));
  }
  Fields event;
  event.SetString("type", SegmentType(call, ev, catalogue));
  SetEventId(Member(ev, "messageId"), &event);
  CopyMember(ev, "userId", "user_id", &event);
  CopyMember(ev, "anonymousId", "anonymous_id", &event);
  if (Member(ev, "timestamp")) {
    CopyMember(ev, "timestamp", "timestamp", &event);
  } else {
    CopyMember(ev, "originalTimestamp", "timestamp", &event);  // RudderStack
  }

  Fields properties;
  std::optional<element> raw_properties = Member(ev, "properties");
  std::optional<object> props = ObjectMember(ev, "properties");
  std::optional<object> context = ObjectMember(ev, "context");
  if (call == "identify") {
    if (auto traits = Member(ev, "traits")) {
      properties.Set("traits", simdjson::minify(*traits));
    } else if (context) {
      CopyMember(*context, "traits", "traits", &properties);
    }
  } else if (call == "group") {
    CopyMember(ev, "groupId", "group_id", &properties);
    CopyMember(ev, "traits", "traits", &properties);
  } else if (call == "alias") {
    CopyMember(ev, "previousId", "previous_id", &properties);
  } else if (props) {
    properties.AddAll(*props);
  }
  if (call == "page" || call == "screen") {
    CopyMember(ev, "name", "name", &properties);
    CopyMember(ev, "category", "category", &properties);
  }
  if (raw_properties && !props && call != "identify" && call != "group" && call != "alias") {
    event.Set("properties", simdjson::minify(*raw_properties));  // not an object: wrong_type
  } else if (!properties.empty()) {
    event.Set("properties", properties.ToJson());
  }

  std::optional<element> raw_context = Member(ev, "context");
  if (raw_context && !context) {
    event.Set("context", simdjson::minify(*raw_context));  // not an object: wrong_type
  } else {
    Fields ctx;
    if (context) ctx.AddAll(*context);
    if (batch_context) {
      for (auto field : *batch_context) ctx.SetIfAbsent(field.key, simdjson::minify(field.value));
    }
    if (context) CopyMember(*context, "userAgent", "user_agent", &ctx);
    if (call == "page" && props && !ctx.Has("page")) {
      if (auto page = PageFromProperties(*props)) ctx.Set("page", *page);
    }
    if (!ctx.empty()) event.Set("context", ctx.ToJson());
  }
  event.AppendTo(out);
}

// ---- PostHog (https://posthog.com/docs/api/capture)

/// Native types of PostHog's own events; other `$` events have none.
std::optional<std::string_view> PostHogSpecialType(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"$pageview", "page_view"}, {"$screen", "screen_view"},  {"$identify", "identify"},
      {"$create_alias", "alias"}, {"$groupidentify", "group"},
  };
  for (const auto& [from, to] : kTypes) {
    if (from == name) return to;
  }
  return std::nullopt;
}

/// PostHog properties that become native fields or context rather than properties.
constexpr std::string_view kPostHogMapped[] = {
    "distinct_id",       "token",          "$session_id", "$current_url",    "$pathname",
    "$referrer",         "$title",         "$ip",         "$raw_user_agent", "$useragent",
    "$anon_distinct_id", "$is_identified", "$set",        "$set_once",       "$group_type",
    "$group_key",        "$group_set",     "alias"};

bool PostHogMapped(std::string_view key) {
  return std::find(std::begin(kPostHogMapped), std::end(kPostHogMapped), key) !=
         std::end(kPostHogMapped);
}

void AppendPostHogEvent(element raw, const event::Catalogue& catalogue, std::string* out) {
  object ev;
  if (raw.get_object().get(ev) != simdjson::SUCCESS) {
    out->append(simdjson::minify(raw));  // the native decoder answers event_not_object
    return;
  }
  Fields event;
  const std::optional<std::string_view> name = StringMember(ev, "event");
  if (name) {
    const auto special = PostHogSpecialType(*name);
    event.SetString("type", special ? std::string(*special) : NativeEventType(*name, catalogue));
  } else {
    CopyMember(ev, "event", "type", &event);  // missing or not a string: rejected natively
  }
  const std::string_view type_name = name.value_or("");
  SetEventId(Member(ev, "uuid"), &event);
  CopyMember(ev, "timestamp", "timestamp", &event);

  std::optional<element> raw_properties = Member(ev, "properties");
  std::optional<object> props = ObjectMember(ev, "properties");
  if (raw_properties && !props) {
    event.Set("properties", simdjson::minify(*raw_properties));  // not an object: wrong_type
  }
  std::optional<element> distinct = Member(ev, "distinct_id");
  if (!distinct && props) distinct = Member(*props, "distinct_id");
  // posthog-js marks events of a visitor not identified yet: their distinct_id is anonymous.
  bool anonymous = false;
  if (auto identified = props ? Member(*props, "$is_identified") : std::nullopt) {
    bool value = true;
    anonymous = identified->get_bool().get(value) == simdjson::SUCCESS && !value;
  }
  if (distinct) event.Set(anonymous ? "anonymous_id" : "user_id", simdjson::minify(*distinct));
  if (!props) {
    event.AppendTo(out);
    return;
  }

  Fields properties, context, page, posthog;
  CopyMember(*props, "$session_id", "session_id", &event);
  if (type_name == "$identify") {
    CopyMember(*props, "$anon_distinct_id", "anonymous_id", &event);
    Fields traits;
    if (auto once = ObjectMember(*props, "$set_once")) traits.AddAll(*once);
    if (auto set = ObjectMember(*props, "$set")) traits.AddAll(*set);
    if (!traits.empty()) properties.Set("traits", traits.ToJson());
  } else if (type_name == "$create_alias") {
    CopyMember(*props, "alias", "previous_id", &properties);
  } else if (type_name == "$groupidentify") {
    CopyMember(*props, "$group_key", "group_id", &properties);
    CopyMember(*props, "$group_type", "group_type", &properties);
    CopyMember(*props, "$group_set", "traits", &properties);
  }
  CopyMember(*props, "$current_url", "url", &page);
  CopyMember(*props, "$pathname", "path", &page);
  CopyMember(*props, "$referrer", "referrer", &page);
  CopyMember(*props, "$title", "title", &page);
  if (!page.empty()) context.Set("page", page.ToJson());
  CopyMember(*props, "$ip", "ip", &context);
  if (Member(*props, "$raw_user_agent")) {
    CopyMember(*props, "$raw_user_agent", "user_agent", &context);
  } else {
    CopyMember(*props, "$useragent", "user_agent", &context);
  }
  for (auto field : *props) {
    if (PostHogMapped(field.key)) continue;
    if (!field.key.empty() && field.key[0] == '$') {
      posthog.Set(field.key, simdjson::minify(field.value));  // kept, out of the way
    } else {
      properties.SetIfAbsent(field.key, simdjson::minify(field.value));
    }
  }
  // What PostHog sends about the person on any event stays with it.
  for (std::string_view key : {"$set", "$set_once"}) {
    if (type_name != "$identify") CopyMember(*props, key, key, &posthog);
  }
  if (!posthog.empty()) context.Set("posthog", posthog.ToJson());
  if (!properties.empty()) event.Set("properties", properties.ToJson());
  if (!context.empty()) event.Set("context", context.ToJson());
  event.AppendTo(out);
}

/// The native rule for a body's `sent_at` (docs/api/ingest.md): an ISO-8601 string or integer
/// epoch milliseconds; anything else makes the whole request a bad_request.
Status CheckSentAt(element sent_at, std::string_view field) {
  std::string_view text;
  int64_t ms;
  if (sent_at.get_string().get(text) == simdjson::SUCCESS) {
    auto parsed = event::ParseIso8601Millis(text);
    if (!parsed.ok()) {
      return Status(ErrorCode::kBadRequest,
                    std::string(field) + ": " + std::string(parsed.status().message()));
    }
  } else if (sent_at.type() != simdjson::dom::element_type::INT64 ||
             sent_at.get_int64().get(ms) != simdjson::SUCCESS || ms < 0 ||
             ms > event::kMaxTimestampMs) {
    return Status(
        ErrorCode::kBadRequest,
        std::string(field) + ": must be an ISO-8601 string or integer epoch milliseconds");
  }
  return Status::Ok();
}

}  // namespace

struct SdkBody::Impl {
  SdkFormat format = SdkFormat::kSegment;
  std::string call;
  simdjson::dom::parser parser;
  element root;
  /// The events: an array, or (one call) the body itself.
  std::optional<simdjson::dom::array> events;
  std::optional<element> single;
  std::optional<object> batch_context;  // Segment: applies to every event of the batch
  std::optional<element> sent_at;
  std::string write_key;
};

SdkBody::SdkBody(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SdkBody::SdkBody(SdkBody&&) noexcept = default;
SdkBody& SdkBody::operator=(SdkBody&&) noexcept = default;
SdkBody::~SdkBody() = default;

const std::string& SdkBody::write_key() const { return impl_->write_key; }

Result<SdkBody> SdkBody::Parse(SdkFormat format, std::string_view call, std::string_view body,
                               size_t max_depth, size_t max_events) {
  auto impl = std::make_unique<Impl>();
  impl->format = format;
  impl->call = std::string(call);
  if (auto err = impl->parser.allocate(std::max<size_t>(body.size(), 64), max_depth)) {
    return ParseErrorStatus(err);
  }
  if (auto err = impl->parser.parse(body.data(), body.size()).get(impl->root)) {
    return ParseErrorStatus(err);
  }
  object top;
  const bool is_object = impl->root.get_object().get(top) == simdjson::SUCCESS;
  simdjson::dom::array array;
  if (format == SdkFormat::kSegment) {
    if (!is_object) return Status(ErrorCode::kBadRequest, "request body must be a JSON object");
    impl->write_key = StringMember(top, "writeKey").value_or("");
    impl->sent_at = Member(top, "sentAt");
    if (call == "batch") {
      auto batch = Member(top, "batch");
      if (!batch || batch->get_array().get(array) != simdjson::SUCCESS) {
        return Status(ErrorCode::kBadRequest, "batch: required, an array of calls");
      }
      impl->events = array;
      impl->batch_context = ObjectMember(top, "context");
    } else {
      impl->single = impl->root;
    }
  } else if (impl->root.get_array().get(array) == simdjson::SUCCESS) {
    impl->events = array;  // posthog-js: an array of events, each with properties.token
  } else if (is_object) {
    impl->write_key = StringMember(top, "api_key").value_or("");
    impl->sent_at = Member(top, "sent_at");
    if (auto batch = Member(top, "batch")) {
      if (batch->get_array().get(array) != simdjson::SUCCESS) {
        return Status(ErrorCode::kBadRequest, "batch: must be an array of events");
      }
      impl->events = array;
    } else {
      impl->single = impl->root;
    }
  } else {
    return Status(ErrorCode::kBadRequest, "request body must be a JSON object or array");
  }
  if (impl->sent_at) {
    CA_RETURN_IF_ERROR(
        CheckSentAt(*impl->sent_at, format == SdkFormat::kSegment ? "sentAt" : "sent_at"));
  }
  if (impl->events && impl->events->size() > max_events) {
    return Status(ErrorCode::kTooManyEvents, std::to_string(impl->events->size()) +
                                                 " events in one request (max " +
                                                 std::to_string(max_events) + ")");
  }
  if (format == SdkFormat::kPostHog && impl->write_key.empty()) {
    // posthog-js puts the key in each event: `api_key`, or `token` in its properties.
    std::optional<element> first = impl->single;
    if (impl->events && impl->events->size() > 0) first = *impl->events->begin();
    object ev;
    if (first && first->get_object().get(ev) == simdjson::SUCCESS) {
      impl->write_key = StringMember(ev, "api_key").value_or("");
      if (auto props = ObjectMember(ev, "properties"); impl->write_key.empty() && props) {
        impl->write_key = StringMember(*props, "token").value_or("");
      }
    }
  }
  return SdkBody(std::move(impl));
}

std::string SdkBody::ToNative(const event::Catalogue& catalogue) const {
  std::string out = "{";
  if (impl_->sent_at) {
    out += "\"sent_at\":";
    out += simdjson::minify(*impl_->sent_at);
    out += ',';
  }
  out += "\"events\":[";
  auto append = [&](element e) {
    if (impl_->format == SdkFormat::kSegment) {
      AppendSegmentEvent(e, impl_->call, impl_->batch_context, catalogue, &out);
    } else {
      AppendPostHogEvent(e, catalogue, &out);
    }
  };
  if (impl_->single) {
    append(*impl_->single);
  } else {
    bool first = true;
    for (element e : *impl_->events) {
      if (!first) out.push_back(',');
      first = false;
      append(e);
    }
  }
  out += "]}";
  return out;
}

std::string SdkBody::RawEvent(size_t index) const {
  if (impl_->single) return index == 0 ? simdjson::minify(*impl_->single) : std::string();
  size_t i = 0;
  for (element e : *impl_->events) {
    if (i++ == index) return simdjson::minify(e);
  }
  return {};
}

std::string SdkBody::DeadLetterFormat() const {
  if (impl_->format == SdkFormat::kPostHog) return "posthog";
  return impl_->single ? "segment:" + impl_->call : "segment";
}

std::string NativeEventType(std::string_view name, const event::Catalogue& catalogue) {
  if (catalogue.Find(name) != nullptr) return std::string(name);
  std::string snake = SnakeCase(name);
  if (!snake.empty() && catalogue.Find(snake) != nullptr) return snake;
  return std::string(name);
}

std::string NativeEventId(std::string_view message_id) {
  const bool valid = !message_id.empty() && message_id.size() <= 64 &&
                     std::all_of(message_id.begin(), message_id.end(),
                                 [](char c) { return c > 0x20 && c < 0x7f; });
  if (valid) return std::string(message_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(message_id.data()), message_id.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "h-";
  for (int i = 0; i < 16; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

}  // namespace ca::ingest
