#include "query/random_query.h"

#include <algorithm>
#include <set>

#include "event/catalogue.h"
#include "event/timestamp.h"
#include "query/spec.h"

namespace ca::query {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

constexpr int64_t kHourMs = 3600000;
constexpr int64_t kDayMs = 24 * kHourMs;

const std::vector<std::string> kStatuses = {"applied",  "screening", "interview", "offer",
                                            "rejected", "withdrawn", "ghosted"};
const std::vector<std::string> kPaths = {"/",
                                         "/jobs",
                                         "/jobs/j1",
                                         "/jobs/j12",
                                         "/search",
                                         "/search?q=c++",
                                         "/a/b/c",
                                         "/\xC3\xBC"
                                         "ber",
                                         "/Jobs",
                                         "/settings"};
const std::vector<std::string> kSources = {"search", "recommendations", "email", "direct",
                                           "Search"};
const std::vector<std::string> kCountries = {"DE", "US", "IN", "FR", "de"};
const std::vector<std::string> kDevices = {"mobile", "desktop", "tablet"};
const std::vector<std::string> kTimeZones = {"UTC", "Europe/Berlin", "America/New_York",
                                             "Asia/Kolkata", "Asia/Kathmandu"};

/// The typical order of a job search, so that funnels and paths find chains.
const std::vector<std::string> kChain = {"page_view",
                                         "search",
                                         "job_view",
                                         "job_save",
                                         "job_apply",
                                         "application_status_changed",
                                         "interview_scheduled",
                                         "interview_feedback",
                                         "offer_received",
                                         "offer_accepted"};

const std::vector<std::string> kApplicationTypes = {
    "job_apply",           "application_status_changed",
    "interview_scheduled", "interview_feedback",
    "offer_received",      "offer_accepted",
    "offer_rejected",      "follow_up"};

/// A multiple of 0.25 in [lo, hi] (as a double; exact sums in any order).
double Quarter(TestRng& rng, int lo, int hi) {
  return static_cast<double>(rng.Range(int64_t{lo} * 4, int64_t{hi} * 4)) / 4.0;
}

/// An id-like string that is sometimes missing, empty or not a string.
void MaybeId(TestRng& rng, Json* obj, const char* key, const std::string& value) {
  uint64_t r = rng.Below(100);
  if (r < 84) {
    (*obj)[key] = value;
  } else if (r < 89) {
    // missing
  } else if (r < 93) {
    (*obj)[key] = static_cast<int>(rng.Below(30));
  } else if (r < 97) {
    (*obj)[key] = "";
  } else if (r < 99) {
    (*obj)[key] = nullptr;
  } else {
    (*obj)[key] = Json::object({{"id", value}});
  }
}

struct Builder {
  TestRng& rng;
  RandomDataset& data;
  std::map<std::string, std::set<std::string>> strings;
  std::map<std::string, std::set<std::string>> property_values;  // dumped JSON
  std::set<double> numbers;

