#include "wal/wal.h"

#include <algorithm>
#include <chrono>

#include "base/clock.h"
#include "base/crc32c.h"
#include "wal/format.h"
#include "wal/log_check.h"

namespace ca::wal {
namespace {

constexpr char kCheckpointMagic[8] = {'C', 'A', 'W', 'A', 'L', 'C', 'K', 'P'};
constexpr uint32_t kCheckpointVersion = 1;
constexpr size_t kCheckpointSize = 28;
constexpr std::string_view kCheckpointSuffix = ".ckpt";
constexpr std::string_view kConsumersDir = "consumers";
constexpr std::string_view kTmpSuffix = ".tmp";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Status ValidateConsumerName(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return InvalidArgument("consumer name must have 1 to 64 characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok)
      return InvalidArgument("consumer name '" + name + "' has a character outside [A-Za-z0-9_.-]");
  }
  if (name == "." || name == "..")
    return InvalidArgument("consumer name '" + name + "' is reserved");
  return Status::Ok();
}

std::string EncodeCheckpoint(Lsn lsn) {
  std::string out(kCheckpointMagic, sizeof(kCheckpointMagic));
  format::PutFixed32(&out, kCheckpointVersion);
  format::PutFixed32(&out, 0);
  format::PutFixed64(&out, lsn);
  format::PutFixed32(&out, format::MaskCrc(crc32c::Value(out)));
  return out;
}

Result<Lsn> DecodeCheckpoint(std::string_view data, const std::string& path) {
  if (data.size() != kCheckpointSize ||
      std::string_view(data.data(), sizeof(kCheckpointMagic)) !=
          std::string_view(kCheckpointMagic, sizeof(kCheckpointMagic)) ||
      format::UnmaskCrc(format::DecodeFixed32(data.data() + 24)) !=
          crc32c::Value(data.data(), 24)) {
    return Corruption(path + ": offset 0: damaged consumer checkpoint");
  }
  if (format::DecodeFixed32(data.data() + 8) != kCheckpointVersion) {
    return Corruption(path + ": offset 8: unsupported consumer checkpoint version");
  }
  return format::DecodeFixed64(data.data() + 16);
}

/// Removes temporary files a crash left behind in `dir`.
Status RemoveTemporaries(io::Env* env, const std::string& dir) {
  CA_ASSIGN_OR_RETURN(std::vector<std::string> names, env->GetChildren(dir));
  for (const std::string& name : names) {
    if (EndsWith(name, kTmpSuffix)) CA_RETURN_IF_ERROR(env->RemoveFile(io::JoinPath(dir, name)));
  }
  return Status::Ok();
}

Status ValidateOptions(const Options& o) {
  if (o.dir.empty()) return InvalidArgument("wal: options.dir is empty");
  if (o.env == nullptr) return InvalidArgument("wal: options.env is null");
  if (o.segment_bytes <= format::kSegmentHeaderSize + format::kRecordHeaderSize) {
    return InvalidArgument("wal: segment_bytes is too small");
  }
  if (o.sync_interval_ms <= 0 || o.retry_interval_ms <= 0) {
    return InvalidArgument("wal: sync_interval_ms and retry_interval_ms must be positive");
  }
  return Status::Ok();
}

}  // namespace

Result<SyncMode> ParseSyncMode(std::string_view s) {
  if (s == "always") return SyncMode::kAlways;
  if (s == "interval") return SyncMode::kInterval;
  if (s == "none") return SyncMode::kNone;
  return InvalidArgument("sync mode must be always, interval or none, not '" + std::string(s) +
                         "'");
}

std::string_view SyncModeName(SyncMode m) {
  switch (m) {
    case SyncMode::kAlways:
      return "always";
    case SyncMode::kInterval:
      return "interval";
    case SyncMode::kNone:
      return "none";
  }
  return "unknown";
}

Wal::Wal(const Options& options) : options_(options) {}

Wal::~Wal() { Close().IgnoreError(); }

std::string Wal::SegmentPath(Lsn start) const {
  return io::JoinPath(options_.dir, format::SegmentFileName(start));
}

std::string Wal::CheckpointPath(const std::string& name) const {
  return io::JoinPath(io::JoinPath(options_.dir, kConsumersDir),
                      name + std::string(kCheckpointSuffix));
}

Result<std::unique_ptr<Wal>> Wal::Open(const Options& options, RecoveryReport* report) {
  CA_RETURN_IF_ERROR(ValidateOptions(options));
  io::Env* env = options.env;
  std::unique_ptr<Wal> wal(new Wal(options));
  // Until the sync thread runs, Close must not try to join it.
  wal->closed_ = true;
  const std::string consumers_dir = io::JoinPath(options.dir, kConsumersDir);
  CA_RETURN_IF_ERROR(env->CreateDirs(options.dir));
  CA_RETURN_IF_ERROR(env->CreateDirs(consumers_dir));
  CA_ASSIGN_OR_RETURN(wal->lock_, env->LockFile(io::JoinPath(options.dir, "LOCK")));
  CA_RETURN_IF_ERROR(RemoveTemporaries(env, options.dir));
  CA_RETURN_IF_ERROR(RemoveTemporaries(env, consumers_dir));

  CA_ASSIGN_OR_RETURN(internal::LogCheck check, internal::CheckLog(env, options.dir));
  RecoveryReport rep;
  if (check.damage != internal::DamageKind::kNone) {
    if (!internal::IsTolerableOnOpen(check)) return internal::DamageError(check);
    rep.truncated_file = check.segments[check.damaged_index].path;
    CA_ASSIGN_OR_RETURN(std::string summary,
                        internal::CutAtDamage(env, options.dir, &check, &rep.truncated_bytes));
  }
  if (check.segments.empty()) {
    CA_ASSIGN_OR_RETURN(auto first, internal::CreateSegmentFile(env, options.dir, 0));
    CA_RETURN_IF_ERROR(first->Close());
    check.segments.push_back(internal::SegmentInfo{0, wal->SegmentPath(0)});
    check.end_lsn = 0;
  }
  rep.segments = static_cast<int>(check.segments.size());
  rep.records = check.records;
  rep.end_lsn = check.end_lsn;

  CA_ASSIGN_OR_RETURN(std::vector<std::string> names, env->GetChildren(consumers_dir));
  for (const std::string& name : names) {
    if (!EndsWith(name, kCheckpointSuffix)) continue;
    const std::string path = io::JoinPath(consumers_dir, name);
    CA_ASSIGN_OR_RETURN(std::string data, io::ReadFileToString(env, path));
    CA_ASSIGN_OR_RETURN(Lsn lsn, DecodeCheckpoint(data, path));
    wal->consumers_[name.substr(0, name.size() - kCheckpointSuffix.size())] = lsn;
  }

  const internal::SegmentInfo& last = check.segments.back();
  CA_ASSIGN_OR_RETURN(wal->file_, env->NewWritableFile(last.path, /*append=*/true));
  const uint64_t expected = format::kSegmentHeaderSize + (check.end_lsn - last.start);
  if (wal->file_->Size() != expected) {
    return Internal(last.path + ": size " + std::to_string(wal->file_->Size()) +
                    " after recovery, expected " + std::to_string(expected));
  }
  wal->file_segment_ = last.start;
  for (const auto& seg : check.segments) wal->segments_.push_back(seg.start);
  wal->next_lsn_ = wal->durable_lsn_ = check.end_lsn;
  wal->durable_segment_ = wal->tail_segment_ = last.start;
  wal->closed_ = false;
  wal->thread_ = std::thread([w = wal.get()] { w->SyncLoop(); });
  if (report != nullptr) *report = rep;
  return wal;
}

Result<Lsn> Wal::Append(std::span<const std::string_view> payloads, Callback done) {
  for (std::string_view p : payloads) {
    if (p.size() > format::kMaxPayload) {
      return InvalidArgument("wal: payload of " + std::to_string(p.size()) +
                             " bytes exceeds the maximum of " +
                             std::to_string(format::kMaxPayload));
    }
  }
  uint64_t total = 0;
  for (std::string_view p : payloads) total += format::kRecordHeaderSize + p.size();
  Lsn end;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (closing_) return Unavailable("wal: closed");
    if (!broken_.ok()) return broken_;
    if (!buffer_.empty() && buffer_.size() + total > options_.max_buffer_bytes) {
      return Unavailable("wal: write buffer full");
    }
    const uint64_t capacity = options_.segment_bytes - format::kSegmentHeaderSize;
    for (std::string_view p : payloads) {
      const uint64_t size = format::kRecordHeaderSize + p.size();
      const uint64_t used = next_lsn_ - tail_segment_;
      if (used > 0 && used + size > capacity) {
        rolls_.push_back(Roll{buffer_.size(), next_lsn_});
        tail_segment_ = next_lsn_;
      }
      format::AppendRecord(&buffer_, p);
      next_lsn_ += size;
    }
    buffered_records_ += payloads.size();
    end = next_lsn_;
    pending_.push_back(Pending{end, std::move(done)});
    wake = !gathering_ || buffer_.size() >= kGatherBytes;
  }
  if (wake) cv_.notify_one();
  return end;
}

