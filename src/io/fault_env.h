#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "io/env.h"

namespace ca::io {

/// Kinds of operations FaultInjectionEnv counts and can fail.
enum class FaultOp {
  kAppend,    ///< WritableFile::Append
  kSync,      ///< WritableFile::Sync
  kSyncDir,   ///< Env::SyncDir
  kRename,    ///< Env::RenameFile
  kTruncate,  ///< WritableFile::Truncate and Env::TruncateFile
  kCreate,    ///< Env::NewWritableFile
  kRemove,    ///< Env::RemoveFile
};
inline constexpr size_t kFaultOpCount = 7;

/// The error an armed fault returns.
enum class FaultKind {
  kIoError,   ///< EIO: ErrorCode::kIoError
  kDiskFull,  ///< ENOSPC: ErrorCode::kDiskFull
};

/// An Env for tests that wraps another Env, counts operations per kind, fails chosen ones, and
/// simulates a machine crash by dropping data that was never synced.
///
/// Thread-safe. The wrapped Env must outlive this one; files opened through it must not outlive
/// it either.
class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base);

  /// Fails the `nth` (1-based) operation of kind `op` counted from this call, or, when `sticky`,
  /// every one from the `nth` on. A failing append first writes `partial_bytes` of its data
  /// (capped at its size) to mimic a short write. Replaces an earlier arming for `op`.
  void Arm(FaultOp op, uint64_t nth, FaultKind kind, bool sticky = false, size_t partial_bytes = 0);
  /// Removes every armed fault and ends the crashed state: I/O succeeds again.
  void Disarm();

  /// Operations of kind `op` attempted since construction (failed ones included).
  uint64_t Count(FaultOp op) const;
  /// Faults injected since construction.
  uint64_t InjectedFaults() const;

  /// Simulates a machine crash: every file written through this Env is cut to the size it had
  /// at its last successful sync (data never synced is lost), and from then on every mutating
  /// operation fails with kIoError, as if the process were gone, until Disarm().
  /// Does not model lost directory entries: a created or renamed file survives.
  void SimulateCrash();

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        bool append) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  Result<uint64_t> GetFileSize(const std::string& path) override;
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override;
  Status CreateDirs(const std::string& dir) override;
  Status RemoveFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;

 private:
  friend class FaultWritableFile;

  /// Durability bookkeeping of one file, shared with its open handles so renames follow it.
  struct FileState {
    uint64_t synced_size = 0;
  };
  struct Armed {
    bool active = false;
    uint64_t nth = 0;
    uint64_t seen = 0;
    FaultKind kind = FaultKind::kIoError;
    bool sticky = false;
    size_t partial_bytes = 0;
  };

  /// Counts `op` and returns the injected error (with `*partial` set for appends) or OK.
  Status Check(FaultOp op, const std::string& path, size_t* partial = nullptr);

  Env* base_;
  /// Mutating operations hold it shared; SimulateCrash holds it exclusively.
  std::shared_mutex crash_mu_;
  mutable std::mutex mu_;
  std::array<uint64_t, kFaultOpCount> counts_{};             // guarded by mu_
  std::array<Armed, kFaultOpCount> armed_{};                 // guarded by mu_
  uint64_t injected_ = 0;                                    // guarded by mu_
  bool crashed_ = false;                                     // guarded by mu_
  std::map<std::string, std::shared_ptr<FileState>> files_;  // guarded by mu_
};

}  // namespace ca::io
