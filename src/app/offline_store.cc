#include "app/offline_store.h"

#include "app/commands.h"
#include "app/data_dir.h"
#include "app/server_app.h"

namespace ca::app {

Result<std::unique_ptr<OfflineStore>> OfflineStore::Open(const Config& config, Mode mode) {
  std::unique_ptr<OfflineStore> s(new OfflineStore());
  io::Env* env = io::Env::Default();
  DataDir dir{config.data};
  CA_RETURN_IF_ERROR(env->CreateDirs(dir.root));
  auto lock = env->LockFile(dir.lock_file());
  if (!lock.ok()) {
    return lock.status().WithContext("data directory " + dir.root +
                                     " is in use by a running server; stop it first, or use "
                                     "its HTTP API");
  }
  s->lock_ = std::move(lock).value();
  CA_ASSIGN_OR_RETURN(s->state_, OpenState(config));
  s->wal_options_.dir = dir.wal();
  s->wal_options_.env = env;
  s->wal_options_.sync = wal::SyncMode::kNone;
  s->wal_options_.segment_bytes = config.wal_segment_bytes;
  if (mode == Mode::kWritable) {
    CA_ASSIGN_OR_RETURN(s->wal_, wal::Wal::Open(s->wal_options_));
  } else if (!env->FileExists(s->wal_options_.dir)) {
    return Status(ErrorCode::kNotFound, "no data in " + dir.root + " (no wal directory)");
  }
  CA_ASSIGN_OR_RETURN(s->store_,
                      OpenEventStore(config, s->wal_options_, s->wal_.get(), s->state_.get()));
  return s;
}

OfflineStore::~OfflineStore() { (void)Close(); }

Status OfflineStore::Close() {
  if (closed_) return Status::Ok();
  closed_ = true;
  Status wal_closed = wal_ ? wal_->Close() : Status::Ok();
  Status store_closed = store_ ? store_->Close() : Status::Ok();
  return wal_closed.ok() ? store_closed : wal_closed;
}

}  // namespace ca::app