Status Wal::SyncCurrent() {
  const int64_t started = MonotonicNanos();
  CA_RETURN_IF_ERROR(file_->Sync());
  if (options_.sync_seconds != nullptr) {
    options_.sync_seconds->Observe(static_cast<double>(MonotonicNanos() - started) / 1e9);
  }
  unsynced_ = false;
  std::lock_guard lock(mu_);
  ++stats_.syncs;
  return Status::Ok();
}

Status Wal::RollTo(Lsn lsn) {
  CA_RETURN_IF_ERROR(SyncCurrent());
  CA_RETURN_IF_ERROR(file_->Close());
  file_.reset();
  CA_ASSIGN_OR_RETURN(file_, internal::CreateSegmentFile(options_.env, options_.dir, lsn));
  file_segment_ = lsn;
  std::lock_guard lock(mu_);
  segments_.push_back(lsn);
  return Status::Ok();
}

Status Wal::WriteGroup(const Group& group) {
  if (!file_) return IoError("wal: no open segment");
  std::string_view bytes(group.bytes);
  size_t pos = 0;
  for (const Roll& roll : group.rolls) {
    if (roll.offset > pos) {
      CA_RETURN_IF_ERROR(file_->Append(bytes.substr(pos, roll.offset - pos)));
      unsynced_ = true;
    }
    CA_RETURN_IF_ERROR(RollTo(roll.lsn));
    pos = roll.offset;
  }
  if (pos < bytes.size()) {
    CA_RETURN_IF_ERROR(file_->Append(bytes.substr(pos)));
    unsynced_ = true;
  }
  if (options_.sync == SyncMode::kAlways && unsynced_) CA_RETURN_IF_ERROR(SyncCurrent());
  return Status::Ok();
}

