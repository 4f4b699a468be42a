#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/metrics.h"
#include "base/result.h"
#include "base/status.h"
#include "io/env.h"

namespace ca::wal {

/// Log sequence number: a byte position in the log's record stream (segment headers excluded).
/// A record's LSN is where it starts; its end LSN is where the next one starts.
using Lsn = uint64_t;

/// When an appended record counts as done (its callback runs with OK).
enum class SyncMode {
  kAlways,    ///< after fdatasync: survives a machine crash.
  kInterval,  ///< after write(); fdatasync every sync_interval_ms: a machine crash loses up to
              ///< that.
  kNone,      ///< after write(); fdatasync only on Close. Benchmarks only.
};

/// "always" | "interval" | "none"; kInvalidArgument otherwise.
Result<SyncMode> ParseSyncMode(std::string_view s);
std::string_view SyncModeName(SyncMode m);

struct Options {
  /// Directory holding the segments, LOCK and consumers/.
  std::string dir;
  io::Env* env = io::Env::Default();
  SyncMode sync = SyncMode::kAlways;
  int sync_interval_ms = 200;
  /// A new segment starts when the next record would make the current one larger than this.
  uint64_t segment_bytes = 64ull << 20;
  /// Append fails with kUnavailable while more than this many bytes wait for the sync thread.
  uint64_t max_buffer_bytes = 64ull << 20;
  /// After a write or sync failure, how often the sync thread retries to recover.
  int retry_interval_ms = 500;
  /// In sync modes none and interval: how long appends may gather before the sync thread writes
  /// them (one wake-up and one write for many requests). Ignored with kAlways.
  int gather_delay_us = 500;
  /// When set, every fdatasync of segment data is timed into it (seconds); it must outlive the
  /// log.
  metrics::Histogram* sync_seconds = nullptr;
};

/// What Wal::Open found and did.
struct RecoveryReport {
  int segments = 0;
  uint64_t records = 0;
  /// Bytes of torn tail cut from the last segment (0 when none).
  uint64_t truncated_bytes = 0;
  std::string truncated_file;
  Lsn end_lsn = 0;
};

/// Called once per Append with the outcome: OK when the records are done per the sync mode, else
/// kDiskFull or kIoError (or kUnavailable when the log is closed before they could be written).
/// Runs on the WAL's sync thread, outside its locks; must not block for long or call Close().
using Callback = std::function<void(const Status&)>;

/// The write-ahead log: segmented files, group commit on a dedicated sync thread, named consumer
/// checkpoints. Format and recovery rules: docs/formats/wal.md.
///
/// Thread-safe. Holds an exclusive lock on `<dir>/LOCK` while open.
class Wal {
 public:
  /// Opens (creating when absent) the log in options.dir, after verifying every segment. A torn
  /// tail of the last segment is cut off; any other damage fails with kCorruption naming the file
  /// and byte offset (see Repair). kLocked when another Wal holds the directory.
  static Result<std::unique_ptr<Wal>> Open(const Options& options,
                                           RecoveryReport* report = nullptr);
  /// Closes (see Close) when not yet closed.
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  /// Queues `payloads` (each at most format::kMaxPayload bytes) as consecutive records and
  /// returns the end LSN after them; `done` runs once they are done per the sync mode or have
  /// failed. An empty span is allowed: `done` runs once everything appended before is done.
  /// Errors (then `done` is never called): the log is broken after an I/O failure (kIoError,
  /// kDiskFull) until it recovers; kUnavailable when closed or when the buffer is full;
  /// kInvalidArgument for an oversized payload.
  Result<Lsn> Append(std::span<const std::string_view> payloads, Callback done);

  /// Stops accepting appends, writes and fdatasyncs everything pending (in every mode), runs the
  /// remaining callbacks and stops the sync thread. Returns the first failure met while doing so.
  /// Idempotent.
  Status Close();

  /// End of the records known done: every record below it has had its callback run with OK and
  /// can be read. In kAlways mode they are fdatasynced; in the other modes written.
  Lsn durable_lsn() const;
  /// End of every record appended so far, done or not (>= durable_lsn()).
  Lsn appended_lsn() const;
  /// First LSN still on disk (start of the oldest segment).
  Lsn start_lsn() const;

  /// Registers consumer `name` ([A-Za-z0-9_.-], 1-64 chars) with a checkpoint at start_lsn()
  /// when it has none. Registered consumers hold back DeleteObsoleteSegments.
  Status RegisterConsumer(const std::string& name);
  /// kNotFound when `name` is not registered.
  Result<Lsn> ConsumerCheckpoint(const std::string& name) const;
  /// Durably records that `name` has consumed everything below `lsn` (start_lsn() <= lsn <=
  /// durable_lsn(), else kInvalidArgument).
  Status CommitCheckpoint(const std::string& name, Lsn lsn);
  /// Deletes segments that lie wholly below the minimum checkpoint of all registered consumers
  /// (nothing when none is registered), then syncs the directory.
  Status DeleteObsoleteSegments();

