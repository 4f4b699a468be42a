#include "ingest/enricher.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <utility>

#include "event/json_string.h"
#include "event/timestamp.h"
#include "ingest/context_fields.h"
#include "ingest/pii_scrubber.h"
#include "ingest/thread_memo.h"
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
  event::AppendJsonMember(key, value, out);
}

// Appends a rendered member (`"key":value`), with a comma when `out` already has members.
void AddMember(std::string* out, std::string_view member) {
  if (member.empty()) return;
  if (!out->empty()) out->push_back(',');
  out->append(member);
}

// `"channel":"search"` and the like.
std::string_view ChannelMember(Channel channel) {
  static const std::array<std::string, 5> kMembers = [] {
    std::array<std::string, 5> members;
    for (size_t i = 0; i < members.size(); ++i) {
      AddString(&members[i], "channel", ChannelName(static_cast<Channel>(i)));
    }
    return members;
  }();
  return kMembers[static_cast<size_t>(channel)];
}

// Appends `,"key":{members}` when members is non-empty.
void AddObject(std::string* out, std::string_view key, const std::string& members) {
  if (members.empty()) return;
  if (!out->empty()) out->push_back(',');
  event::AppendJsonString(key, out);
  out->append(":{").append(members).push_back('}');
}

// `value` with personal data replaced (PiiScrubber::ScrubString): every value enrichment adds
// is clean, so that the privacy stage can skip them (Event::clean_context_tail).
std::string Clean(std::string_view value) {
  std::string scrubbed;
  return PiiScrubber::ScrubString(value, &scrubbed) ? scrubbed : std::string(value);
}

// False when ScrubUrl surely leaves `path` as it is: no '@', no percent-encoding that could
// hide one, no query or fragment, fewer than 7 digits.
bool MayNeedScrubbing(std::string_view path) {
  int digits = 0;
  for (char c : path) {
    if (c == '@' || c == '%' || c == '?' || c == '#' || c == ':') return true;
    if (c >= '0' && c <= '9' && ++digits >= 7) return true;
  }
  return false;
}

// Keys longer than this are not memoised (a hash of them costs more than it saves).
constexpr size_t kMaxMemoKeyBytes = 1024;

// The memo key of `text`; a zero key (never a hash in practice) for text too long to memoise.
MemoKey MemoKeyOf(std::string_view text) {
  return text.size() > kMaxMemoKeyBytes ? MemoKey() : MemoKey::Of(text);
}

// What a pure function of `text` gives, from this thread's memo when it is there; `scratch`
// holds it when the text is too long to keep. `key` is MemoKeyOf(text).
template <typename Value, typename Compute>
const Value& Memoized(ThreadMemo<Value>& memo, uint64_t owner, std::string_view text,
                      const MemoKey& key, Compute compute, Value* scratch) {
  if (text.size() > kMaxMemoKeyBytes) return *scratch = compute(text);
  if (const Value* kept = memo.Find(owner, key)) return *kept;
  return memo.Put(owner, key, compute(text));
}

// The members enrichment adds for a user agent.
struct UserAgentParts {
  std::string browser;  // members of context.browser
  std::string os;       // members of context.os
  std::string device;   // the device type
};

// What enrichment takes from context.page.url.
struct PageFacts {
  std::string path;  // when the URL parses
  std::string host;
  Utm utm;
  bool url_changed = false;  // ScrubUrl removed something: store clean_url
  std::string clean_url;
  std::string campaign;                     // members of context.campaign, from utm
  bool tagged = false;                      // utm.Tagged()
  std::optional<Channel> campaign_channel;  // ChannelOfCampaign(utm)
  std::string site;                         // PageSiteOf the URL
};

// The members enrichment adds for a client address.
struct GeoParts {
  bool found = false;
  std::string country;  // `"country":"DE"`
  std::string region;   // `"region":"Berlin"`, or empty
};

// What enrichment takes from context.page.referrer.
struct ReferrerFacts {
  std::string host;    // ReferrerHost
  std::string member;  // `"referrer_host":"..."`, or empty
  ReferrerChannelFacts channel;
  bool changed = false;
  std::string clean;
};

std::string Version(const std::optional<std::string>& major,
                    const std::optional<std::string>& minor) {
  if (!major) return {};
  return minor ? *major + "." + *minor : *major;
}

