#include "services/user_data_service.h"

#include <algorithm>

#include "base/clock.h"
#include "event/timestamp.h"

namespace ca::services {
namespace {

using nlohmann::ordered_json;
using store::Column;

constexpr size_t kDeadLetterPage = 1000;

ordered_json ParsedOrText(const std::string& text) {
  ordered_json parsed = ordered_json::parse(text, nullptr, false);
  return parsed.is_discarded() ? ordered_json(text) : parsed;
}

// True when a dead letter's raw event names `user_id` (native user_id, Segment userId, PostHog
// distinct_id, also inside properties).
bool MentionsUser(const std::string& raw, const std::string& user_id) {
  if (raw.find(user_id) == std::string::npos) return false;  // cheap reject
  const nlohmann::json event = nlohmann::json::parse(raw, nullptr, false);
  if (!event.is_object()) return false;
  auto names = [&](const nlohmann::json& object) {
    for (const char* key : {"user_id", "userId", "distinct_id", "$user_id"}) {
      auto it = object.find(key);
      if (it != object.end() && it->is_string() && it->get<std::string>() == user_id) return true;
    }
    return false;
  };
  if (names(event)) return true;
  auto properties = event.find("properties");
  return properties != event.end() && properties->is_object() && names(*properties);
}

ordered_json MetricsJson(const state::DailyUserMetricsRow& row, const char* day_key) {
  const state::UserDayMetrics& m = row.metrics;
  return {{day_key, event::FormatIso8601Millis(row.day * 86'400'000).substr(0, 10)},
          {"page_views", m.page_views},
          {"job_views", m.job_views},
          {"saves", m.saves},
          {"applications", m.applications},
          {"responses", m.responses},
          {"interviews", m.interviews},
          {"offers", m.offers},
          {"seconds_spent", m.seconds_spent}};
}

}  // namespace

ordered_json DeletionReceiptJson(const store::DeletionReceipt& r) {
  return {{"receipt_id", r.receipt_id},
          {"tenant", r.tenant},
          {"user_id", r.user_id},
          {"deleted_at", event::FormatIso8601Millis(r.deleted_at_ms)},
          {"events_masked", r.masked_events},
          {"status", r.removed_at_ms == 0 ? "masked" : "removed"},
          {"removed_at", r.removed_at_ms == 0
                             ? ordered_json(nullptr)
                             : ordered_json(event::FormatIso8601Millis(r.removed_at_ms))}};
}

Result<ordered_json> UserDataService::Export(const std::string& tenant,
                                             const std::string& user_id) {
  if (user_id.empty()) return InvalidArgument("user_id is required");
  ordered_json out;
  out["tenant"] = tenant;
  out["user_id"] = user_id;
  out["exported_at"] = event::FormatIso8601Millis(NowMillis());
  CA_ASSIGN_OR_RETURN(std::optional<std::string> traits,
                      parts_.state->GetUserTraits(tenant, user_id));
  out["traits"] = traits ? ParsedOrText(*traits) : ordered_json(nullptr);
  CA_ASSIGN_OR_RETURN(std::vector<std::string> suppressed,
                      parts_.state->ListSuppressedUsers(tenant));
  out["suppressed"] = std::binary_search(suppressed.begin(), suppressed.end(), user_id);

  ordered_json daily = ordered_json::array();
  CA_ASSIGN_OR_RETURN(auto days,
                      parts_.state->ListDailyUserMetrics(tenant, user_id, INT32_MIN, INT32_MAX));
  for (const auto& row : days) daily.push_back(MetricsJson(row, "day"));
  out["daily_metrics"] = std::move(daily);
  ordered_json weekly = ordered_json::array();
  CA_ASSIGN_OR_RETURN(auto weeks,
                      parts_.state->ListWeeklyUserMetrics(tenant, user_id, INT32_MIN, INT32_MAX));
  for (const auto& row : weeks) weekly.push_back(MetricsJson(row, "week_start"));
  out["weekly_metrics"] = std::move(weekly);
  // The activity rows the dashboards read (copies of some of the events below), newest first.
  ordered_json activity = ordered_json::array();
  CA_ASSIGN_OR_RETURN(auto activity_rows,
                      parts_.state->ListUserActivity(tenant, user_id, INT64_MIN, INT64_MAX, 0));
  for (const state::UserActivityRow& row : activity_rows) {
    activity.push_back({{"event_id", row.event_id},
                        {"type", row.type},
                        {"timestamp", event::FormatIso8601Millis(row.timestamp_ms)},
                        {"properties", ParsedOrText(row.properties_json)}});
  }
  out["activity"] = std::move(activity);

  // Every stored event of the user, oldest first.
  struct Row {
    int64_t ts;
    ordered_json event;
  };
  std::vector<Row> rows;
  auto snapshot = parts_.store->Snapshot(tenant);
  if (std::optional<uint32_t> user = snapshot->Lookup(Column::kUser, user_id)) {
    store::ScanRequest scan;
    scan.from_ms = INT64_MIN;
    scan.to_ms = INT64_MAX;
    scan.columns = store::ColumnSet::All();
    scan.user = *user;
    CA_RETURN_IF_ERROR(snapshot->Scan(scan, [&](const store::ColumnBatch& b) {
      const auto& users = b.Ids(Column::kUser);
      for (size_t i = 0; i < b.size(); ++i) {
        if (users[i] != *user) continue;
        ordered_json e;
        e["event_id"] = b.event_id[i];
        e["type"] = snapshot->Name(Column::kType, b.Ids(Column::kType)[i]);
        e["timestamp"] = event::FormatIso8601Millis(b.timestamp[i]);
        e["received_at"] = event::FormatIso8601Millis(b.received_at[i]);
        const std::string_view session =
            snapshot->Name(Column::kSession, b.Ids(Column::kSession)[i]);
        e["session_id"] = session.empty() ? ordered_json(nullptr) : ordered_json(session);
        e["properties"] = ParsedOrText(b.properties[i]);
        e["context"] = ParsedOrText(b.context[i]);
        rows.push_back({b.timestamp[i], std::move(e)});
      }
      return Status::Ok();
    }));
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.ts < b.ts; });
  ordered_json events = ordered_json::array();
  for (Row& r : rows) events.push_back(std::move(r.event));
  out["events"] = std::move(events);

