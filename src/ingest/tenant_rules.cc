#include "ingest/tenant_rules.h"

#include <emmintrin.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

namespace ca::ingest {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

bool EqualsLower(std::string_view text, std::string_view lower) {
  return text.size() == lower.size() &&
         std::equal(text.begin(), text.end(), lower.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// A consent value that says no: false, or a refusing word.
bool Refuses(element value) {
  bool b;
  if (value.get_bool().get(b) == simdjson::SUCCESS) return !b;
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return false;
  for (std::string_view no :
       {"denied", "revoked", "withdrawn", "false", "no", "0", "opt-out", "opted_out", "rejected"}) {
    if (EqualsLower(text, no)) return true;
  }
  return false;
}

// A do-not-track value that says "do not": true, 1 or "1".
bool Asserts(element value) {
  bool b;
  if (value.get_bool().get(b) == simdjson::SUCCESS) return b;
  int64_t i;
  if (value.get_int64().get(i) == simdjson::SUCCESS) return i == 1;
  std::string_view text;
  return value.get_string().get(text) == simdjson::SUCCESS && (text == "1" || text == "true");
}

// A consent object: {"analytics": false}, {"granted": false}, Segment's
// {"categoryPreferences": {"Analytics": false}}, Google's {"analytics_storage": "denied"}.
bool ObjectRefuses(simdjson::dom::object consent, int depth) {
  for (auto [key, value] : consent) {
    if (EqualsLower(key, "analytics") || EqualsLower(key, "statistics") ||
        EqualsLower(key, "analytics_storage") || EqualsLower(key, "granted")) {
      if (Refuses(value)) return true;
    } else if (depth == 0 && EqualsLower(key, "categorypreferences")) {
      simdjson::dom::object inner;
      if (value.get_object().get(inner) == simdjson::SUCCESS && ObjectRefuses(inner, 1)) {
        return true;
      }
    }
  }
  return false;
}

bool IsUserLevelType(std::string_view type) {
  return type == "identify" || type == "alias" || type == "group";
}

// False when `text` surely holds none of "consent", "dnt" and "do_not_track": it has none of
// "con", "dn" and "do_", looked for 16 positions at a time (SSE2). (find would run memchr from
// each 'c' and 'd'.)
bool MayMentionConsent(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  auto at = [](const char* q, char c) {
    return _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)), _mm_set1_epi8(c));
  };
  for (; end - p >= 18; p += 16) {
    const __m128i c = at(p, 'c'), d = at(p, 'd');
    const __m128i o1 = at(p + 1, 'o'), n1 = at(p + 1, 'n'), n2 = at(p + 2, 'n');
    const __m128i under2 = at(p + 2, '_');
    const __m128i hit = _mm_or_si128(_mm_and_si128(c, _mm_and_si128(o1, n2)),
                                     _mm_and_si128(d, _mm_or_si128(n1, _mm_and_si128(o1, under2))));
    if (_mm_movemask_epi8(hit) != 0) return true;
  }
  const std::string_view rest(p, end - p);
  return rest.find("con") != std::string_view::npos || rest.find("dn") != std::string_view::npos ||
         rest.find("do_") != std::string_view::npos;
}

}  // namespace

bool ConsentWithheld(std::string_view context_json) {
  if (!MayMentionConsent(context_json)) return false;
  if (context_json.find("consent") == std::string_view::npos &&
      context_json.find("dnt") == std::string_view::npos &&
      context_json.find("do_not_track") == std::string_view::npos) {
    return false;
  }
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object context;
  if (parser.parse(context_json.data(), context_json.size()).get_object().get(context) !=
      simdjson::SUCCESS) {
    return false;
  }
  for (auto [key, value] : context) {
    if (key == "consent") {
      simdjson::dom::object object;
      if (value.get_object().get(object) == simdjson::SUCCESS) {
        if (ObjectRefuses(object, 0)) return true;
      } else if (Refuses(value)) {
        return true;
      }
    } else if ((key == "dnt" || key == "do_not_track") && Asserts(value)) {
      return true;
    }
  }
  return false;
}

void Anonymize(event::Event* event) {
  event->user_id.clear();
  event->anonymous_id.assign(kAnonymizedId);
  event->session_id.clear();
  event->flags |= event::kFlagAnonymized;
}

void StripAnonymized(event::Event* event) {
  if ((event->flags & event::kFlagAnonymized) == 0) return;
  // True when something was removed (the object is then written anew).
  auto strip = [](std::string* json, std::initializer_list<const char*> keys) {
    nlohmann::json object = nlohmann::json::parse(*json, nullptr, /*allow_exceptions=*/false);
    if (!object.is_object()) return false;
    size_t erased = 0;
    for (const char* key : keys) erased += object.erase(key);
    if (erased == 0) return false;
    *json = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return true;
  };
  if (strip(&event->context_json, {"ip", "traits"})) event->clean_context_tail = 0;
  strip(&event->properties_json, {"traits"});
}

bool IsPrivacyRejection(ErrorCode code) {
  return code == ErrorCode::kConsentWithheld || code == ErrorCode::kUserSuppressed;
}

void ApplyTenantRules(const TenantRules& rules, const RequestContext& request,
                      int64_t received_at_ms, DecodedBatch* batch,
                      std::vector<int64_t>* late_days) {
  const int64_t receive_day = received_at_ms / kDayMs;
  std::vector<Rejection> refused;
  size_t kept = 0;
  for (size_t i = 0; i < batch->events.size(); ++i) {
    event::Event& e = batch->events[i];
    const uint32_t index = batch->event_indexes[i];
    auto refuse = [&](ErrorCode code, std::string message) {
      refused.push_back({index, code, std::move(message), {}});
    };
    if (rules.suppressed_users && !e.user_id.empty() && rules.suppressed_users->count(e.user_id)) {
      refuse(ErrorCode::kUserSuppressed, "user_id: this user was deleted");
      continue;
    }
    if (request.do_not_track || ConsentWithheld(e.context_json)) {
      if (rules.consent == ConsentMode::kDrop || IsUserLevelType(e.type)) {
        refuse(ErrorCode::kConsentWithheld,
               request.do_not_track ? "the request asks not to be tracked (DNT or Sec-GPC)"
                                    : "context.consent: consent withheld");
        continue;
      }
      Anonymize(&e);
    }
    const int64_t day = e.timestamp_ms / kDayMs;
    if (day < receive_day &&
        std::find(late_days->begin(), late_days->end(), day) == late_days->end()) {
      late_days->push_back(day);
    }
    if (kept != i) {
      batch->events[kept] = std::move(e);
      batch->event_indexes[kept] = index;
    }
    ++kept;
  }
  batch->events.resize(kept);
  batch->event_indexes.resize(kept);
  if (refused.empty()) return;
  std::vector<Rejection> merged;
  merged.reserve(batch->rejected.size() + refused.size());
  std::merge(std::make_move_iterator(batch->rejected.begin()),
             std::make_move_iterator(batch->rejected.end()),
             std::make_move_iterator(refused.begin()), std::make_move_iterator(refused.end()),
             std::back_inserter(merged),
             [](const Rejection& a, const Rejection& b) { return a.index < b.index; });
  batch->rejected = std::move(merged);
}

}  // namespace ca::ingest
