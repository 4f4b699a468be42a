#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace ca::io {

/// A file opened for appending. Not thread-safe: one writer at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  /// Appends `data` at the end. On error the file may hold a prefix of `data`.
  virtual Status Append(std::string_view data) = 0;
  /// Makes everything appended so far durable (fdatasync).
  virtual Status Sync() = 0;
  /// Cuts the file to `size` bytes; later appends continue from there.
  virtual Status Truncate(uint64_t size) = 0;
  virtual Status Close() = 0;
  /// Bytes in the file, as this handle sees it (including appends not yet synced).
  virtual uint64_t Size() const = 0;
};

/// A file opened for positional reads. Thread-safe.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  /// Reads up to `n` bytes at `offset` into `scratch`; returns the bytes read (fewer at EOF).
  virtual Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual Result<uint64_t> Size() const = 0;
};

/// An exclusive lock on a file, released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

/// All file access goes through an Env so that tests can inject I/O errors and crashes.
/// Errors carry ErrorCode::kDiskFull for ENOSPC and kIoError otherwise; messages name the path.
/// Implementations are thread-safe.
class Env {
 public:
  virtual ~Env() = default;

  /// The process-wide POSIX implementation.
  static Env* Default();

  /// Creates (or opens and appends to, when `append` is true; else truncates) `path`.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                bool append) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  /// Names (not paths) of the entries of directory `dir`, sorted.
  virtual Result<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  /// Creates `dir` and missing parents; OK when it exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  /// Cuts `path` to `size` bytes and syncs it.
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;
  /// fsyncs the directory itself, so that creations, renames and removals in it are durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  /// Takes an exclusive advisory lock (flock) on `path`, creating it; kLocked when held elsewhere.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
};

/// Reads the whole of `path`.
Result<std::string> ReadFileToString(Env* env, const std::string& path);

/// Writes `data` to `path` durably and atomically: a temporary name in the same directory,
/// fsync, rename over `path`, fsync of the directory. Readers see the old or the new content.
/// The temporary name is `path` + ".tmp": callers serialize concurrent writes to the same path.
Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data);

/// Directory part of `path` ("." when none).
std::string DirName(const std::string& path);
/// `a` + "/" + `b`.
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace ca::io
