#include "query/test_snapshot.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

namespace ca::query {
namespace {

using store::Column;
using store::ColumnBatch;
using Json = nlohmann::json;

// The string at `key` of object `j`, or "" when missing or not a string.
std::string StringAt(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

Json ParseObject(const std::string& s) {
  Json j = Json::parse(s, nullptr, false);
  return j.is_discarded() ? Json::object() : j;
}

template <typename T>
void CopyRows(const std::vector<T>& from, size_t begin, size_t end, std::vector<T>* to) {
  to->insert(to->end(), from.begin() + static_cast<std::ptrdiff_t>(begin),
             from.begin() + static_cast<std::ptrdiff_t>(end));
}

}  // namespace

uint32_t TestSnapshot::Dictionary::Intern(const std::string& s) {
  const auto it = ids.find(s);
  if (it != ids.end()) return it->second;
  const auto id = static_cast<uint32_t>(names.size());
  names.push_back(s);
  ids.emplace(s, id);
  return id;
}

TestSnapshot::TestSnapshot(const std::vector<event::Event>& events, TestSnapshotOptions options)
    : options_(options) {
  options_.max_block_rows = std::clamp<size_t>(options_.max_block_rows, 1, 65536);
  for (const event::Event& e : events) {
    const Json props = ParseObject(e.properties_json);
    const Json ctx = ParseObject(e.context_json);
    rows_.timestamp.push_back(e.timestamp_ms);
    rows_.received_at.push_back(e.received_at_ms);
    rows_.flags.push_back(e.flags);
    const auto put = [&](Column c, const std::string& s) {
      rows_.Ids(c).push_back(dicts_[ColumnBatch::DictIndex(c)].Intern(s));
    };
    put(Column::kUser, e.user_id);
    put(Column::kAnonymous, e.anonymous_id);
    put(Column::kSession, e.session_id);
    put(Column::kType, e.type);
    put(Column::kJob, StringAt(props, "job_id"));
    put(Column::kApplication, StringAt(props, "application_id"));
    put(Column::kStatus, StringAt(props, "status"));
    std::string path;
    const Json* page = nullptr;
    if (ctx.is_object()) {
      const auto it = ctx.find("page");
      if (it != ctx.end()) page = &*it;
    }
    if (page != nullptr && page->is_object() && page->contains("path") &&
        (*page)["path"].is_string()) {
      path = (*page)["path"].get<std::string>();
    }
    if (path.empty()) path = StringAt(props, "path");  // absent or empty: fall back
    put(Column::kPath, path);
    put(Column::kCountry, StringAt(ctx, "country"));
    put(Column::kDevice, StringAt(ctx, "device"));
    double value = store::kNoValue;
    for (const char* key : {"value", "seconds"}) {
      const auto it = props.is_object() ? props.find(key) : props.end();
      if (props.is_object() && it != props.end() && it->is_number()) {
        value = it->get<double>();
        break;
      }
    }
    rows_.value.push_back(value);
    rows_.event_id.push_back(e.event_id);
    rows_.properties.push_back(e.properties_json);
    rows_.context.push_back(e.context_json);
  }
}

std::optional<uint32_t> TestSnapshot::Lookup(Column column, std::string_view value) const {
  const Dictionary& d = dicts_[ColumnBatch::DictIndex(column)];
  const auto it = d.ids.find(std::string(value));
  if (it == d.ids.end()) return std::nullopt;
  return it->second;
}

std::string_view TestSnapshot::Name(Column column, uint32_t id) const {
  return dicts_[ColumnBatch::DictIndex(column)].names[id];
}

uint32_t TestSnapshot::DictionarySize(Column column) const {
  return static_cast<uint32_t>(dicts_[ColumnBatch::DictIndex(column)].names.size());
}

Status TestSnapshot::Scan(const store::ScanRequest& request,
                          const std::function<Status(const ColumnBatch&)>& fn) const {
  std::mt19937_64 rng(options_.seed);
  const size_t n = rows_.size();
  std::vector<std::pair<size_t, size_t>> blocks;
  for (size_t begin = 0; begin < n;) {
    const size_t size = 1 + static_cast<size_t>(rng() % options_.max_block_rows);
    const size_t end = std::min(n, begin + size);
    bool wanted = false;
    for (size_t r = begin; r < end && !wanted; ++r) {
      const int64_t ts = rows_.timestamp[r];
      wanted = ts >= request.from_ms && ts < request.to_ms &&
               (!request.user.has_value() || rows_.Ids(Column::kUser)[r] == *request.user);
    }
    if (wanted || (options_.include_outside_rows && rng() % 4 == 0))
      blocks.emplace_back(begin, end);
    begin = end;
  }
  std::shuffle(blocks.begin(), blocks.end(), rng);
  const auto has = [&](Column c) { return request.columns.Has(c); };
  for (const auto& [begin, end] : blocks) {
    if (options_.block_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.block_delay_ms));
    }
    ColumnBatch b;
    CopyRows(rows_.timestamp, begin, end, &b.timestamp);
    if (has(Column::kReceivedAt)) CopyRows(rows_.received_at, begin, end, &b.received_at);
    if (has(Column::kFlags)) CopyRows(rows_.flags, begin, end, &b.flags);
    for (auto c = static_cast<uint8_t>(Column::kUser); c <= static_cast<uint8_t>(Column::kDevice);
         ++c) {
      const auto col = static_cast<Column>(c);
      if (has(col)) CopyRows(rows_.Ids(col), begin, end, &b.Ids(col));
    }
    if (has(Column::kValue)) CopyRows(rows_.value, begin, end, &b.value);
    if (has(Column::kEventId)) CopyRows(rows_.event_id, begin, end, &b.event_id);
    if (has(Column::kProperties)) CopyRows(rows_.properties, begin, end, &b.properties);
    if (has(Column::kContext)) CopyRows(rows_.context, begin, end, &b.context);
    Status s = fn(b);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace ca::query