void Wal::FailLocked(const Status& error, std::deque<Pending>* failed) {
  broken_ = error;
  ++stats_.failed_groups;
  stats_.last_failure_ms = NowMillis();
  for (Pending& p : pending_) failed->push_back(std::move(p));
  pending_.clear();
  buffer_.clear();
  rolls_.clear();
  buffered_records_ = 0;
  next_lsn_ = durable_lsn_;
  tail_segment_ = durable_segment_;
}

Status Wal::Recover() {
  if (file_) {
    file_->Close().IgnoreError();
    file_.reset();
  }
  io::Env* env = options_.env;
  Lsn durable;
  Lsn segment;
  {
    std::lock_guard lock(mu_);
    durable = durable_lsn_;
    segment = durable_segment_;
  }
  // Segments created by the failed writes, and their temporaries, go.
  CA_ASSIGN_OR_RETURN(std::vector<std::string> names, env->GetChildren(options_.dir));
  bool removed = false;
  for (const std::string& name : names) {
    auto start = format::ParseSegmentFileName(name);
    bool stray_tmp = EndsWith(name, std::string(format::kSegmentSuffix) + std::string(kTmpSuffix));
    if ((start && *start > segment) || stray_tmp) {
      Status s = env->RemoveFile(io::JoinPath(options_.dir, name));
      if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
      removed = true;
    }
  }
  {
    std::lock_guard lock(mu_);
    std::erase_if(segments_, [&](Lsn s) { return s > segment; });
  }
  const std::string path = SegmentPath(segment);
  const uint64_t size = format::kSegmentHeaderSize + (durable - segment);
  CA_RETURN_IF_ERROR(env->TruncateFile(path, size));
  if (removed) CA_RETURN_IF_ERROR(env->SyncDir(options_.dir));
  CA_ASSIGN_OR_RETURN(file_, env->NewWritableFile(path, /*append=*/true));
  if (file_->Size() != size) {
    file_.reset();
    return IoError(path + ": size " + std::to_string(size) + " expected after truncation");
  }
  file_segment_ = segment;
  unsynced_ = false;
  return Status::Ok();
}

