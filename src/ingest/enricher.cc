#include "ingest/enricher.h"

#include <simdjson.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <utility>

#include "event/json_string.h"
#include "event/timestamp.h"
#include "ingest/url_context.h"

namespace ca::ingest {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

std::string_view StringAt(object o, std::string_view key) {
  std::string_view s;
  if (o[key].get_string().get(s) != simdjson::SUCCESS) return {};
  return s;
}

// "2026-W48" for the ISO week holding epoch day `day`.
std::string IsoWeek(int64_t day) {
  const int64_t weekday = ((day + 3) % 7 + 7) % 7;  // Monday 0; 1970-01-01 was a Thursday
  const int64_t thursday = day - weekday + 3;       // the ISO year is the Thursday's
  int64_t year = 1970 + thursday / 366;
  while (event::DaysFromCivil(year + 1, 1, 1) <= thursday) ++year;
  while (event::DaysFromCivil(year, 1, 1) > thursday) --year;
  const int64_t week = (thursday - event::DaysFromCivil(year, 1, 1)) / 7 + 1;
  char text[48];
  std::snprintf(text, sizeof text, "%04lld-W%02lld", static_cast<long long>(year),
                static_cast<long long>(week));
  return text;
}

std::optional<int64_t> TimeOf(element value) {
  int64_t ms;
  if (value.get_int64().get(ms) == simdjson::SUCCESS && ms >= 0) return ms;
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
  Result<int64_t> parsed = event::ParseIso8601Millis(text);
  if (parsed.ok()) return *parsed;
  if (text.size() == 10) parsed = event::ParseIso8601Millis(std::string(text) + "T00:00:00Z");
  return parsed.ok() ? std::optional<int64_t>(*parsed) : std::nullopt;
}

// Appends `,"key":"value"` (the comma when `out` already has members) when value is non-empty.
void AddString(std::string* out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  if (!out->empty()) out->push_back(',');
  event::AppendJsonString(key, out);
  out->push_back(':');
  event::AppendJsonString(value, out);
}

// Appends `,"key":{members}` when members is non-empty.
void AddObject(std::string* out, std::string_view key, const std::string& members) {
  if (members.empty()) return;
  if (!out->empty()) out->push_back(',');
  event::AppendJsonString(key, out);
  out->append(":{").append(members).push_back('}');
}

std::string Version(const std::optional<std::string>& major,
                    const std::optional<std::string>& minor) {
  if (!major) return {};
  return minor ? *major + "." + *minor : *major;
}

}  // namespace

UserProfile ProfileFromTraits(std::string_view traits_json) {
  UserProfile profile;
  thread_local simdjson::dom::parser parser;
  object traits;
  if (parser.parse(traits_json.data(), traits_json.size()).get_object().get(traits) !=
      simdjson::SUCCESS) {
    return profile;
  }
  auto first = [&](std::initializer_list<std::string_view> keys) {
    for (std::string_view key : keys) {
      std::string_view v = StringAt(traits, key);
      if (!v.empty()) return std::string(v.substr(0, 100));
    }
    return std::string();
  };
  profile.industry = first({"industry"});
  profile.seniority = first({"seniority", "job_level", "level"});
  profile.location = first({"location", "city"});
  if (profile.location.empty()) {
    object address;
    if (traits["address"].get_object().get(address) == simdjson::SUCCESS) {
      profile.location = std::string(StringAt(address, "city").substr(0, 100));
    }
  }
  if (profile.location.empty()) profile.location = first({"country"});
  for (std::string_view key : {"signup_at", "signed_up_at", "created_at", "createdAt"}) {
    element value;
    if (traits[key].get(value) != simdjson::SUCCESS) continue;
    if (std::optional<int64_t> ms = TimeOf(value)) {
      profile.signup_week = IsoWeek(*ms / kDayMs);
      break;
    }
  }
  return profile;
}

Enricher::Enricher(const UserAgentParser* user_agents, const GeoLookup* geo, UserProfiles* profiles,
                   Sessionizer::Options sessions)
    : user_agents_(user_agents), geo_(geo), profiles_(profiles), sessions_(sessions) {}

