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
