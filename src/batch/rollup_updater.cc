#include "batch/rollup_updater.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "base/clock.h"
#include "batch/daily_metrics.h"
#include "batch/user_activity.h"
#include "event/event_codec.h"
#include "wal/format.h"

namespace ca::batch {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr size_t kRecordsPerRead = 10'000;

int64_t NowMs() { return MonotonicNanos() / 1'000'000; }

bool IsEmpty(const state::UserDayMetrics& m) { return m == state::UserDayMetrics{}; }

}  // namespace

RollupUpdater::RollupUpdater(const wal::Options& wal_options, wal::Wal* wal,
                             state::StateStore* state, store::EventStore* store,
                             RollupOptions options, OnFlushed on_flushed)
    : wal_options_(wal_options),
      wal_(wal),
      state_(state),
      store_(store),
      options_(options),
      on_flushed_(std::move(on_flushed)) {}

Result<std::unique_ptr<RollupUpdater>> RollupUpdater::Open(const wal::Options& wal_options,
                                                           wal::Wal* wal, state::StateStore* state,
                                                           store::EventStore* store,
                                                           RollupOptions options,
                                                           OnFlushed on_flushed) {
  std::unique_ptr<RollupUpdater> updater(
      new RollupUpdater(wal_options, wal, state, store, options, std::move(on_flushed)));
  CA_ASSIGN_OR_RETURN(std::optional<int64_t> recorded, state->ConsumerPosition(kConsumerName));
  wal::Lsn start = 0;
  if (wal != nullptr) {
    CA_RETURN_IF_ERROR(wal->RegisterConsumer(kConsumerName));
    CA_ASSIGN_OR_RETURN(start, wal->ConsumerCheckpoint(kConsumerName));
  } else {
    Result<wal::Lsn> oldest = wal::OldestLsn(wal_options);
    if (oldest.ok()) start = *oldest;
  }
  bool backfill = !recorded.has_value();
  if (recorded) {
    const wal::Lsn oldest = wal != nullptr ? wal->start_lsn() : start;
    if (static_cast<wal::Lsn>(*recorded) < oldest) {
      // The log no longer holds what the state store lacks (e.g. a state store restored from
      // an old backup): what the events say is rebuilt from the event store instead.
      backfill = true;
    } else {
      start = static_cast<wal::Lsn>(*recorded);
    }
  }
  updater->read_lsn_ = start;
  updater->flushed_lsn_ = start;
  {
    std::lock_guard lock(updater->stats_mu_);
    updater->stats_.position = start;
  }
  updater->recompute_marked_at_start_ = backfill && store != nullptr && start > 0;
  updater->stats_.rebuilding = updater->recompute_marked_at_start_;
  if (updater->recompute_marked_at_start_) {
    // Events below `start` are only in the event store: their days are recomputed from it.
    for (const std::string& tenant : store->Tenants()) {
      std::set<int64_t> days;
      store::ScanRequest scan;
      scan.from_ms = INT64_MIN;
      scan.to_ms = INT64_MAX;
      CA_RETURN_IF_ERROR(store->Snapshot(tenant)->Scan(scan, [&](const store::ColumnBatch& b) {
        for (int64_t ts : b.timestamp) days.insert(UtcDay(ts));
        return Status::Ok();
      }));
      if (days.empty()) continue;
      CA_RETURN_IF_ERROR(state->GetOrCreateTenant(tenant).status());
      CA_RETURN_IF_ERROR(
          state->MarkRecomputeDays(tenant, std::vector<int64_t>(days.begin(), days.end()), 0));
    }
  }
  return updater;
}

RollupUpdater::~RollupUpdater() { Stop().IgnoreError(); }

void RollupUpdater::Start() {
  std::lock_guard lock(stop_mu_);
  if (thread_.joinable() || stopping_) return;
  last_flush_ms_ = NowMs();
  thread_ = std::thread([this] { Loop(); });
}

Status RollupUpdater::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(work_mu_);
  if (PendingRows() == 0 && flushed_lsn_ == read_lsn_) return Status::Ok();
  return FlushPending();
}

Status RollupUpdater::CatchUp() {
  std::lock_guard lock(work_mu_);
  while (true) {
    CA_ASSIGN_OR_RETURN(size_t n, ReadSome(kRecordsPerRead));
    if (PendingRows() >= options_.max_pending_rows) CA_RETURN_IF_ERROR(FlushPending());
    if (n < kRecordsPerRead) break;
  }
  return FlushPending();
}