  Json Properties(const std::string& type, const std::string& application_id) {
    Json p = Json::object();
    std::string job = "j" + std::to_string(rng.Below(26));
    if (type.rfind("job_", 0) == 0) {
      MaybeId(rng, &p, "job_id", job);
      if (rng.Chance(0.6)) p["source"] = rng.Pick(kSources);
      if (rng.Chance(0.4)) p["remote"] = rng.Chance(0.5);
      if (rng.Chance(0.3)) p["salary"] = static_cast<int>(rng.Range(30, 150)) * 1000;
      // Integers beyond 2^53 compare as doubles (never summed: not `value`).
      if (rng.Chance(0.03)) p["salary"] = (int64_t{1} << 53) + static_cast<int64_t>(rng.Below(3));
      if (type == "job_apply" && rng.Chance(0.5))
        MaybeId(rng, &p, "application_id", application_id);
    } else if (type == "application_status_changed") {
      MaybeId(rng, &p, "application_id", application_id);
      uint64_t r = rng.Below(100);
      if (r < 92) {
        p["status"] = rng.Pick(kStatuses);
      } else if (r < 94) {
        p["status"] = 7;
      } else if (r < 96) {
        p["status"] = "";
      } else if (r < 98) {
        p["status"] = "Interview";
      }
      if (rng.Chance(0.2)) MaybeId(rng, &p, "job_id", job);
    } else if (std::find(kApplicationTypes.begin(), kApplicationTypes.end(), type) !=
               kApplicationTypes.end()) {
      MaybeId(rng, &p, "application_id", application_id);
      if (type == "interview_feedback") {
        p["rating"] = static_cast<int>(rng.Range(1, 5));
        if (rng.Chance(0.5)) p["value"] = static_cast<int>(rng.Range(1, 5));
      }
    } else if (type == "time_spent") {
      uint64_t r = rng.Below(10);
      if (r < 7) {
        p["seconds"] = Quarter(rng, 0, 600);
      } else if (r < 8) {
        p["seconds"] = "12";
      } else {
        p["seconds"] = Quarter(rng, 0, 600);
        p["value"] = Quarter(rng, 0, 50);
      }
    } else if (type == "perf_metric") {
      p["name"] = rng.Pick(std::vector<std::string>{"lcp", "fid", "cls"});
      p["value"] = Quarter(rng, -20, 3000);
    } else if (type == "task_run") {
      p["task"] = rng.Pick(std::vector<std::string>{"sync", "email", "report"});
      p["status"] = rng.Pick(std::vector<std::string>{"ok", "failed", "interview"});
    } else if (type == "search") {
      p["query"] = rng.Pick(std::vector<std::string>{"", "c++", "rust dev", "caf\xC3\xA9", "a\"b"});
      p["results"] = static_cast<int>(rng.Below(200));
    } else if (type == "filter_change") {
      p["filter"] = rng.Pick(std::vector<std::string>{"remote", "salary", "city"});
    } else if (type == "form_submit") {
      p["form_id"] = rng.Pick(std::vector<std::string>{"signup", "profile", "cv"});
    } else if (type == "error") {
      p["message"] = rng.Pick(std::vector<std::string>{"timeout", "", "500"});
    } else if (type == "resume_upload") {
      p["format"] = rng.Pick(std::vector<std::string>{"pdf", "docx"});
      p["pages"] = static_cast<int>(rng.Range(1, 6));
      p["meta"] =
          Json::object({{"size", static_cast<int>(rng.Below(5000))},
                        {"parser", Json::object({{"name", "x"}, {"ok", rng.Chance(0.5)}})}});
    }
    // Properties any event may carry.
    if (rng.Chance(0.15)) p["path"] = rng.Chance(0.2) ? std::string() : rng.Pick(kPaths);
    if (rng.Chance(0.15)) {
      uint64_t r = rng.Below(4);
      if (r == 0) {
        p["score"] = static_cast<int>(rng.Range(-3, 10));
      } else if (r == 1) {
        p["score"] = Quarter(rng, -3, 10);
      } else if (r == 2) {
        p["score"] = "5";
      } else {
        p["score"] = true;
      }
    }
    if (rng.Chance(0.05) && !p.contains("value")) {
      p["value"] = rng.Chance(0.5) ? Json("5") : Json(true);
    }
    if (rng.Chance(0.05) && !p.contains("value")) p["value"] = static_cast<int>(rng.Range(0, 9));
    if (rng.Chance(0.05)) p["nullprop"] = nullptr;
    if (rng.Chance(0.1)) p["$browser"] = rng.Pick(std::vector<std::string>{"firefox", "chrome"});
    if (rng.Chance(0.05)) p["a-b"] = static_cast<int>(rng.Below(3));
    if (rng.Chance(0.05)) p["tags"] = Json::array({"x", 1});
    if (rng.Chance(0.05) && !p.contains("meta")) p["meta"] = Json::object({{"k", "v"}});
    if (rng.Chance(0.05) && !p.contains("status")) p["status"] = rng.Pick(kStatuses);
    return p;
  }

  Json Context() {
    Json c = Json::object();
    uint64_t r = rng.Below(100);
    if (r < 70) {
      Json page = Json::object();
      uint64_t q = rng.Below(100);
      if (q < 80) {
        page["path"] = rng.Pick(kPaths);
      } else if (q < 87) {
        page["path"] = "";
      } else if (q < 92) {
        page["path"] = 5;
      }
      if (rng.Chance(0.5)) page["url"] = "https://example.com/x";
      if (rng.Chance(0.3)) page["title"] = "Jobs";
      c["page"] = std::move(page);
    } else if (r < 73) {
      c["page"] = "oops";
    }
    if (rng.Chance(0.7)) c["country"] = rng.Chance(0.95) ? Json(rng.Pick(kCountries)) : Json(49);
    if (rng.Chance(0.7)) c["device"] = rng.Pick(kDevices);
    if (rng.Chance(0.3)) c["user_agent"] = "Mozilla/5.0";
    return c;
  }

