#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/status.h"
#include "ingest/batch_decoder.h"
#include "ingest/dedup_index.h"
#include "ingest/lanes.h"
#include "ingest/privacy_filter.h"
#include "wal/wal.h"

namespace ca::ingest {

/// What happened to each event of one request, as returned to the client.
struct Receipt {
  uint32_t received = 0;
  uint32_t accepted = 0;
  uint32_t duplicates = 0;
  std::vector<Rejection> rejected;
};

/// Counters of ingest outcomes since start; accepted + duplicates + rejected = received.
struct IngestCounters {
  uint64_t received = 0;
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t failed_writes = 0;
};

/// The durable commit path: deduplicates decoded events by (tenant, event_id) and appends the new
/// ones to the WAL; the receipt is delivered only once they are durable (per the WAL's sync mode).
///
/// The dedup check and the WAL append happen under one mutex, and a failed write removes its ids
/// from the index before the WAL accepts new writes. So a duplicate is reported only for an event
/// whose first copy is (or will be, by the same sync) durable: a retried event is never lost to a
/// duplicate verdict about a write that failed. Thread-safe.
class IngestPipeline {
 public:
  using Done = std::function<void(Result<Receipt>)>;

  /// Deduplicates over `dedup_window_ms`, holding at most `dedup_max_ids` ids (the oldest are
  /// forgotten early past that, so memory stays bounded).
  IngestPipeline(wal::Wal* wal, int64_t dedup_window_ms, size_t dedup_max_ids,
                 const PrivacyOptions& privacy = PrivacyOptions());

  /// Rebuilds the dedup index from the durable WAL records received within the window. Call once,
  /// before the first Commit. `wal_options` locates the log.
  Status RecoverDedup(const wal::Options& wal_options, int64_t now_ms);
  /// Adds one stored event to the dedup index (when received within the window of `now_ms`):
  /// recovery of the ids whose WAL segments were already deleted, from the event store.
  void RememberStored(std::string_view tenant, std::string_view event_id, int64_t received_at_ms,
                      int64_t now_ms);

  /// Commits the valid events of `batch` (their `tenant` already set), after the privacy stage:
  /// `batch.privacy` (the tenant's) when set, else the pipeline's own.
  /// `done` is called exactly once: from the WAL's sync thread after the records are durable, or at
  /// once on error (a WAL that cannot take writes gives kDiskFull / kIoError / kUnavailable).
  void Commit(DecodedBatch batch, Done done);

  /// Hands every new event, once durable, to `lanes` (when it has consumers). Call before the
  /// first Commit; `lanes` must outlive the pipeline.
  void SetLanes(LaneDispatcher* lanes) { lanes_ = lanes; }

  IngestCounters counters() const;
  size_t tracked_ids() const;
  /// Bytes held by the deduplication index.
  size_t dedup_memory_bytes() const;

 private:
  struct Pending;
  void Finish(const std::shared_ptr<Pending>& pending, const Status& status);
  void MaybeExpire(int64_t now_ms);  // requires mu_
  void MaybeTrim();                  // requires mu_

  wal::Wal* const wal_;
  const int64_t dedup_window_ms_;
  const size_t dedup_max_ids_;
  const PrivacyFilter privacy_;
  LaneDispatcher* lanes_ = nullptr;

  mutable std::mutex mu_;
  DedupIndex dedup_;            // guarded by mu_
  IngestCounters counters_;     // guarded by mu_
  int64_t last_expiry_ms_ = 0;  // guarded by mu_
};

}  // namespace ca::ingest
