#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/status.h"
#include "io/env.h"

namespace ca::store {

/// An append-only map from strings to dense ids (1, 2, 3... in order of first sight; "" is 0),
/// persisted to one file (docs/formats/dictionary.md). The store keeps one per tenant and id
/// column, so that parts hold small integers and sorting, grouping and distinct counts run on
/// them. Ids never change: a snapshot that saw size() n may resolve any id below n forever.
///
/// Memory per entry: the string's bytes, 8 bytes of location and about 6 bytes of hash table.
/// One writer (GetOrAdd, Persist) and any number of readers; thread-safe.
class Dictionary {
 public:
  /// Loads `path` (an absent file is an empty dictionary). A torn last record (a crash while
  /// appending) is cut off; damage before it is kCorruption naming the file and offset.
  static Result<std::unique_ptr<Dictionary>> Open(io::Env* env, const std::string& path);
  /// An empty dictionary that is never persisted (tests, offline tools).
  Dictionary();
  ~Dictionary();
  Dictionary(const Dictionary&) = delete;
  Dictionary& operator=(const Dictionary&) = delete;

  /// The id of `value`, adding it when new. `value` must be at most 16 MiB.
  uint32_t GetOrAdd(std::string_view value);
  /// The id of `value`, or nullopt when it was never added.
  std::optional<uint32_t> Find(std::string_view value) const;
  /// The string of `id` (< size()); "" for 0. The view stays valid while the dictionary lives.
  std::string_view Name(uint32_t id) const;
  /// One past the largest id.
  uint32_t size() const;

  /// Appends the entries added since the last Persist to the file and fsyncs it. A no-op for a
  /// dictionary without a file or with nothing new.
  Status Persist();
  /// Entries on disk (ids below this survive a crash).
  uint32_t persisted_size() const;

 private:
  Dictionary(io::Env* env, std::string path);
  uint32_t AddLocked(std::string_view value);                      // requires mu_
  uint32_t* SlotFor(std::string_view value, uint64_t hash) const;  // requires mu_
  void Grow();                                                     // requires mu_
  std::string_view NameLocked(uint32_t id) const;                  // requires mu_

  io::Env* const env_ = nullptr;
  const std::string path_;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<char[]>> blocks_;  // string bytes, never moved
  size_t block_used_ = 0;                        // bytes used in blocks_.back()
  std::vector<uint64_t> locations_;              // id -> (block << 40 | offset << 20... see .cc)
  std::vector<uint32_t> table_;                  // open addressing of ids; 0 = empty
  uint32_t persisted_ = 1;                       // ids below are on disk
  uint64_t file_size_ = 0;
  std::unique_ptr<io::WritableFile> file_;
};

}  // namespace ca::store