// This thread's memos (ThreadMemo), shared by the thread's enrichers (by owner).
struct Memos {
  ThreadMemo<UserAgentParts> user_agents{1024};
  ThreadMemo<PageFacts> pages{8192};
  ThreadMemo<ReferrerFacts> referrers{8192};
  ThreadMemo<GeoParts> places{16384};
};

Memos& ThreadMemos() {
  thread_local Memos memos;
  return memos;
}

}  // namespace

// What an event's enrichment takes from its context alone, not from its sender: views into this
// thread's memos (or into a KeptContext) that the session seed and the stored URLs are made of.
struct Enricher::ContextView {
  std::string_view entry_path, referrer_host, channel, utm_source, utm_medium, utm_campaign;
  bool has_page = false;
  bool url_changed = false, referrer_changed = false;
  std::string_view clean_url, clean_referrer;
};

// A ContextView and the members it adds before the session's (geo, user agent, campaign,
// referrer host, channel), kept for the next event of a request when its context has the same
// bytes: tracker.js sends each page's events with one context.
struct Enricher::KeptContext {
  std::string members;
  std::string entry_path, referrer_host, utm_source, utm_medium, utm_campaign;
  std::string clean_url, clean_referrer;
  ContextView view;  // into the strings above

  void Keep(const ContextView& v, std::string_view added) {
    members.assign(added);
    entry_path.assign(v.entry_path);
    referrer_host.assign(v.referrer_host);
    utm_source.assign(v.utm_source);
    utm_medium.assign(v.utm_medium);
    utm_campaign.assign(v.utm_campaign);
    clean_url.assign(v.url_changed ? v.clean_url : std::string_view());
    clean_referrer.assign(v.referrer_changed ? v.clean_referrer : std::string_view());
    view = v;
    view.entry_path = entry_path;
    view.referrer_host = referrer_host;
    view.utm_source = utm_source;
    view.utm_medium = utm_medium;
    view.utm_campaign = utm_campaign;
    view.clean_url = clean_url;
    view.clean_referrer = clean_referrer;
  }
};

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
  RenderProfile(&profile);
  return profile;
}

void RenderProfile(UserProfile* profile) {
  profile->members.clear();
  AddString(&profile->members, "industry", Clean(profile->industry));
  AddString(&profile->members, "seniority", Clean(profile->seniority));
  AddString(&profile->members, "location", Clean(profile->location));
  AddString(&profile->members, "signup_week", profile->signup_week);
}

Enricher::Enricher(const UserAgentParser* user_agents, const GeoLookup* geo, UserProfiles* profiles,
                   Sessionizer::Options sessions)
    : user_agents_(user_agents),
      geo_(geo),
      profiles_(profiles),
      sessions_(sessions),
      memo_owner_(NewMemoOwner()) {}

struct Enricher::Prepared {
  ContextFields fields;
  bool scanned = false;  // `fields` are read (else the context is parsed when it is enriched)
  // The context has the previous event's bytes: `fields` holds only its presence bits and the
  // memo keys are unset; Process takes the KeptContext instead.
  bool same_context = false;
  bool keep_context = false;  // the next event has this one's context: keep it (KeptContext)
  MemoKey user_agent, page_url, referrer, ip;
  Sessionizer::SenderKey sender;
};

void Enricher::Prepare(const RequestContext& request, const event::Event& e, Prepared* p) const {
  p->same_context = false;
  p->keep_context = false;
  p->scanned = ScanContextFields(e.context_json, &p->fields);
  if (p->scanned) Keys(request, e, p);
}

void Enricher::PrepareLike(const event::Event& previous, Prepared* previous_prepared,
                           const event::Event& e, Prepared* p) const {
  p->same_context = true;
  p->keep_context = false;
  previous_prepared->keep_context = true;
  p->scanned = true;
  p->fields = ContextFields();
  p->fields.present = previous_prepared->fields.present;
  p->fields.device_is_object = previous_prepared->fields.device_is_object;
  p->sender = e.tenant == previous.tenant && e.session_id == previous.session_id &&
                      e.user_id == previous.user_id && e.anonymous_id == previous.anonymous_id
                  ? previous_prepared->sender
                  : SenderKeyOf(e);
}

