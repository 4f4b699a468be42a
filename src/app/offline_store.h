#pragma once

#include <memory>
#include <string>

#include "app/config.h"
#include "base/result.h"
#include "io/env.h"
#include "state/state_store.h"
#include "store/event_store.h"
#include "wal/wal.h"

namespace ca::app {

/// The event store of a data directory opened by a command while no server runs: takes the
/// directory's lock and opens the store. Read-only, it reads the WAL without changing any file;
/// writable, it opens the WAL as the server would (recovering it, with sync `none`: Close syncs)
/// and the store on it.
class OfflineStore {
 public:
  enum class Mode { kReadOnly, kWritable };
  /// kLocked (with a hint to use the HTTP API) while a server holds the directory.
  static Result<std::unique_ptr<OfflineStore>> Open(const Config& config, Mode mode);
  ~OfflineStore();

  store::EventStore* store() { return store_.get(); }
  /// The data directory's state store (tenants, keys).
  state::StateStore* state() { return state_.get(); }
  /// Null when read-only.
  wal::Wal* wal() { return wal_.get(); }
  const wal::Options& wal_options() const { return wal_options_; }

  /// Writable: syncs and closes the WAL, then lets the store take in its last records and flush
  /// them.
  Status Close();

 private:
  OfflineStore() = default;
  std::unique_ptr<io::FileLock> lock_;
  std::unique_ptr<state::StateStore> state_;
  wal::Options wal_options_;
  std::unique_ptr<wal::Wal> wal_;
  std::unique_ptr<store::EventStore> store_;
  bool closed_ = false;
};

}  // namespace ca::app
