#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "base/result.h"
#include "state/state_store.h"
#include "store/event_store.h"
#include "wal/wal.h"

namespace ca::batch {

struct RollupOptions {
  /// How often what was read is written to the state store (one transaction each time).
  int64_t flush_interval_ms = 1000;
  /// Rows (user days) held in memory before a flush is forced.
  size_t max_pending_rows = 50'000;
  /// How long the thread waits for new records when it has read everything.
  int64_t idle_wait_ms = 50;
  /// `user_activity` rows older than this are deleted by PruneActivity (the dashboard reads 90
  /// days of them).
  int activity_retention_days = 120;
};

/// Keeps `daily_user_metrics` and `user_activity` up to date from the event stream
/// (docs/rollups.md): a consumer of the WAL ("rollups") that adds each event to its user's day,
/// and each search or application event to the user's activity, and writes both to the state
/// store with its position, in one transaction, so that every event counts exactly once across
/// restarts (activity rows are keyed by event, so they are idempotent anyway). `Recompute`
/// replaces days from the event store (the nightly job, for days that late events touched).
/// Thread-safe.
class RollupUpdater {
 public:
  static constexpr const char* kConsumerName = "rollups";

  /// Called after each flush with the (tenant, user id) pairs whose days changed, e.g. to
  /// invalidate their cached dashboards. Runs on the updater's thread.
  using OnFlushed = std::function<void(const std::vector<std::pair<std::string, std::string>>&)>;

  struct Stats {
    wal::Lsn position = 0;  ///< every WAL record below is in the state store
    uint64_t events = 0;    ///< events read since start
    uint64_t flushes = 0;
    uint64_t failures = 0;  ///< failed flushes (retried)
    /// The thread is rebuilding days from the event store (the log no longer held them).
    bool rebuilding = false;
  };

  /// Registers the WAL consumer and positions at the state store's recorded position (or the
  /// consumer's checkpoint the first time). `wal` may be null for offline use: then `wal_options`
  /// is read as it is, and Start must not be called.
  static Result<std::unique_ptr<RollupUpdater>> Open(const wal::Options& wal_options, wal::Wal* wal,
                                                     state::StateStore* state,
                                                     store::EventStore* store,
                                                     RollupOptions options, OnFlushed on_flushed);
  ~RollupUpdater();
  RollupUpdater(const RollupUpdater&) = delete;
  RollupUpdater& operator=(const RollupUpdater&) = delete;

  /// Starts the consumer thread.
  void Start();
  /// Stops the thread after a last flush. Idempotent.
  Status Stop();

  /// Reads everything durable now and flushes it (tests, offline tools; not while started).
  Status CatchUp();

  /// Replaces `tenant`'s rows of `days` (UTC days) with what the event store holds and clears
  /// their recompute marks. Exact while events keep arriving: the days' events that the
  /// snapshot holds and the updater has not yet read are skipped when it reads them.
  Status Recompute(const std::string& tenant, const std::vector<int64_t>& days);
  /// Recompute of every day marked in the state store (late events), for every tenant the event
  /// store knows. Returns how many days were recomputed.
  Result<size_t> RecomputeMarkedDays();
  /// Deletes `user_activity` rows older than activity_retention_days before `now_ms`; returns how
  /// many.
  Result<int64_t> PruneActivity(int64_t now_ms);

  Stats stats() const;

  /// Waits until every WAL record below `lsn` is in the state store (the thread must be
  /// running); kUnavailable after `timeout_ms`.
  Status WaitPosition(wal::Lsn lsn, int64_t timeout_ms);

 private:
  using Key = std::tuple<std::string, std::string, int64_t>;  // tenant, user id, day

  RollupUpdater(const wal::Options& wal_options, wal::Wal* wal, state::StateStore* state,
                store::EventStore* store, RollupOptions options, OnFlushed on_flushed);
  void Loop();
  /// Reads up to `max_records` records into pending_. Requires work_mu_.
  Result<size_t> ReadSome(size_t max_records);
  /// Writes pending_, pending_activity_ and the position. Requires work_mu_.
  Status FlushPending();
  /// Rows waiting to be written. Requires work_mu_.
  size_t PendingRows() const { return pending_.size() + pending_activity_.size(); }

  const wal::Options wal_options_;
  wal::Wal* const wal_;
  state::StateStore* const state_;
  store::EventStore* const store_;
  const RollupOptions options_;
  const OnFlushed on_flushed_;

  // The consumer's state; guarded by work_mu_ (the thread, CatchUp and Recompute take turns).
  std::mutex work_mu_;
  std::unique_ptr<wal::Reader> reader_;
  wal::Lsn read_lsn_ = 0;     // every record below has been read into pending_ (or flushed)
  wal::Lsn flushed_lsn_ = 0;  // every record below is in the state store
  std::map<Key, state::UserDayMetrics> pending_;
  std::vector<state::UserActivityRow> pending_activity_;
  int64_t last_flush_ms_ = 0;
  // Days a recompute replaced from a snapshot holding records below the mapped LSN: records of
  // that (tenant, day) below it are already counted.
  std::map<std::pair<std::string, int64_t>, wal::Lsn> counted_below_;
  std::string payload_;
  // The log no longer held every event when the updater first met this state store: the days of
  // the event store were marked, and the thread recomputes them when it starts.
  bool recompute_marked_at_start_ = false;

  mutable std::mutex stats_mu_;
  std::condition_variable position_cv_;  // with stats_mu_: the position moved
  Stats stats_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ca::batch