void Enricher::Keys(const RequestContext& request, const event::Event& e, Prepared* p) const {
  const ContextFields& f = p->fields;
  p->user_agent = MemoKeyOf(f.user_agent.empty() ? request.user_agent : f.user_agent);
  p->page_url = MemoKeyOf(f.page_url);
  p->ip = MemoKeyOf(f.ip.empty() ? request.client_ip : f.ip);
  p->referrer = MemoKeyOf(f.referrer);
  p->sender = SenderKeyOf(e);
}

Sessionizer::SenderKey Enricher::SenderKeyOf(const event::Event& e) {
  if (e.session_id.empty()) {
    return Sessionizer::KeyOf(e.tenant, !e.user_id.empty() ? e.user_id : e.anonymous_id);
  }
  // A client's own session id keeps its id; it is keyed apart from senders' ids.
  thread_local std::string client_key;
  client_key.assign("\x01").append(e.session_id);
  return Sessionizer::KeyOf(e.tenant, client_key);
}

void Enricher::Enrich(const RequestContext& request, event::Event* e) {
  Prepared prepared;
  Prepare(request, *e, &prepared);
  ProfileReuse reuse;
  Process(request, &prepared, e, &reuse, nullptr);
}

void Enricher::EnrichBatch(const RequestContext& request, std::vector<event::Event>* events) {
  // Every context is read and hashed first; then, while an event is enriched, the lookups of the
  // one kPrefetchDistance places later are started, so that their cache misses overlap with the
  // work in between instead of following one another. A browser's batch is mostly one sender's:
  // its session and profile are loaded once, and a page's events share one context, which is
  // looked up once (KeptContext).
  constexpr size_t kPrefetchDistance = 6;
  thread_local std::vector<Prepared> prepared;
  thread_local KeptContext kept;
  const size_t n = events->size();
  prepared.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const event::Event& e = (*events)[i];
    if (i > 0 && prepared[i - 1].scanned && e.context_json == (*events)[i - 1].context_json) {
      PrepareLike((*events)[i - 1], &prepared[i - 1], e, &prepared[i]);
    } else {
      Prepare(request, e, &prepared[i]);
    }
  }
  Memos& memos = ThreadMemos();
  auto prefetch = [&](size_t i) {
    const event::Event& e = (*events)[i];
    const Prepared& p = prepared[i];
    if (!p.scanned) return;
    if (!p.same_context) {
      memos.pages.Prefetch(p.page_url);
      memos.referrers.Prefetch(p.referrer);
      if (geo_ != nullptr) memos.places.Prefetch(p.ip);
    }
    if ((e.flags & event::kFlagAnonymized) != 0) return;
    const bool same_sender = i > 0 && prepared[i - 1].scanned &&
                             prepared[i - 1].sender.hash == p.sender.hash &&
                             (*events)[i - 1].user_id == e.user_id;
    if (same_sender) return;
    if (!e.user_id.empty() || !e.anonymous_id.empty()) sessions_.Prefetch(p.sender);
    if (profiles_ != nullptr && !e.user_id.empty()) profiles_->Prefetch(e.tenant, e.user_id);
  };
  for (size_t i = 0; i < std::min(n, kPrefetchDistance); ++i) prefetch(i);
  ProfileReuse reuse;
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchDistance < n) prefetch(i + kPrefetchDistance);
    Process(request, &prepared[i], &(*events)[i], &reuse, &kept);
  }
}