void RollupUpdater::Loop() {
  if (recompute_marked_at_start_) {
    Result<size_t> done = RecomputeMarkedDays();
    std::lock_guard lock(stats_mu_);
    if (!done.ok()) ++stats_.failures;  // the nightly job retries the marked days
    stats_.rebuilding = false;
  }
  while (true) {
    size_t read = 0;
    bool flush_failed = false;
    {
      std::lock_guard lock(work_mu_);
      // When flushes fail (state store unavailable), stop reading at the memory bound.
      if (PendingRows() < options_.max_pending_rows) {
        Result<size_t> n = ReadSome(kRecordsPerRead);
        if (n.ok()) {
          read = *n;
        } else {
          std::lock_guard stats_lock(stats_mu_);
          ++stats_.failures;
          reader_.reset();  // reopen at read_lsn_ next time
        }
      }
      const bool due = NowMs() - last_flush_ms_ >= options_.flush_interval_ms;
      const bool moved = PendingRows() > 0 || flushed_lsn_ != read_lsn_;
      if (moved && (due || PendingRows() >= options_.max_pending_rows)) {
        flush_failed = !FlushPending().ok();
        last_flush_ms_ = NowMs();
      }
    }
    std::unique_lock lock(stop_mu_);
    if (stopping_) return;
    if (read < kRecordsPerRead || flush_failed) {
      stop_cv_.wait_for(lock, std::chrono::milliseconds(options_.idle_wait_ms),
                        [this] { return stopping_; });
      if (stopping_) return;
    }
  }
}

Result<size_t> RollupUpdater::ReadSome(size_t max_records) {
  if (!reader_) {
    CA_ASSIGN_OR_RETURN(reader_, wal::Reader::Open(wal_options_, read_lsn_, wal_));
  }
  thread_local event::Event e;
  size_t n = 0;
  uint64_t counted = 0;
  wal::Lsn lsn = 0;
  while (n < max_records) {
    CA_ASSIGN_OR_RETURN(bool more, reader_->Next(&lsn, &payload_));
    if (!more) break;
    ++n;
    if (Status s = event::DecodeEventInto(payload_, &e); !s.ok()) {
      return s.WithContext("wal record at lsn " + std::to_string(lsn));
    }
    read_lsn_ = lsn + wal::format::kRecordHeaderSize + payload_.size();
    if (e.user_id.empty()) continue;  // anonymous: no user to roll up to
    // Activity rows are keyed by event: a row read twice (after a recompute) is kept once.
    if (state::UserActivityRow row; ActivityFromEvent(e, &row)) {
      pending_activity_.push_back(std::move(row));
    }
    const int64_t day = UtcDay(e.timestamp_ms);
    if (!counted_below_.empty()) {
      auto it = counted_below_.find({e.tenant, day});
      if (it != counted_below_.end() && lsn < it->second) continue;
    }
    state::UserDayMetrics m;
    if (!CountEvent(e, &m)) continue;
    pending_[Key{e.tenant, e.user_id, day}] += m;
    ++counted;
  }
  // Recompute marks that the reader has passed count for nothing any more.
  std::erase_if(counted_below_, [&](const auto& entry) { return entry.second <= read_lsn_; });
  std::lock_guard lock(stats_mu_);
  stats_.events += counted;
  return n;
}

Status RollupUpdater::FlushPending() {
  std::vector<state::DailyUserMetricsRow> rows;
  rows.reserve(pending_.size());
  std::vector<std::pair<std::string, std::string>> users;
  for (const auto& [key, metrics] : pending_) {
    const auto& [tenant, user, day] = key;
    rows.push_back({tenant, user, day, metrics});
    if (users.empty() || users.back() != std::pair(tenant, user)) users.emplace_back(tenant, user);
  }
  // Searches count for no day but change the dashboard too.
  for (const state::UserActivityRow& row : pending_activity_) {
    users.emplace_back(row.tenant, row.user_id);
  }
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  Status s =
      state_->AddRollups(kConsumerName, static_cast<int64_t>(read_lsn_), rows, pending_activity_);
  if (!s.ok()) {
    std::lock_guard lock(stats_mu_);
    ++stats_.failures;
    return s;
  }
  pending_.clear();
  pending_activity_.clear();
  flushed_lsn_ = read_lsn_;
  // The WAL may drop segments below it; the state store's position is the one that counts.
  if (wal_ != nullptr) wal_->CommitCheckpoint(kConsumerName, flushed_lsn_).IgnoreError();
  if (on_flushed_ && !users.empty()) on_flushed_(users);
  // Published last: a reader who sees the position also sees the callback's effects.
  {
    std::lock_guard lock(stats_mu_);
    stats_.position = flushed_lsn_;
    ++stats_.flushes;
  }
  position_cv_.notify_all();
  return Status::Ok();
}

