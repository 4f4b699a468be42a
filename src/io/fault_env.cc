#include "io/fault_env.h"

#include <algorithm>

namespace ca::io {
namespace {

constexpr std::string_view kOpNames[kFaultOpCount] = {"append",   "sync",   "syncdir", "rename",
                                                      "truncate", "create", "remove"};

}  // namespace

/// A WritableFile whose appends, syncs and truncations go through the env's fault checks.
class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base,
                    std::shared_ptr<FaultInjectionEnv::FileState> state)
      : env_(env), path_(std::move(path)), base_(std::move(base)), state_(std::move(state)) {}

  Status Append(std::string_view data) override {
    std::shared_lock crash(env_->crash_mu_);
    size_t partial = 0;
    Status s = env_->Check(FaultOp::kAppend, path_, &partial);
    if (!s.ok()) {
      if (partial > 0) base_->Append(data.substr(0, std::min(partial, data.size()))).IgnoreError();
      return s;
    }
    return base_->Append(data);
  }

  Status Sync() override {
    std::shared_lock crash(env_->crash_mu_);
    CA_RETURN_IF_ERROR(env_->Check(FaultOp::kSync, path_));
    CA_RETURN_IF_ERROR(base_->Sync());
    std::lock_guard lock(env_->mu_);
    state_->synced_size = base_->Size();
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    std::shared_lock crash(env_->crash_mu_);
    CA_RETURN_IF_ERROR(env_->Check(FaultOp::kTruncate, path_));
    CA_RETURN_IF_ERROR(base_->Truncate(size));
    std::lock_guard lock(env_->mu_);
    state_->synced_size = std::min(state_->synced_size, size);
    return Status::Ok();
  }

  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
  std::shared_ptr<FaultInjectionEnv::FileState> state_;
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}

void FaultInjectionEnv::Arm(FaultOp op, uint64_t nth, FaultKind kind, bool sticky,
                            size_t partial_bytes) {
  std::lock_guard lock(mu_);
  armed_[static_cast<size_t>(op)] = Armed{true, nth, 0, kind, sticky, partial_bytes};
}

void FaultInjectionEnv::Disarm() {
  std::lock_guard lock(mu_);
  armed_ = {};
  crashed_ = false;
}

uint64_t FaultInjectionEnv::Count(FaultOp op) const {
  std::lock_guard lock(mu_);
  return counts_[static_cast<size_t>(op)];
}

uint64_t FaultInjectionEnv::InjectedFaults() const {
  std::lock_guard lock(mu_);
  return injected_;
}

Status FaultInjectionEnv::Check(FaultOp op, const std::string& path, size_t* partial) {
  std::lock_guard lock(mu_);
  const size_t i = static_cast<size_t>(op);
  ++counts_[i];
  std::string what = "injected fault: " + std::string(kOpNames[i]) + " " + path;
  if (crashed_) return IoError(what + ": simulated crash");
  Armed& a = armed_[i];
  if (!a.active) return Status::Ok();
  ++a.seen;
  if (a.seen < a.nth || (a.seen > a.nth && !a.sticky)) return Status::Ok();
  ++injected_;
  if (partial != nullptr) *partial = a.partial_bytes;
  if (a.kind == FaultKind::kDiskFull) {
    return Status(ErrorCode::kDiskFull, what + ": No space left on device");
  }
  return IoError(what + ": Input/output error");
}

void FaultInjectionEnv::SimulateCrash() {
  std::unique_lock crash(crash_mu_);
  std::map<std::string, uint64_t> cuts;
  {
    std::lock_guard lock(mu_);
    crashed_ = true;
    for (const auto& [path, state] : files_) cuts[path] = state->synced_size;
  }
  for (const auto& [path, size] : cuts) {
    auto current = base_->GetFileSize(path);
    if (current.ok() && *current > size) base_->TruncateFile(path, size).IgnoreError();
  }
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(const std::string& path,
                                                                         bool append) {
  std::shared_lock crash(crash_mu_);
  CA_RETURN_IF_ERROR(Check(FaultOp::kCreate, path));
  CA_ASSIGN_OR_RETURN(auto file, base_->NewWritableFile(path, append));
  auto state = std::make_shared<FileState>();
  state->synced_size = append ? file->Size() : 0;
  {
    std::lock_guard lock(mu_);
    auto it = files_.find(path);
    if (append && it != files_.end()) {
      state = it->second;
    } else {
      files_[path] = state;
    }
  }
  return std::unique_ptr<WritableFile>(
      new FaultWritableFile(this, path, std::move(file), std::move(state)));
}

Result<std::unique_ptr<RandomAccessFile>> FaultInjectionEnv::NewRandomAccessFile(
    const std::string& path) {
  return base_->NewRandomAccessFile(path);
}

bool FaultInjectionEnv::FileExists(const std::string& path) { return base_->FileExists(path); }

Result<uint64_t> FaultInjectionEnv::GetFileSize(const std::string& path) {
  return base_->GetFileSize(path);
}

Result<std::vector<std::string>> FaultInjectionEnv::GetChildren(const std::string& dir) {
  return base_->GetChildren(dir);
}

Status FaultInjectionEnv::CreateDirs(const std::string& dir) { return base_->CreateDirs(dir); }

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  std::shared_lock crash(crash_mu_);
  CA_RETURN_IF_ERROR(Check(FaultOp::kRemove, path));
  CA_RETURN_IF_ERROR(base_->RemoveFile(path));
  std::lock_guard lock(mu_);
  files_.erase(path);
  return Status::Ok();
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  std::shared_lock crash(crash_mu_);
  CA_RETURN_IF_ERROR(Check(FaultOp::kRename, from + " -> " + to));
  CA_RETURN_IF_ERROR(base_->RenameFile(from, to));
  std::lock_guard lock(mu_);
  auto it = files_.find(from);
  if (it == files_.end()) {
    files_.erase(to);
  } else {
    files_[to] = it->second;
    files_.erase(it);
  }
  return Status::Ok();
}

Status FaultInjectionEnv::TruncateFile(const std::string& path, uint64_t size) {
  std::shared_lock crash(crash_mu_);
  CA_RETURN_IF_ERROR(Check(FaultOp::kTruncate, path));
  CA_RETURN_IF_ERROR(base_->TruncateFile(path, size));
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) it->second->synced_size = size;
  return Status::Ok();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  std::shared_lock crash(crash_mu_);
  CA_RETURN_IF_ERROR(Check(FaultOp::kSyncDir, dir));
  return base_->SyncDir(dir);
}

Result<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(const std::string& path) {
  return base_->LockFile(path);
}

}  // namespace ca::io