void Enricher::AddContextMembers(const RequestContext& request, const Prepared& prepared,
                                 std::string* add, std::string* clean_path,
                                 ContextView* view) const {
  const ContextFields& fields = prepared.fields;
  using K = ContextFields;
  Memos& memos = ThreadMemos();
  add->clear();

  if (geo_ != nullptr && !fields.has(K::kCountry)) {
    const std::string_view ip = fields.ip.empty() ? request.client_ip : fields.ip;
    GeoParts scratch;
    const GeoParts& where = Memoized(
        memos.places, memo_owner_, ip, prepared.ip,
        [&](std::string_view address) {
          GeoParts parts;
          if (std::optional<GeoLocation> found = geo_->Lookup(address)) {
            parts.found = true;
            AddString(&parts.country, "country", found->country);
            AddString(&parts.region, "region", Clean(found->region));
          }
          return parts;
        },
        &scratch);
    if (where.found) {
      if (!where.country.empty()) AddMember(add, where.country);
      if (!fields.has(K::kRegion)) AddMember(add, where.region);
    }
  }

  if (user_agents_ != nullptr) {
    const std::string_view header =
        fields.user_agent.empty() ? std::string_view(request.user_agent) : fields.user_agent;
    if (!header.empty()) {
      UserAgentParts scratch;
      const UserAgentParts& ua = Memoized(
          memos.user_agents, memo_owner_, header, prepared.user_agent,
          [&](std::string_view h) {
            const UserAgent parsed = user_agents_->Parse(h);
            UserAgentParts parts;
            AddString(&parts.browser, "name", Clean(parsed.browser.family));
            AddString(&parts.browser, "version",
                      Clean(Version(parsed.browser.major, parsed.browser.minor)));
            AddString(&parts.os, "name", Clean(parsed.os.family));
            AddString(&parts.os, "version", Clean(Version(parsed.os.major, parsed.os.minor)));
            parts.device = parsed.device_type;
            return parts;
          },
          &scratch);
      if (!fields.has(K::kBrowser)) AddObject(add, "browser", ua.browser);
      if (!fields.has(K::kOs)) AddObject(add, "os", ua.os);
      if (!fields.has(K::kDevice)) {
        AddString(add, "device", ua.device);
      } else if (fields.device_is_object && !fields.has(K::kDeviceType)) {
        AddString(add, "device_type", ua.device);
      }
    }
  }
  // Page, referrer and campaign.
  const std::string_view page_url = fields.page_url, referrer = fields.referrer;
  std::string_view page_path = fields.page_path;
  thread_local PageFacts page_scratch;  // the views below may point into it
  const PageFacts& page_facts = Memoized(
      memos.pages, memo_owner_, page_url, prepared.page_url,
      [](std::string_view url) {
        PageFacts facts;
        facts.url_changed = ScrubUrl(url, &facts.clean_url);
        if (std::optional<ParsedUrl> parsed = ParseUrl(url)) {
          // The path as stored: from the scrubbed URL (ScrubUrl percent-decodes segments).
          if (facts.url_changed) {
            std::optional<ParsedUrl> clean = ParseUrl(facts.clean_url);
            facts.path = clean ? Clean(clean->path) : std::string();
          } else {
            facts.path = Clean(parsed->path);
          }
          facts.host = std::move(parsed->host);
          facts.utm = ExtractUtm(parsed->query);
          AddString(&facts.campaign, "source", facts.utm.source);
          AddString(&facts.campaign, "medium", facts.utm.medium);
          AddString(&facts.campaign, "name", facts.utm.campaign);
          AddString(&facts.campaign, "term", facts.utm.term);
          AddString(&facts.campaign, "content", facts.utm.content);
          facts.tagged = facts.utm.Tagged();
          facts.campaign_channel = ChannelOfCampaign(facts.utm);
          facts.site = PageSiteOf(url);
        }
        return facts;
      },
      &page_scratch);
  thread_local ReferrerFacts referrer_scratch;
  const ReferrerFacts& referrer_facts = Memoized(
      memos.referrers, memo_owner_, referrer, prepared.referrer,
      [](std::string_view url) {
        ReferrerFacts facts;
        facts.host = Clean(ReferrerHost(url));
        AddString(&facts.member, "referrer_host", facts.host);
        facts.channel = ReferrerChannelFactsOf(url);
        facts.changed = ScrubUrl(url, &facts.clean);
        return facts;
      },
      &referrer_scratch);
  // The sender's own page.path goes into the session as its entry page: scrubbed like a URL.
  if (MayNeedScrubbing(page_path) && ScrubUrl(page_path, clean_path)) page_path = *clean_path;
  if (page_path.empty()) page_path = page_facts.path;
  const Utm& utm = page_facts.utm;
  // The channel, from what the page's and the referrer's memos keep of them.
  const Channel channel_kind = CombineChannel(page_facts.campaign_channel, referrer_facts.channel,
                                              page_facts.site, page_facts.tagged);
  view->entry_path = page_path;
  view->referrer_host = referrer_facts.host;
  view->channel = ChannelName(channel_kind);
  view->utm_source = utm.source;
  view->utm_medium = utm.medium;
  view->utm_campaign = utm.campaign;
  view->has_page = !page_url.empty() || !referrer.empty();
  view->url_changed = page_facts.url_changed;
  view->clean_url = page_facts.clean_url;
  view->referrer_changed = referrer_facts.changed;
  view->clean_referrer = referrer_facts.clean;
  if (view->has_page) {
    if (!fields.has(K::kCampaign)) AddObject(add, "campaign", page_facts.campaign);
    if (!fields.has(K::kReferrerHost)) AddMember(add, referrer_facts.member);
    if (!fields.has(K::kChannel)) AddMember(add, ChannelMember(channel_kind));
  }
}