  /// Counters for metrics.
  struct Stats {
    uint64_t syncs;           ///< fdatasyncs of segment data
    uint64_t records;         ///< records done with OK
    uint64_t bytes;           ///< bytes of those records, headers included
    uint64_t failed_groups;   ///< write or sync failures
    int64_t last_failure_ms;  ///< wall-clock time of the last failure (epoch ms), 0 if none
    bool broken;              ///< refusing appends until recovery succeeds
  };
  Stats stats() const;

 private:
  struct Pending {
    Lsn end;
    Callback done;
  };
  /// A point in the buffer where the next bytes go to a new segment starting at `lsn`.
  struct Roll {
    size_t offset;
    Lsn lsn;
  };
  struct Group {
    std::string bytes;
    std::vector<Roll> rolls;
    std::deque<Pending> callbacks;
    Lsn end = 0;
    uint64_t records = 0;
  };

  /// In sync modes none and interval, how much gathered makes the sync thread write at once.
  static constexpr size_t kGatherBytes = 1 << 20;

  explicit Wal(const Options& options);

  void SyncLoop();
  Status WriteGroup(const Group& group);
  Status RollTo(Lsn lsn);
  Status SyncCurrent();
  /// Marks the log broken with `error`; moves every pending callback into `failed`.
  void FailLocked(const Status& error, std::deque<Pending>* failed);
  /// Cuts the log back to durable_lsn_ and reopens it for appending.
  Status Recover();
  std::string SegmentPath(Lsn start) const;
  std::string CheckpointPath(const std::string& name) const;

  const Options options_;
  std::unique_ptr<io::FileLock> lock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;             // guarded by mu_
  std::string spare_;              // guarded by mu_; the last group's buffer, kept for its capacity
  bool gathering_ = false;         // guarded by mu_; the sync thread waits for appends to gather
  std::vector<Roll> rolls_;        // guarded by mu_
  std::deque<Pending> pending_;    // guarded by mu_
  uint64_t buffered_records_ = 0;  // guarded by mu_
  Lsn next_lsn_ = 0;               // guarded by mu_; end of everything appended
  Lsn durable_lsn_ = 0;            // guarded by mu_
  Lsn durable_segment_ = 0;        // guarded by mu_; start of the segment holding durable_lsn_
  Lsn tail_segment_ = 0;           // guarded by mu_; segment the next record goes to
  Status broken_;                  // guarded by mu_
  bool closing_ = false;           // guarded by mu_
  std::vector<Lsn> segments_;      // guarded by mu_; starts of segments on disk, ascending
  std::map<std::string, Lsn> consumers_;  // guarded by mu_
  Stats stats_{};                         // guarded by mu_

  // Owned by the sync thread (and by Open/Close before it starts and after it ends).
  std::unique_ptr<io::WritableFile> file_;
  Lsn file_segment_ = 0;
  bool unsynced_ = false;
  Status close_status_;

  std::mutex close_mu_;        // serializes Close
  bool closed_ = false;        // guarded by close_mu_
  std::mutex checkpoint_mu_;   // serializes checkpoint writes
  std::mutex maintenance_mu_;  // serializes DeleteObsoleteSegments
  std::thread thread_;
};

/// Reads records in LSN order, across segments.
class Reader {
 public:
  /// Positions at `from` (a record boundary at or above the log's start; kNotFound when older
  /// segments were deleted). Offline (`live` null): read-only, never modifies files, stops at a
  /// torn tail of the last segment. Live: stops at live->durable_lsn(); `live` must outlive the
  /// reader.
  static Result<std::unique_ptr<Reader>> Open(const Options& options, Lsn from,
                                              const Wal* live = nullptr);
  ~Reader();

  /// Next record: true and fills `lsn` and `payload`; false at the end (a live reader may return
  /// true again later). kCorruption naming file and offset on damage.
  Result<bool> Next(Lsn* lsn, std::string* payload);

 private:
  Reader(const Options& options, const Wal* live);
  Status OpenSegment(Lsn start);
  /// Handles damage at the current position: false (end) for an offline torn tail, else error.
  Result<bool> Damage(std::string_view reason);

  const Options options_;
  const Wal* live_;
  std::unique_ptr<io::RandomAccessFile> file_;
  std::string file_path_;
  Lsn segment_start_ = 0;
  uint64_t offset_ = 0;  // file offset of the next record
  bool ended_ = false;   // hit an offline torn tail
};

/// The first LSN still on disk in options.dir (the start of the oldest segment), read without
/// opening the log. kNotFound when there is no segment.
Result<Lsn> OldestLsn(const Options& options);

/// Cuts the log in options.dir at its first damage: truncates the damaged segment after its last
/// valid record (a segment with a bad header keeps only a fresh header) and deletes every later
/// segment. Returns a human-readable summary of what was cut ("no damage found" when none).
/// Takes the directory lock: fails with kLocked while a Wal has it open.
Result<std::string> Repair(const Options& options);

}  // namespace ca::wal