  ordered_json letters = ordered_json::array();
  for (int64_t after = 0;;) {
    CA_ASSIGN_OR_RETURN(auto page, parts_.state->ListDeadLetters(tenant, after, kDeadLetterPage));
    for (const state::DeadLetter& d : page) {
      if (!MentionsUser(d.raw, user_id)) continue;
      letters.push_back({{"id", d.id},
                         {"received_at", event::FormatIso8601Millis(d.received_at_ms)},
                         {"code", d.code},
                         {"message", d.message},
                         {"event", ParsedOrText(d.raw)}});
    }
    if (page.size() < kDeadLetterPage) break;
    after = page.back().id;
  }
  out["dead_letters"] = std::move(letters);

  ordered_json receipts = ordered_json::array();
  for (const auto& r : parts_.store->Deletions()) {
    if (r.tenant == tenant && r.user_id == user_id) receipts.push_back(DeletionReceiptJson(r));
  }
  out["deletions"] = std::move(receipts);
  return out;
}

Result<ordered_json> UserDataService::Delete(const std::string& tenant, const std::string& user_id,
                                             int64_t now_ms) {
  if (user_id.empty()) return InvalidArgument("user_id is required");
  // First no new events of theirs, then away with the old ones.
  CA_RETURN_IF_ERROR(parts_.state->SuppressUsers(tenant, {user_id}, now_ms));
  if (parts_.on_suppressed) CA_RETURN_IF_ERROR(parts_.on_suppressed(tenant));
  // Every event of theirs that passed the old suppression list is appended by now, and was
  // received before this reading of the clock: the mask covers it.
  const int64_t masked_up_to = std::max(now_ms, parts_.now_ms ? parts_.now_ms() : NowMillis());
  CA_ASSIGN_OR_RETURN(store::DeletionReceipt receipt,
                      parts_.store->DeleteUser(tenant, user_id, masked_up_to));
  // The rollups must have read every event taken in before the suppression, so that none of
  // them adds a row back after the user's rows are gone.
  if (parts_.rollups != nullptr && parts_.wal != nullptr) {
    CA_RETURN_IF_ERROR(parts_.rollups->WaitPosition(parts_.wal->appended_lsn(), 30'000));
  }
  CA_RETURN_IF_ERROR(parts_.state->ForgetUser(tenant, user_id));
  std::vector<int64_t> letters;
  for (int64_t after = 0;;) {
    CA_ASSIGN_OR_RETURN(auto page, parts_.state->ListDeadLetters(tenant, after, kDeadLetterPage));
    for (const state::DeadLetter& d : page) {
      if (MentionsUser(d.raw, user_id)) letters.push_back(d.id);
    }
    if (page.size() < kDeadLetterPage) break;
    after = page.back().id;
  }
  if (!letters.empty()) CA_RETURN_IF_ERROR(parts_.state->DeleteDeadLetters(tenant, letters));
  if (parts_.cache != nullptr) parts_.cache->InvalidateTag(cache::UserTag(tenant, user_id));
  ordered_json out = DeletionReceiptJson(receipt);
  out["dead_letters_deleted"] = letters.size();
  out["traits_deleted"] = true;
  out["rollups_deleted"] = true;
  out["cache_dropped"] = parts_.cache != nullptr;
  out["suppressed"] = true;
  return out;
}

}  // namespace ca::services