  void Record(const event::Event& e, const Json& p, const Json& c) {
    auto str = [](const Json& obj, const char* key) -> std::string {
      if (!obj.is_object()) return "";
      auto it = obj.find(key);
      if (it == obj.end() || !it->is_string()) return "";
      return it->get<std::string>();
    };
    auto add = [&](const std::string& field, const std::string& v) {
      if (!v.empty()) strings[field].insert(v);
    };
    add("type", e.type);
    add("event_id", e.event_id);
    add("user_id", e.user_id);
    add("anonymous_id", e.anonymous_id);
    add("session_id", e.session_id);
    add("job_id", str(p, "job_id"));
    add("application_id", str(p, "application_id"));
    add("status", str(p, "status"));
    std::string path = c.contains("page") ? str(c["page"], "path") : "";
    add("path", path.empty() ? str(p, "path") : path);
    add("country", str(c, "country"));
    add("device", str(c, "device"));
    for (const auto& [k, v] : p.items()) {
      if (v.is_primitive() && !v.is_null()) property_values[k].insert(v.dump());
    }
    for (const char* k : {"value", "seconds"}) {
      auto it = p.find(k);
      if (it != p.end() && it->is_number()) numbers.insert(it->get<double>());
    }
  }
};

/// s[start, start + len) widened to whole UTF-8 characters (spec JSON must be valid UTF-8).
std::string Utf8Substr(const std::string& s, size_t start, size_t len) {
  auto continuation = [&](size_t i) { return i < s.size() && (s[i] & 0xC0) == 0x80; };
  size_t end = std::min(s.size(), start + len);
  while (start > 0 && continuation(start)) --start;
  while (continuation(end)) ++end;
  return s.substr(start, end - start);
}

std::string EventId(TestRng& rng, size_t i) {
  switch (rng.Below(4)) {
    case 0:
      return "e" + std::to_string(i);
    case 1:
      return "E" + std::to_string(i);
    case 2: {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string s;
      for (int k = 0; k < 8; ++k) s += kHex[rng.Below(16)];
      return s + "-" + std::to_string(i);
    }
    default:
      return "ev_" + std::to_string(i * 7919 % 100003) + "_" + std::to_string(i);
  }
}

std::string FormatTime(TestRng& rng, int64_t ms, OJson* out_number) {
  uint64_t r = rng.Below(10);
  if (r < 4) {
    *out_number = ms;
    return "";
  }
  if (r < 8) return event::FormatIso8601Millis(ms);
  // The same instant written with an offset.
  static const std::vector<std::pair<int64_t, std::string>> kOffsets = {
      {kHourMs, "+01:00"}, {-5 * kHourMs, "-05:00"}, {11 * kHourMs / 2, "+05:30"}};
  const auto& [off, text] = rng.Pick(kOffsets);
  std::string s = event::FormatIso8601Millis(ms + off);
  s.pop_back();  // 'Z'
  return s + text;
}

}  // namespace

uint64_t TestRng::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

const std::vector<std::string>& RandomEventTypes() {
  // The catalogue's built-in types plus the tenants' custom one.
  static const std::vector<std::string> kTypes = [] {
    std::vector<std::string> types;
    for (const auto& spec : event::BuiltinEventTypes()) types.emplace_back(spec.name);
    types.emplace_back("resume_upload");
    return types;
  }();
  return kTypes;
}