void Wal::SyncLoop() {
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::milliseconds(options_.sync_interval_ms);
  const auto retry = std::chrono::milliseconds(options_.retry_interval_ms);
  auto next_sync = Clock::now() + interval;
  std::unique_lock lock(mu_);
  while (true) {
    if (!broken_.ok()) {
      const bool last_try = closing_;
      lock.unlock();
      Status s = Recover();
      lock.lock();
      if (s.ok()) {
        broken_ = Status();
        continue;
      }
      if (last_try) {
        close_status_ = s;
        break;
      }
      cv_.wait_for(lock, retry, [&] { return closing_; });
      continue;
    }
    if (buffer_.empty() && pending_.empty()) {
      const bool due = options_.sync == SyncMode::kInterval && Clock::now() >= next_sync;
      if (unsynced_ && (closing_ || due)) {
        lock.unlock();
        Status s = SyncCurrent();
        lock.lock();
        next_sync = Clock::now() + interval;
        if (!s.ok()) {
          std::deque<Pending> failed;
          FailLocked(s, &failed);
          if (closing_) close_status_ = s;
          lock.unlock();
          for (Pending& p : failed) {
            if (p.done) p.done(s);
          }
          lock.lock();
        }
        continue;
      }
      if (closing_) break;
      auto has_work = [&] { return closing_ || !buffer_.empty() || !pending_.empty(); };
      if (options_.sync == SyncMode::kInterval && unsynced_) {
        cv_.wait_until(lock, next_sync, has_work);
      } else {
        cv_.wait(lock, has_work);
      }
      continue;
    }

    // Without a sync per group (none, interval) a group is cheap, so every append would wake this
    // thread for a small write. Let appends gather for a moment first: one wake-up and one write
    // for many requests, at most gather_delay_us later.
    if (options_.sync != SyncMode::kAlways && !closing_ && buffer_.size() < kGatherBytes) {
      gathering_ = true;
      cv_.wait_for(lock, std::chrono::microseconds(options_.gather_delay_us),
                   [&] { return closing_ || buffer_.size() >= kGatherBytes; });
      gathering_ = false;
    }

    Group group;
    // Swap in the previous group's buffer: large fresh buffers would cost page faults every time.
    group.bytes = std::move(spare_);
    group.bytes.clear();
    group.bytes.swap(buffer_);
    group.rolls = std::move(rolls_);
    rolls_.clear();
    group.callbacks = std::move(pending_);
    pending_.clear();
    group.end = next_lsn_;
    group.records = buffered_records_;
    buffered_records_ = 0;
    lock.unlock();

    Status s = WriteGroup(group);

    lock.lock();
    std::deque<Pending> done;
    if (s.ok()) {
      stats_.records += group.records;
      stats_.bytes += group.bytes.size();
      durable_lsn_ = group.end;
      durable_segment_ = file_segment_;
      done = std::move(group.callbacks);
    } else {
      done = std::move(group.callbacks);
      FailLocked(s, &done);
      if (closing_) close_status_ = s;
    }
    if (group.bytes.capacity() > spare_.capacity()) spare_ = std::move(group.bytes);
    lock.unlock();
    for (Pending& p : done) {
      if (p.done) p.done(s);
    }
    lock.lock();
  }
}

Status Wal::Close() {
  std::lock_guard close_lock(close_mu_);
  if (closed_) return close_status_;
  closed_ = true;
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (file_) {
    Status s = file_->Close();
    if (close_status_.ok()) close_status_ = s;
    file_.reset();
  }
  lock_.reset();
  return close_status_;
}

Lsn Wal::durable_lsn() const {
  std::lock_guard lock(mu_);
  return durable_lsn_;
}

Lsn Wal::appended_lsn() const {
  std::lock_guard lock(mu_);
  return next_lsn_;
}