void Enricher::Process(const RequestContext& request, Prepared* prepared, event::Event* e,
                       ProfileReuse* reuse, KeptContext* kept) {
  thread_local simdjson::dom::parser parser;
  if (!prepared->scanned) {
    if (!ParseContextFields(e->context_json, parser, &prepared->fields)) {
      return;  // the decoder only passes objects
    }
    Keys(request, *e, prepared);
  }
  const ContextFields& fields = prepared->fields;
  using K = ContextFields;
  thread_local std::string add;  // members to append, comma-separated
  std::string clean_path;        // the entry path, when ScrubUrl changed it
  ContextView view;
  if (prepared->same_context) {
    add.assign(kept->members);
    view = kept->view;
  } else {
    AddContextMembers(request, *prepared, &add, &clean_path, &view);
    if (prepared->keep_context) kept->Keep(view, add);
  }

  const bool anonymized = (e->flags & event::kFlagAnonymized) != 0;
  const std::string_view sender = !e->user_id.empty() ? e->user_id : e->anonymous_id;
  if (!anonymized && !sender.empty()) {
    SessionSeed first;
    first.entry_path = view.entry_path;
    if (view.has_page) {
      first.referrer_host = view.referrer_host;
      first.channel = view.channel;
      first.utm_source = view.utm_source;
      first.utm_medium = view.utm_medium;
      first.utm_campaign = view.utm_campaign;
    }
    // A client's own session id keeps its id; the context is its first event's all the same.
    thread_local Sessionizer::Rendered session;
    const bool own_id = !e->session_id.empty();
    sessions_.Assign(prepared->sender, e->timestamp_ms, e->received_at_ms, first, &session);
    if (!own_id) e->session_id = session.id;
    if (!fields.has(K::kSession)) {
      if (!add.empty()) add.push_back(',');
      add.append(R"("session":{"id":)");
      if (own_id) {
        event::AppendJsonString(Clean(e->session_id), &add);
      } else {
        add.append(1, '"').append(session.id).push_back('"');  // letters only (Sessionizer)
      }
      add.append(session.members_after_id).push_back('}');
    }
  }

  if (!anonymized && profiles_ != nullptr && !e->user_id.empty()) {
    if (e->type == "identify") {
      thread_local simdjson::dom::parser properties_parser;  // `context` may live in `parser`
      object properties;
      element traits;
      if (properties_parser.parse(e->properties_json.data(), e->properties_json.size())
                  .get_object()
                  .get(properties) == simdjson::SUCCESS &&
          properties["traits"].get(traits) == simdjson::SUCCESS && traits.is_object()) {
        profiles_->Identify(e->tenant, e->user_id, simdjson::minify(traits));
      }
    }
    if (!fields.has(K::kProfile)) {
      // The previous event's user (within one request, and no identify call since): its profile.
      if (reuse->user_id != e->user_id || e->type == "identify") {
        reuse->user_id.assign(e->user_id);
        reuse->profile = profiles_->Find(e->tenant, e->user_id);
      }
      if (reuse->profile) AddObject(&add, "profile", reuse->profile->members);
    } else {
      reuse->user_id.clear();
    }
  }

  if (!add.empty()) {
    std::string& json = e->context_json;
    json.reserve(json.size() + 1 + add.size());
    json.pop_back();  // '}'
    const size_t tail_start = json.size();
    if (json.size() > 1) json.push_back(',');
    json.append(add).push_back('}');
    e->clean_context_tail = static_cast<uint32_t>(json.size() - 1 - tail_start);
  }
  // URLs may carry personal data in their query (e-mails, tokens): the stored copy has it removed.
  if (view.url_changed || view.referrer_changed) {
    nlohmann::json doc = nlohmann::json::parse(e->context_json, nullptr, false);
    if (doc.is_object() && doc["page"].is_object()) {
      if (view.url_changed) doc["page"]["url"] = view.clean_url;
      if (view.referrer_changed) doc["page"]["referrer"] = view.clean_referrer;
      e->context_json = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      e->clean_context_tail = 0;  // members reordered
    }
  }
}

}  // namespace ca::ingest