RandomDataset GenerateRandomDataset(uint64_t seed, const RandomDataOptions& options) {
  TestRng rng(seed);
  RandomDataset data;
  data.start_ms = options.start_ms;
  data.end_ms = options.start_ms + options.days * kDayMs;
  Builder b{rng, data, {}, {}, {}};
  const auto& types = RandomEventTypes();
  for (int t = 0; t < options.tenants; ++t) {
    std::string tenant = "t" + std::to_string(t);
    data.tenants.push_back(tenant);
    int users = static_cast<int>(rng.Range(options.min_users, options.max_users));
    std::vector<std::string> user_ids;
    for (int u = 0; u < users; ++u) {
      switch (rng.Below(6)) {
        case 0:
          user_ids.push_back("user_" + std::to_string(u));
          break;
        case 1:
          user_ids.push_back("U" + std::to_string(u));
          break;
        case 2:
          user_ids.push_back("\xC3\xBC" + std::to_string(u));  // "ü": sorts after ASCII
          break;
        default:
          user_ids.push_back("u" + std::to_string(u));
      }
    }
    int n = static_cast<int>(rng.Range(options.min_events, options.max_events));
    size_t apps = 10 + rng.Below(40);
    int64_t prev_ts = data.start_ms;
    size_t made = 0;
    while (made < static_cast<size_t>(n)) {
      // A burst of one actor's activity.
      bool anonymous = rng.Chance(options.anonymous_share);
      // Skewed: a few heavy users with many bursts (long sequences for funnels and paths).
      std::string user = anonymous ? "" : user_ids[rng.Below(rng.Below(user_ids.size()) + 1)];
      std::string anon =
          anonymous || rng.Chance(0.2) ? "anon-" + std::to_string(rng.Below(60)) : std::string();
      std::string session = rng.Chance(0.8) ? "s" + std::to_string(rng.Below(400)) : "";
      std::string application = "app-" + std::to_string(rng.Below(apps));
      int64_t ts;
      uint64_t where = rng.Below(100);
      // Some activity outside every range the spec generator draws (a few days only, so that
      // the store does not get many more partitions).
      if (where < 3) {
        ts = data.start_ms - rng.Range(5, 8) * kDayMs + rng.Range(0, kDayMs - 1);
      } else if (where < 6) {
        ts = data.end_ms + rng.Range(75, 78) * kDayMs + rng.Range(0, kDayMs - 1);
      } else {
        ts = data.start_ms + rng.Range(0, options.days * kDayMs - 1);
      }
      if (rng.Chance(0.3)) ts -= ts % 1000;      // whole seconds: more ties
      if (rng.Chance(0.08)) ts -= ts % kHourMs;  // on bucket and range boundaries
      size_t len = 1 + rng.Below(10);
      size_t chain_pos = rng.Below(kChain.size());
      for (size_t k = 0; k < len && made < static_cast<size_t>(n); ++k, ++made) {
        std::string type;
        if (rng.Chance(0.55)) {
          type = kChain[chain_pos];
          chain_pos = std::min(chain_pos + 1 + rng.Below(2), kChain.size() - 1);
        } else {
          type = rng.Pick(types);
        }
        if (k > 0) {
          uint64_t g = rng.Below(100);
          if (g < static_cast<uint64_t>(options.tie_share * 100)) {
            // same millisecond
          } else if (g < 60) {
            ts += rng.Range(1, 600) * 1000;
          } else if (g < 85) {
            ts += rng.Range(1, 48) * kHourMs;
          } else {
            ts += rng.Range(1, 20) * kDayMs + rng.Range(0, kDayMs);
          }
        }
        if (rng.Chance(0.03)) ts = prev_ts;  // a tie with another actor
        prev_ts = ts;
        event::Event e;
        e.tenant = tenant;
        e.event_id = EventId(rng, made);
        e.type = type;
        e.user_id = user;
        e.anonymous_id = anon;
        e.session_id = session;
        e.timestamp_ms = ts;
        e.received_at_ms = ts + rng.Range(0, 5000);
        Json p = b.Properties(type, application);
        Json c = b.Context();
        e.properties_json = p.dump();
        e.context_json = c.dump();
        b.Record(e, p, c);
        data.events.push_back(std::move(e));
      }
    }
  }
  for (auto& [k, v] : b.strings) data.strings[k].assign(v.begin(), v.end());
  for (auto& [k, v] : b.property_values) {
    for (const auto& s : v) data.property_values[k].push_back(Json::parse(s));
  }
  data.numbers.assign(b.numbers.begin(), b.numbers.end());
  return data;
}

RandomSpecGenerator::RandomSpecGenerator(const RandomDataset& data, uint64_t seed,
                                         RandomSpecOptions options)
    : data_(data), rng_(seed), options_(options) {}

std::string RandomSpecGenerator::EventType() {
  if (rng_.Chance(0.03)) return "no_such_event";
  if (rng_.Chance(0.08)) return "*";
  if (rng_.Chance(0.5)) return rng_.Pick(kChain);
  return rng_.Pick(RandomEventTypes());
}

