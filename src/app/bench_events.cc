#include "app/bench_events.h"

#include <array>
#include <cstdio>
#include <ctime>

namespace ca::app {
namespace {

struct Shape {
  const char* type;
  const char* properties;  // a printf format taking one unsigned long long
};

constexpr std::array<Shape, 4> kShapes = {{
    {"job_view", R"({"job_id":"job-%llu","source":"search","position":3})"},
    {"page_view", R"({"referrer_host":"www.example.com","load_ms":%llu})"},
    {"job_save", R"({"job_id":"job-%llu","list":"favourites"})"},
    {"search", R"({"query":"senior data engineer remote %llu","results":42})"},
}};

std::string Properties(uint64_t id) {
  char buf[160];
  const Shape& shape = kShapes[id % kShapes.size()];
  std::snprintf(buf, sizeof buf, shape.properties, static_cast<unsigned long long>(id % 5000));
  return buf;
}

}  // namespace

std::string NativeBatch(uint64_t first_id, int count, int64_t timestamp_ms) {
  std::string body = "{\"events\":[";
  char buf[640];
  for (int i = 0; i < count; ++i) {
    uint64_t id = first_id + i;
    int n = std::snprintf(
        buf, sizeof buf,
        R"(%s{"event_id":"bench-%llu","type":"%s","user_id":"user-%llu","session_id":"s-%llu",)"
        R"("timestamp":%lld,"properties":%s,"context":{"page":{"path":"/jobs/%llu"},)"
        R"("locale":"en-GB","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"}})",
        i ? "," : "", static_cast<unsigned long long>(id), kShapes[id % kShapes.size()].type,
        static_cast<unsigned long long>(id % 10000), static_cast<unsigned long long>(id / 20),
        static_cast<long long>(timestamp_ms), Properties(id).c_str(),
        static_cast<unsigned long long>(id % 5000));
    body.append(buf, n);
  }
  body += "]}";
  return body;
}

namespace {

constexpr const char* kAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.43 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
};
constexpr const char* kReferrers[] = {
    "https://www.google.com/", "https://www.linkedin.com/feed/",   "",
    "https://t.co/abc",        "https://news.example.org/careers", "https://mail.google.com/"};

// What tells one browser event from another: its sender (user, the last two parts of the IPv4
// address), the page it is on, the page's UTM parameters and the referrer.
struct BrowserEvent {
  uint64_t user;
  uint64_t ip3;
  uint64_t ip4;
  uint64_t page;
  const char* utm;
  const char* referrer;
};

// Appends event `id` (a comma first unless `first`) with the context a browser sends.
void AppendBrowserEvent(bool first, uint64_t id, int64_t timestamp_ms, const BrowserEvent& e,
                        std::string* body) {
  char buf[1536];
  int n = std::snprintf(
      buf, sizeof buf,
      R"(%s{"event_id":"bench-%llu","type":"%s","user_id":"user-%llu",)"
      R"("timestamp":%lld,"properties":%s,"context":{"ip":"%llu.%llu.%llu.%llu",)"
      R"("user_agent":"%s","locale":"en-GB","page":{"url":"https://jobs.example.com/jobs/%llu%s",)"
      R"("path":"/jobs/%llu","referrer":"%s","title":"Senior engineer"}}})",
      first ? "" : ",", static_cast<unsigned long long>(id), kShapes[id % kShapes.size()].type,
      static_cast<unsigned long long>(e.user), static_cast<long long>(timestamp_ms),
      Properties(id).c_str(), static_cast<unsigned long long>(1 + e.user % 223),
      static_cast<unsigned long long>(e.ip3), static_cast<unsigned long long>(e.ip4),
      static_cast<unsigned long long>(e.user % 250 + 1), kAgents[e.user % std::size(kAgents)],
      static_cast<unsigned long long>(e.page), e.utm, static_cast<unsigned long long>(e.page),
      e.referrer);
  body->append(buf, n);
}

constexpr const char* kCampaign = "?utm_source=newsletter&utm_medium=email&utm_campaign=w48";

}  // namespace

std::string NativeBatchWithBrowserContext(uint64_t first_id, int count, int64_t timestamp_ms) {
  std::string body = "{\"events\":[";
  for (int i = 0; i < count; ++i) {
    const uint64_t id = first_id + i;
    const uint64_t user = id % 10000;
    AppendBrowserEvent(i == 0, id, timestamp_ms,
                       {user, id % 50000 / 256 % 256, id % 256, id % 5000,
                        id % 8 == 0 ? kCampaign : "", kReferrers[id % std::size(kReferrers)]},
                       &body);
  }
  body += "]}";
  return body;
}

std::string NativeBatchOfVisits(uint64_t first_id, int count, int64_t timestamp_ms) {
  constexpr uint64_t kVisitEvents = 10;  // what tracker.js sends in one batch
  constexpr uint64_t kEventsPerPage = 3;
  std::string body = "{\"events\":[";
  char referrer[96];
  for (int i = 0; i < count; ++i) {
    const uint64_t id = first_id + i;
    const uint64_t visit = id / kVisitEvents;
    const uint64_t user = visit % 10000;
    const uint64_t step = id % kVisitEvents / kEventsPerPage;  // the visit's page: 0 = landing
    if (step == 0) {
      std::snprintf(referrer, sizeof referrer, "%s", kReferrers[visit % std::size(kReferrers)]);
    } else {
      std::snprintf(referrer, sizeof referrer, "https://jobs.example.com/jobs/%llu",
                    static_cast<unsigned long long>((visit * 7 + step - 1) % 5000));
    }
    AppendBrowserEvent(i == 0, id, timestamp_ms,
                       {user, user / 256 % 256, user % 256, (visit * 7 + step) % 5000,
                        step == 0 && visit % 8 == 0 ? kCampaign : "", referrer},
                       &body);
  }
  body += "]}";
  return body;
}

std::string ClickHouseRows(uint64_t first_id, int count, int64_t timestamp_ms) {
  std::time_t seconds = timestamp_ms / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
  std::string rows;
  char buf[640];
  for (int i = 0; i < count; ++i) {
    uint64_t id = first_id + i;
    std::string props = Properties(id);
    std::string escaped;
    for (char c : props) {
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    int n = std::snprintf(
        buf, sizeof buf,
        R"({"event_id":"bench-%llu","type":"%s","user_id":"user-%llu","session_id":"s-%llu",)"
        R"("ts":"%s","properties":"%s"})"
        "\n",
        static_cast<unsigned long long>(id), kShapes[id % kShapes.size()].type,
        static_cast<unsigned long long>(id % 10000), static_cast<unsigned long long>(id / 20), ts,
        escaped.c_str());
    rows.append(buf, n);
  }
  return rows;
}

}  // namespace ca::app