Status RollupUpdater::Recompute(const std::string& tenant, const std::vector<int64_t>& days) {
  if (store_ == nullptr) return Status(ErrorCode::kInternal, "recompute needs the event store");
  std::lock_guard lock(work_mu_);
  CA_RETURN_IF_ERROR(FlushPending());
  // The snapshot must hold every record the state store already counts, so that replacing
  // the days loses none of them.
  if (wal_ != nullptr) CA_RETURN_IF_ERROR(store_->WaitApplied(read_lsn_, 30'000));
  wal::Lsn applied = 0;
  auto snapshot = store_->Snapshot(tenant, &applied);
  for (int64_t day : days) {
    store::ScanRequest scan;
    scan.from_ms = day * kDayMs;
    scan.to_ms = scan.from_ms + kDayMs;
    scan.columns = store::ColumnSet{store::Column::kUser,    store::Column::kType,
                                    store::Column::kStatus,  store::Column::kValue,
                                    store::Column::kEventId, store::Column::kProperties};
    std::map<uint32_t, state::UserDayMetrics> by_user;
    // The day's activity rows too (kept ones stay: rows are keyed by event), for state stores
    // that lack them (a rebuild from the event store).
    std::vector<state::UserActivityRow> activity;
    CA_RETURN_IF_ERROR(snapshot->Scan(scan, [&](const store::ColumnBatch& b) {
      const auto& users = b.Ids(store::Column::kUser);
      const auto& types = b.Ids(store::Column::kType);
      const auto& statuses = b.Ids(store::Column::kStatus);
      for (size_t i = 0; i < b.size(); ++i) {
        if (b.timestamp[i] < scan.from_ms || b.timestamp[i] >= scan.to_ms || users[i] == 0) {
          continue;
        }
        const std::string_view type = snapshot->Name(store::Column::kType, types[i]);
        state::UserDayMetrics m;
        if (CountEvent(type, snapshot->Name(store::Column::kStatus, statuses[i]), b.value[i], &m)) {
          by_user[users[i]] += m;
        }
        if (state::UserActivityRow row;
            IsActivityType(type) &&
            ActivityFromStored(tenant, snapshot->Name(store::Column::kUser, users[i]),
                               b.timestamp[i], b.event_id[i], type, b.properties[i], &row)) {
          activity.push_back(std::move(row));
        }
      }
      return Status::Ok();
    }));
    std::vector<state::DailyUserMetricsRow> rows;
    for (const auto& [user, metrics] : by_user) {
      if (IsEmpty(metrics)) continue;
      rows.push_back(
          {tenant, std::string(snapshot->Name(store::Column::kUser, user)), day, metrics});
    }
    CA_RETURN_IF_ERROR(state_->AddUserActivity(activity));
    CA_RETURN_IF_ERROR(state_->ReplaceDailyUserMetrics(tenant, day, rows));
    if (applied > read_lsn_) counted_below_[{tenant, day}] = applied;
  }
  return Status::Ok();
}

Result<size_t> RollupUpdater::RecomputeMarkedDays() {
  CA_ASSIGN_OR_RETURN(std::vector<state::Tenant> tenants, state_->ListTenants());
  size_t recomputed = 0;
  for (const state::Tenant& tenant : tenants) {
    CA_ASSIGN_OR_RETURN(std::vector<int64_t> days, state_->ListRecomputeDays(tenant.name));
    if (days.empty()) continue;
    CA_RETURN_IF_ERROR(Recompute(tenant.name, days));
    recomputed += days.size();
  }
  return recomputed;
}

Result<int64_t> RollupUpdater::PruneActivity(int64_t now_ms) {
  return state_->PruneUserActivity(now_ms - int64_t{options_.activity_retention_days} * kDayMs);
}

Status RollupUpdater::WaitPosition(wal::Lsn lsn, int64_t timeout_ms) {
  std::unique_lock lock(stats_mu_);
  if (position_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [&] { return stats_.position >= lsn; })) {
    return Status::Ok();
  }
  return Status(ErrorCode::kUnavailable, "the rollups are behind the log; retry shortly");
}

RollupUpdater::Stats RollupUpdater::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

}  // namespace ca::batch