std::string RandomSpecGenerator::FieldValue(const std::string& field) {
  auto it = data_.strings.find(field);
  if (rng_.Chance(0.2) || it == data_.strings.end() || it->second.empty()) {
    return rng_.Pick(std::vector<std::string>{"nope", "J1", "/jobs/", "u1", "app-1x", "Interview"});
  }
  return rng_.Pick(it->second);
}

OJson RandomSpecGenerator::Number() {
  uint64_t r = rng_.Below(10);
  if (r < 5 && !data_.numbers.empty()) {
    double d = rng_.Pick(data_.numbers);
    if (d == static_cast<double>(static_cast<int64_t>(d)) && rng_.Chance(0.5)) {
      return static_cast<int64_t>(d);
    }
    return d;
  }
  if (r < 7) return rng_.Range(-5, 600);
  if (r < 8) {
    // 0 and 1 (not equal to false and true), 2^53 (equal, as a double, to 2^53 + 1).
    static const std::vector<int64_t> kSpecial = {0, 1, int64_t{1} << 53};
    return rng_.Pick(kSpecial);
  }
  return Quarter(rng_, -5, 600);
}

OJson RandomSpecGenerator::Filter() {
  static const std::vector<std::string> kStringFields = {
      "type",           "event_id", "user_id", "anonymous_id", "session_id", "job_id",
      "application_id", "status",   "path",    "country",      "device"};
  static const std::vector<std::string> kProperties = {
      "job_id",  "application_id", "status",       "source", "remote",   "score",    "value",
      "seconds", "salary",         "meta",         "path",   "nullprop", "$browser", "a-b",
      "query",   "rating",         "missing_prop", "tags",   "format",   "pages"};
  OJson f = OJson::object();
  uint64_t target = rng_.Below(100);
  if (target < 45) {
    std::string field = rng_.Pick(kStringFields);
    f["field"] = field;
    uint64_t op = rng_.Below(100);
    if (op < 30) {
      f["op"] = "eq";
      f["value"] = FieldValue(field);
    } else if (op < 45) {
      f["op"] = "neq";
      f["value"] = FieldValue(field);
    } else if (op < 65) {
      f["op"] = "in";
      OJson values = OJson::array();
      size_t n = 1 + rng_.Below(4);
      for (size_t i = 0; i < n; ++i) values.push_back(FieldValue(field));
      f["value"] = std::move(values);
    } else if (op < 80) {
      f["op"] = "contains";
      std::string v = FieldValue(field);
      size_t start = rng_.Below(v.size());
      f["value"] = Utf8Substr(v, start, 1 + rng_.Below(v.size() - start));
    } else {
      f["op"] = "exists";
    }
    return f;
  }
  if (target < 60) {
    f["field"] = "value";
    static const std::vector<std::string> kOps = {"eq", "neq", "in", "gt", "lt", "exists"};
    std::string op = rng_.Pick(kOps);
    f["op"] = op;
    if (op == "in") {
      OJson values = OJson::array();
      size_t n = 1 + rng_.Below(4);
      for (size_t i = 0; i < n; ++i) values.push_back(Number());
      f["value"] = std::move(values);
    } else if (op != "exists") {
      f["value"] = Number();
    }
    return f;
  }
  std::string name = rng_.Pick(kProperties);
  f["property"] = name;
  auto seen = [&]() -> OJson {
    auto it = data_.property_values.find(name);
    if (it == data_.property_values.end() || it->second.empty() || rng_.Chance(0.3)) {
      switch (rng_.Below(4)) {
        case 0:
          return rng_.Chance(0.3) ? std::string() : std::string("nope");
        case 1:
          return Number();
        case 2:
          return rng_.Chance(0.5);
        default:
          return rng_.Chance(0.5) ? OJson("5") : OJson("true");
      }
    }
    return OJson::parse(rng_.Pick(it->second).dump());
  };
  static const std::vector<std::string> kOps = {"eq", "neq", "in",    "contains",
                                                "gt", "lt",  "exists"};
  std::string op = rng_.Pick(kOps);
  f["op"] = op;
  if (op == "in") {
    OJson values = OJson::array();
    size_t n = 1 + rng_.Below(4);
    for (size_t i = 0; i < n; ++i) values.push_back(seen());
    f["value"] = std::move(values);
  } else if (op == "contains") {
    OJson v = seen();
    std::string s = v.is_string() ? v.get<std::string>() : "o";
    if (s.empty()) s = rng_.Chance(0.5) ? "" : "e";
    size_t start = s.empty() ? 0 : rng_.Below(s.size());
    f["value"] = Utf8Substr(s, start, rng_.Below(s.size() - start + 1));
  } else if (op == "gt" || op == "lt") {
    f["value"] = Number();
  } else if (op != "exists") {
    f["value"] = seen();
  }
  return f;
}