Lsn Wal::start_lsn() const {
  std::lock_guard lock(mu_);
  return segments_.empty() ? durable_lsn_ : segments_.front();
}

Wal::Stats Wal::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.broken = !broken_.ok();
  return s;
}

Status Wal::RegisterConsumer(const std::string& name) {
  CA_RETURN_IF_ERROR(ValidateConsumerName(name));
  std::lock_guard ckpt_lock(checkpoint_mu_);
  {
    std::lock_guard lock(mu_);
    if (consumers_.count(name) > 0) return Status::Ok();
  }
  const Lsn lsn = start_lsn();
  CA_RETURN_IF_ERROR(
      io::WriteFileAtomically(options_.env, CheckpointPath(name), EncodeCheckpoint(lsn)));
  std::lock_guard lock(mu_);
  consumers_[name] = lsn;
  return Status::Ok();
}

Result<Lsn> Wal::ConsumerCheckpoint(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = consumers_.find(name);
  if (it == consumers_.end()) return NotFound("wal: no consumer named '" + name + "'");
  return it->second;
}

Status Wal::CommitCheckpoint(const std::string& name, Lsn lsn) {
  std::lock_guard ckpt_lock(checkpoint_mu_);
  {
    std::lock_guard lock(mu_);
    if (consumers_.count(name) == 0) return NotFound("wal: no consumer named '" + name + "'");
    const Lsn start = segments_.empty() ? durable_lsn_ : segments_.front();
    if (lsn < start || lsn > durable_lsn_) {
      return InvalidArgument("wal: checkpoint " + std::to_string(lsn) + " outside [" +
                             std::to_string(start) + ", " + std::to_string(durable_lsn_) + "]");
    }
  }
  CA_RETURN_IF_ERROR(
      io::WriteFileAtomically(options_.env, CheckpointPath(name), EncodeCheckpoint(lsn)));
  std::lock_guard lock(mu_);
  consumers_[name] = lsn;
  return Status::Ok();
}

Status Wal::DeleteObsoleteSegments() {
  std::lock_guard maintenance(maintenance_mu_);
  std::vector<Lsn> victims;
  {
    std::lock_guard lock(mu_);
    if (consumers_.empty()) return Status::Ok();
    Lsn min = UINT64_MAX;
    for (const auto& [name, lsn] : consumers_) min = std::min(min, lsn);
    // A segment goes when the next one starts at or below every checkpoint; the segment holding
    // the durable end stays, since failure recovery cuts back into it.
    for (size_t i = 0; i + 1 < segments_.size(); ++i) {
      if (segments_[i + 1] <= min && segments_[i] < durable_segment_) {
        victims.push_back(segments_[i]);
      }
    }
  }
  if (victims.empty()) return Status::Ok();
  Status status;
  std::vector<Lsn> removed;
  for (Lsn v : victims) {
    Status s = options_.env->RemoveFile(SegmentPath(v));
    if (!s.ok() && s.code() != ErrorCode::kNotFound) {
      status = s;
      break;
    }
    removed.push_back(v);
  }
  {
    std::lock_guard lock(mu_);
    std::erase_if(segments_, [&](Lsn s) {
      return std::find(removed.begin(), removed.end(), s) != removed.end();
    });
  }
  CA_RETURN_IF_ERROR(status);
  return options_.env->SyncDir(options_.dir);
}

Result<std::string> Repair(const Options& options) {
  CA_RETURN_IF_ERROR(ValidateOptions(options));
  io::Env* env = options.env;
  CA_ASSIGN_OR_RETURN(auto lock, env->LockFile(io::JoinPath(options.dir, "LOCK")));
  CA_ASSIGN_OR_RETURN(internal::LogCheck check, internal::CheckLog(env, options.dir));
  if (check.segments.empty()) return std::string("no segments in " + options.dir);
  if (check.damage == internal::DamageKind::kNone) {
    return "no damage found: " + std::to_string(check.segments.size()) + " segment(s), " +
           std::to_string(check.records) + " record(s), the log ends at LSN " +
           std::to_string(check.end_lsn);
  }
  uint64_t cut_bytes = 0;
  return internal::CutAtDamage(env, options.dir, &check, &cut_bytes);
}

}  // namespace ca::wal
