#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/status.h"
#include "event/event.h"
#include "io/env.h"
#include "store/manifest.h"
#include "store/tenant_snapshot.h"
#include "wal/wal.h"

namespace ca::store {

struct StoreOptions {
  io::Env* env = io::Env::Default();
  /// Directory of the store (DATA/store): MANIFEST, <tenant>/dict/, <tenant>/parts/.
  std::string dir;
  size_t granule_rows = 8192;
  /// The memtable is flushed to parts when it holds this many rows or bytes...
  size_t memtable_max_rows = 1 << 20;
  size_t memtable_max_bytes = 256u << 20;
  /// ...or when its oldest row is this old (so that the WAL stays short).
  int64_t flush_interval_ms = 5 * 60 * 1000;
  /// A partition with this many parts is merged into one.
  size_t merge_min_parts = 4;
  /// Budget of the cache of decoded granule columns that reads of one user's rows go through
  /// (GranuleCache); 0 disables it.
  size_t granule_cache_bytes = 128u << 20;
  /// How often the consumer looks for new WAL records when it has caught up.
  int poll_interval_ms = 20;
  /// Days of raw events a tenant keeps (0 or less: forever); older (UTC) day partitions are
  /// dropped whole. Checked every minute. Null: keep everything.
  std::function<int(const std::string& tenant)> retention_days;
  /// Called on the background thread after each flush, merge and retention pass it ran (not for
  /// Flush/Compact called by the owner): task name ("store.flush", "store.merge",
  /// "store.retention"), duration and outcome. For self-telemetry; must not block.
  std::function<void(std::string_view task, double duration_ms, const Status& status)> on_task;
};

/// The receipt of a user's deletion (GDPR).
using DeletionReceipt = ManifestData::Tombstone;

/// Counters for metrics and tests.
struct StoreStats {
  uint64_t applied_events = 0;  ///< WAL records applied to the memtable since start
  uint64_t memtable_rows = 0;   ///< rows not yet in parts
  uint64_t parts = 0;
  uint64_t part_bytes = 0;
  uint64_t part_rows = 0;
  uint64_t flushes = 0;
  uint64_t merges = 0;
  wal::Lsn applied_lsn = 0;     ///< every WAL record below is visible to queries
  wal::Lsn checkpoint_lsn = 0;  ///< every WAL record below is in parts
  uint64_t granule_cache_hits = 0, granule_cache_misses = 0, granule_cache_bytes = 0;
  std::string last_error;  ///< of the background work, "" when none
};

/// The embedded columnar event store (DESIGN.md "Event store"; docs/formats/part.md and
/// docs/formats/store-manifest.md). It consumes the WAL into an in-memory table, flushes that
/// into immutable parts partitioned by (tenant, day) and sorted by (user, timestamp), merges
/// small parts in the background, and hands out immutable snapshots that never block writers.
///
/// Crash safety: a part is written (temporary name, fsync, rename) before the manifest that lists
/// it, and the manifest records the WAL position below which every event is in parts; on open,
/// files the manifest does not list are deleted and the WAL is replayed from that position. So a
/// crash during a flush or a merge neither loses nor doubles an event.
class EventStore {
 public:
  /// Opens the store and replays the WAL from its checkpoint. `live` is the running WAL (null
  /// for offline tools: then the log in `wal_options` is read without being modified, and
  /// nothing is flushed back unless Flush is called).
  static Result<std::unique_ptr<EventStore>> Open(const StoreOptions& options,
                                                  const wal::Options& wal_options, wal::Wal* live);
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  /// Starts the threads that tail the live WAL, flush and merge.
  Status Start();
  /// Stops the threads and flushes the memtable (so a restart replays little). Idempotent.
  Status Close();

  /// A snapshot of `tenant` (an empty one for a tenant without events). With `applied`, also
  /// the WAL position it reflects: it holds exactly the tenant's records below *applied.
  std::shared_ptr<const TenantSnapshot> Snapshot(const std::string& tenant,
                                                 wal::Lsn* applied = nullptr);

  /// Names of the tenants with stored events, sorted.
  std::vector<std::string> Tenants() const;

  /// Flushes everything applied so far into parts and records the checkpoint.
  Status Flush();
  /// Merges every partition that has more than one part.
  Status MergeAll();

  /// Deletes one user's events (GDPR): those received up to `now_ms` are masked from every read
  /// at once (durably: the deletion is in the manifest before this returns), never written into
  /// a part again, and physically removed at the next rewrite of the parts holding them (a
  /// merge, or Compact). Returns the receipt with the number of events masked.
  Result<DeletionReceipt> DeleteUser(const std::string& tenant, const std::string& user_id,
                                     int64_t now_ms);
  /// Every deletion receipt, with `removed_at_ms` once no part holds the events.
  std::vector<DeletionReceipt> Deletions() const;
  /// Flushes the memtable, rewrites every part holding deleted users' rows (completing their
  /// deletions), merges each partition into one part and applies retention.
  Status Compact(int64_t now_ms);
  /// Waits until the WAL records below `lsn` are visible to queries; kUnavailable on timeout.
  Status WaitApplied(wal::Lsn lsn, int64_t timeout_ms);
  /// Reads the WAL up to its durable end now (offline use and tests).
  Status CatchUp();

  /// Calls fn(tenant, event_id, received_at_ms) for every stored event received at or after
  /// `since_ms` that is in a part (the memtable's rows are still in the WAL): rebuilds the
  /// deduplication index once the WAL segments holding them are gone.
  Status ForEachEventKey(
      int64_t since_ms,
      const std::function<void(const std::string&, const std::string&, int64_t)>& fn);

  /// Checks every part's checksums and every dictionary; returns one line per problem found.
  std::vector<std::string> Verify();

  StoreStats stats() const;

  /// How far the store is behind, cheaply (no walk over parts), for ingest backpressure.
  struct Backlog {
    wal::Lsn applied_lsn = 0;     ///< every WAL record below is in the memtable
    uint64_t unflushed_rows = 0;  ///< rows in memory, not yet in parts
  };
  Backlog backlog() const;
  /// Stored bytes of one column over every part, and how its blocks are encoded.
  struct ColumnUsage {
    uint64_t bytes = 0;
    /// "encoding/compression" (e.g. "for/lz4") -> number of blocks.
    std::map<std::string, uint64_t> blocks;
  };
  /// Usage of each column (index: Column), for `store stats`.
  std::array<ColumnUsage, kColumnCount> ColumnUsages() const;

 private:
  struct Impl;
  explicit EventStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ca::store