void Enricher::Enrich(const RequestContext& request, event::Event* e) {
  thread_local simdjson::dom::parser parser;
  object context;
  if (parser.parse(e->context_json.data(), e->context_json.size()).get_object().get(context) !=
      simdjson::SUCCESS) {
    return;  // the decoder only passes objects
  }
  auto has = [&](std::string_view key) { return context[key].error() == simdjson::SUCCESS; };
  std::string add;  // members to append, comma-separated

  if (geo_ != nullptr && !has("country")) {
    std::string_view ip = StringAt(context, "ip");
    if (ip.empty()) ip = request.client_ip;
    if (std::optional<GeoLocation> where = geo_->Lookup(ip)) {
      AddString(&add, "country", where->country);
      if (!has("region")) AddString(&add, "region", where->region);
    }
  }

  if (user_agents_ != nullptr) {
    std::string_view header = StringAt(context, "user_agent");
    if (header.empty()) header = StringAt(context, "userAgent");
    if (header.empty()) header = request.user_agent;
    if (!header.empty()) {
      const UserAgent ua = user_agents_->Parse(header);
      std::string members;
      if (!has("browser")) {
        AddString(&members, "name", ua.browser.family);
        AddString(&members, "version", Version(ua.browser.major, ua.browser.minor));
        AddObject(&add, "browser", members);
      }
      if (!has("os")) {
        members.clear();
        AddString(&members, "name", ua.os.family);
        AddString(&members, "version", Version(ua.os.major, ua.os.minor));
        AddObject(&add, "os", members);
      }
      element device;
      if (context["device"].get(device) != simdjson::SUCCESS) {
        AddString(&add, "device", ua.device_type);
      } else if (device.is_object() && !has("device_type")) {
        AddString(&add, "device_type", ua.device_type);
      }
    }
  }

  // Page, referrer and campaign.
  object page;
  std::string_view page_url, page_path, referrer;
  if (context["page"].get_object().get(page) == simdjson::SUCCESS) {
    page_url = StringAt(page, "url");
    page_path = StringAt(page, "path");
    referrer = StringAt(page, "referrer");
  }
  std::optional<ParsedUrl> parsed_page = ParseUrl(page_url);
  if (page_path.empty() && parsed_page) page_path = parsed_page->path;
  const Utm utm = parsed_page ? ExtractUtm(parsed_page->query) : Utm();
  const std::string referrer_host = ReferrerHost(referrer);
  const bool has_page = !page_url.empty() || !referrer.empty();
  const std::string_view channel = ChannelName(ClassifyChannel(referrer, page_url, utm));
  if (has_page) {
    if (!has("campaign")) {
      std::string members;
      AddString(&members, "source", utm.source);
      AddString(&members, "medium", utm.medium);
      AddString(&members, "name", utm.campaign);
      AddString(&members, "term", utm.term);
      AddString(&members, "content", utm.content);
      AddObject(&add, "campaign", members);
    }
    if (!has("referrer_host")) AddString(&add, "referrer_host", referrer_host);
    if (!has("channel")) AddString(&add, "channel", channel);
  }

  const bool anonymized = (e->flags & event::kFlagAnonymized) != 0;
  const std::string_view sender = !e->user_id.empty() ? e->user_id : e->anonymous_id;
  if (!anonymized && !sender.empty()) {
    SessionContext first;
    first.entry_path = std::string(page_path);
    if (has_page) {
      first.referrer_host = referrer_host;
      first.channel = std::string(channel);
      first.utm_source = utm.source;
      first.utm_medium = utm.medium;
      first.utm_campaign = utm.campaign;
    }
    // A client's own session id keeps its id; the context is its first event's all the same.
    const std::string client_key = e->session_id.empty() ? std::string() : "\x01" + e->session_id;
    SessionContext session = sessions_.Assign(e->tenant, client_key.empty() ? sender : client_key,
                                              e->timestamp_ms, e->received_at_ms, std::move(first));
    if (e->session_id.empty()) e->session_id = session.id;
    if (!has("session")) {
      std::string members;
      AddString(&members, "id", e->session_id);
      AddString(&members, "entry_path", session.entry_path);
      AddString(&members, "referrer_host", session.referrer_host);
      AddString(&members, "channel", session.channel);
      AddString(&members, "utm_source", session.utm_source);
      AddString(&members, "utm_medium", session.utm_medium);
      AddString(&members, "utm_campaign", session.utm_campaign);
      AddObject(&add, "session", members);
    }
  }

  if (!anonymized && profiles_ != nullptr && !e->user_id.empty()) {
    if (e->type == "identify") {
      thread_local simdjson::dom::parser properties_parser;  // `context` lives in `parser`
      object properties;
      element traits;
      if (properties_parser.parse(e->properties_json.data(), e->properties_json.size())
                  .get_object()
                  .get(properties) == simdjson::SUCCESS &&
          properties["traits"].get(traits) == simdjson::SUCCESS && traits.is_object()) {
        profiles_->Identify(e->tenant, e->user_id, simdjson::minify(traits));
      }
    }
    if (!has("profile")) {
      if (std::optional<UserProfile> profile = profiles_->Find(e->tenant, e->user_id)) {
        std::string members;
        AddString(&members, "industry", profile->industry);
        AddString(&members, "seniority", profile->seniority);
        AddString(&members, "location", profile->location);
        AddString(&members, "signup_week", profile->signup_week);
        AddObject(&add, "profile", members);
      }
    }
  }

  // URLs may carry personal data in their query (e-mails, tokens): the stored copy has it removed.
  std::string clean_url, clean_referrer;
  const bool url_changed = ScrubUrl(page_url, &clean_url);
  const bool referrer_changed = ScrubUrl(referrer, &clean_referrer);

  if (!add.empty()) {
    std::string& json = e->context_json;
    json.pop_back();  // '}'
    if (json.size() > 1) json.push_back(',');
    json.append(add).push_back('}');
  }
  if (url_changed || referrer_changed) {
    nlohmann::json doc = nlohmann::json::parse(e->context_json, nullptr, false);
    if (doc.is_object() && doc["page"].is_object()) {
      if (url_changed) doc["page"]["url"] = clean_url;
      if (referrer_changed) doc["page"]["referrer"] = clean_referrer;
      e->context_json = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
}

}  // namespace ca::ingest