OJson RandomSpecGenerator::Filters(size_t max) {
  OJson out = OJson::array();
  size_t n = rng_.Below(max + 1);
  for (size_t i = 0; i < n; ++i) out.push_back(Filter());
  return out;
}

OJson RandomSpecGenerator::Matcher(size_t max_filters) {
  OJson m = OJson::object();
  m["event"] = EventType();
  if (rng_.Chance(0.35)) m["filters"] = Filters(max_filters);
  return m;
}

void RandomSpecGenerator::Common(OJson* spec, bool short_range) {
  int64_t day = data_.start_ms / kDayMs + rng_.Range(-3, (data_.end_ms - data_.start_ms) / kDayMs);
  int64_t from = day * kDayMs;
  if (rng_.Chance(0.5)) {
    // A local midnight of one of the zones (standard or summer time).
    static const std::vector<int64_t> kShifts = {0,
                                                 -kHourMs,
                                                 -2 * kHourMs,
                                                 5 * kHourMs,
                                                 4 * kHourMs,
                                                 -11 * kHourMs / 2,
                                                 -(5 * kHourMs + 45 * 60000)};
    from += rng_.Pick(kShifts);
  } else {
    from += rng_.Range(0, kDayMs - 1);
  }
  int64_t length;
  if (short_range) {
    length = rng_.Range(1, 5 * 24) * kHourMs;
  } else {
    uint64_t r = rng_.Below(10);
    if (r < 2) {
      length = rng_.Range(1, 72) * kHourMs;
    } else if (r < 6) {
      length = rng_.Range(1, 14) * kDayMs;
    } else {
      length = rng_.Range(14, 70) * kDayMs;
    }
  }
  if (rng_.Chance(0.3)) length += rng_.Range(1, kHourMs);
  int64_t to = from + length;
  OJson number;
  std::string text = FormatTime(rng_, from, &number);
  (*spec)["from"] = text.empty() ? number : OJson(text);
  text = FormatTime(rng_, to, &number);
  (*spec)["to"] = text.empty() ? number : OJson(text);
  if (rng_.Chance(0.8)) (*spec)["timezone"] = rng_.Pick(kTimeZones);
  if (rng_.Chance(0.3)) (*spec)["timeout_ms"] = 60000;
  if (rng_.Chance(0.4)) (*spec)["filters"] = Filters(2);
}

OJson RandomSpecGenerator::Spec(std::string_view kind) {
  OJson s = OJson::object();
  s["kind"] = std::string(kind);
  if (kind == "trends") {
    static const std::vector<std::string> kIntervals = {"hour", "day", "week", "month"};
    std::string interval = rng_.Pick(kIntervals);
    Common(&s, interval == "hour");
    if (interval != "day" || rng_.Chance(0.5)) s["interval"] = interval;
    static const std::vector<std::string> kMaths = {"count", "unique_users", "sum", "avg", "min",
                                                    "max",   "p50",          "p90", "p99"};
    OJson series = OJson::array();
    size_t n = 1 + rng_.Below(3);
    for (size_t i = 0; i < n; ++i) {
      OJson m = Matcher(2);
      if (rng_.Chance(0.85)) m["math"] = rng_.Pick(kMaths);
      series.push_back(std::move(m));
    }
    s["series"] = std::move(series);
    if (rng_.Chance(0.5)) {
      static const std::vector<std::string> kFields = {
          "type",           "user_id", "anonymous_id", "session_id", "job_id",
          "application_id", "status",  "path",         "country",    "device"};
      static const std::vector<std::string> kProps = {"source", "status", "job_id",   "remote",
                                                      "meta",   "score",  "$browser", "query"};
      OJson b = OJson::object();
      if (rng_.Chance(0.6)) {
        b["field"] = rng_.Pick(kFields);
      } else {
        b["property"] = rng_.Pick(kProps);
      }
      uint64_t r = rng_.Below(10);
      if (r < 7) {
        b["limit"] = rng_.Range(1, 4);
      } else if (r < 9) {
        b["limit"] = 100;
      }
      s["breakdown"] = std::move(b);
    }
  } else if (kind == "funnel") {
    Common(&s, false);
    bool by_application = rng_.Chance(0.4);
    if (by_application) {
      s["by"] = "application";
    } else if (rng_.Chance(0.5)) {
      s["by"] = "user";
    }
    static const std::vector<int64_t> kWindows = {1000,       60000,       kHourMs,     kDayMs,
                                                  7 * kDayMs, 30 * kDayMs, 365 * kDayMs};
    OJson steps = OJson::array();
    size_t n = 2 + rng_.Below(4);
    // Usually steps in the order of a job search (the data follows it), else anything.
    bool ordered = rng_.Chance(0.6);
    size_t pos = rng_.Below(by_application ? 5 : kChain.size() - 1);
    for (size_t i = 0; i < n; ++i) {
      OJson m = Matcher(1);
      if (ordered) {
        m["event"] = by_application ? kApplicationTypes[std::min<size_t>(pos, 7)]
                                    : kChain[std::min(pos, kChain.size() - 1)];
        pos += 1 + rng_.Below(2);
      } else if (by_application && rng_.Chance(0.8)) {
        m["event"] = rng_.Pick(kApplicationTypes);
      }
      steps.push_back(std::move(m));
    }
    s["steps"] = std::move(steps);
    s["window_ms"] = rng_.Chance(0.8) ? rng_.Pick(kWindows) : rng_.Range(1000, 20 * kDayMs);
  } else if (kind == "retention") {
    Common(&s, false);
    if (rng_.Chance(0.5)) {
      s["period"] = "week";
    } else if (rng_.Chance(0.5)) {
      s["period"] = "day";
    }
    if (rng_.Chance(0.8)) s["periods"] = rng_.Chance(0.1) ? 52 : rng_.Range(1, 10);
    static const std::vector<std::string> kStarts = {"login", "page_view", "job_view", "search"};
    OJson start = Matcher(1);
    if (rng_.Chance(0.6)) start["event"] = rng_.Pick(kStarts);
    OJson ret = Matcher(1);
    if (rng_.Chance(0.3)) {
      ret["event"] = start["event"];
    } else if (rng_.Chance(0.5)) {
      ret["event"] = rng_.Pick(kStarts);
    }
    s["start_event"] = std::move(start);
    s["return_event"] = std::move(ret);
  } else if (kind == "paths") {
    Common(&s, false);
    s["event"] = Matcher(1);
    if (rng_.Chance(0.8)) s["direction"] = rng_.Chance(0.5) ? "next" : "previous";
    if (rng_.Chance(0.8)) s["depth"] = rng_.Range(1, 5);
    if (rng_.Chance(0.8)) s["limit"] = rng_.Chance(0.1) ? 100 : rng_.Range(1, 12);
  } else {
    Common(&s, false);
    uint64_t r = rng_.Below(10);
    if (r < 7) {
      s["limit"] = rng_.Range(1, 40);
    } else if (r < 8) {
      s["limit"] = 1000;
    }
    if (rng_.Chance(0.1)) {
      int64_t ts = data_.start_ms + rng_.Range(0, data_.end_ms - data_.start_ms);
      s["cursor"] = EncodeCursor(ts, FieldValue("event_id"));
    }
  }
  if (rng_.Chance(options_.invalid_share)) {
    // One deliberate violation the parser must reject.
    switch (rng_.Below(4)) {
      case 0:
        s["filters"] = OJson::array({OJson{{"field", "job_id"}, {"op", "eq"}, {"value", 3}}});
        break;
      case 1:
        s["filters"] =
            OJson::array({OJson{{"property", "source"}, {"op", "contains"}, {"value", 3}}});
        break;
      case 2:
        s["filters"] = OJson::array({OJson{{"field", "status"}, {"op", "eq"}, {"value", ""}}});
        break;
      default:
        s["unknown_key"] = 1;
    }
  }
  return s;
}

}  // namespace ca::query
