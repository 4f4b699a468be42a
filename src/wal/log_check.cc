#include "wal/log_check.h"

#include "wal/format.h"

namespace ca::wal::internal {

Result<std::vector<SegmentInfo>> ListSegments(io::Env* env, const std::string& dir) {
  CA_ASSIGN_OR_RETURN(std::vector<std::string> names, env->GetChildren(dir));
  std::vector<SegmentInfo> out;
  for (const std::string& name : names) {
    if (auto start = format::ParseSegmentFileName(name)) {
      out.push_back(SegmentInfo{*start, io::JoinPath(dir, name)});
    }
  }
  // Zero-padded names sort in LSN order.
  return out;
}

Result<LogCheck> CheckLog(io::Env* env, const std::string& dir) {
  LogCheck check;
  CA_ASSIGN_OR_RETURN(check.segments, ListSegments(env, dir));
  for (size_t i = 0; i < check.segments.size(); ++i) {
    const SegmentInfo& seg = check.segments[i];
    auto damage = [&](DamageKind kind, uint64_t offset, std::string reason) {
      check.damage = kind;
      check.damaged_index = i;
      check.damage_offset = offset;
      check.reason = std::move(reason);
    };
    if (i == 0) check.end_lsn = seg.start;
    if (seg.start != check.end_lsn) {
      damage(DamageKind::kGap, 0,
             "segment starts at LSN " + std::to_string(seg.start) +
                 " but the previous one ends at " + std::to_string(check.end_lsn));
      CA_ASSIGN_OR_RETURN(check.file_size, env->GetFileSize(seg.path));
      return check;
    }
    CA_ASSIGN_OR_RETURN(std::string data, io::ReadFileToString(env, seg.path));
    check.file_size = data.size();
    format::SegmentScan scan = format::ScanSegment(data);
    if (scan.header_torn) {
      damage(DamageKind::kTornHeader, 0, "incomplete segment header");
      return check;
    }
    if (scan.header_bad) {
      damage(DamageKind::kBadHeader, 0, scan.damage_reason);
      return check;
    }
    if (scan.start_lsn != seg.start) {
      damage(DamageKind::kBadHeader, 0,
             "segment header says start LSN " + std::to_string(scan.start_lsn) +
                 ", file name says " + std::to_string(seg.start));
      return check;
    }
    check.records += scan.records;
    check.end_lsn = seg.start + (scan.valid_end - format::kSegmentHeaderSize);
    if (scan.damaged) {
      damage(
          scan.torn_tail ? DamageKind::kTornTail : DamageKind::kBadRecord, scan.damage_offset,
          scan.torn_tail ? scan.damage_reason : scan.damage_reason + ", followed by valid records");
      return check;
    }
  }
  return check;
}

bool IsTolerableOnOpen(const LogCheck& check) {
  if (check.damage == DamageKind::kNone) return true;
  return check.damaged_index + 1 == check.segments.size() &&
         (check.damage == DamageKind::kTornTail || check.damage == DamageKind::kTornHeader);
}

Status DamageError(const LogCheck& check) {
  if (check.damage == DamageKind::kNone) return Status::Ok();
  std::string where = check.segments[check.damaged_index].path;
  std::string m = where + ": offset " + std::to_string(check.damage_offset) + ": " + check.reason;
  if (check.damaged_index + 1 < check.segments.size()) {
    m += " (not the last segment)";
  }
  return Corruption(m);
}

Result<std::unique_ptr<io::WritableFile>> CreateSegmentFile(io::Env* env, const std::string& dir,
                                                            uint64_t start) {
  const std::string path = io::JoinPath(dir, format::SegmentFileName(start));
  const std::string tmp = path + ".tmp";
  std::unique_ptr<io::WritableFile> file;
  Status s = [&]() -> Status {
    CA_ASSIGN_OR_RETURN(file, env->NewWritableFile(tmp, /*append=*/false));
    CA_RETURN_IF_ERROR(file->Append(format::EncodeSegmentHeader(start)));
    CA_RETURN_IF_ERROR(file->Sync());
    CA_RETURN_IF_ERROR(env->RenameFile(tmp, path));
    return env->SyncDir(dir);
  }();
  if (!s.ok()) {
    if (file) file->Close().IgnoreError();
    if (env->FileExists(tmp)) env->RemoveFile(tmp).IgnoreError();
    return s;
  }
  return file;
}

Result<std::string> CutAtDamage(io::Env* env, const std::string& dir, LogCheck* check,
                                uint64_t* cut_bytes) {
  *cut_bytes = 0;
  if (check->damage == DamageKind::kNone) return std::string("no damage found");
  const size_t i = check->damaged_index;
  const SegmentInfo seg = check->segments[i];
  std::string summary;
  size_t first_deleted = i + 1;
  switch (check->damage) {
    case DamageKind::kTornTail:
    case DamageKind::kBadRecord:
      CA_RETURN_IF_ERROR(env->TruncateFile(seg.path, check->damage_offset));
      *cut_bytes = check->file_size - check->damage_offset;
      summary = "cut " + seg.path + " at offset " + std::to_string(check->damage_offset) + " (" +
                std::to_string(*cut_bytes) + " bytes removed: " + check->reason + ")";
      break;
    case DamageKind::kTornHeader:
    case DamageKind::kBadHeader: {
      CA_ASSIGN_OR_RETURN(auto file, CreateSegmentFile(env, dir, seg.start));
      CA_RETURN_IF_ERROR(file->Close());
      *cut_bytes = check->file_size;
      summary = "rewrote " + seg.path + " as an empty segment (" + std::to_string(*cut_bytes) +
                " bytes removed: " + check->reason + ")";
      break;
    }
    case DamageKind::kGap:
      first_deleted = i;
      summary = "log cut before " + seg.path + " (" + check->reason + ")";
      break;
    case DamageKind::kNone:
      break;
  }
  std::vector<std::string> deleted;
  for (size_t j = first_deleted; j < check->segments.size(); ++j) {
    Status s = env->RemoveFile(check->segments[j].path);
    if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
    deleted.push_back(check->segments[j].path);
  }
  CA_RETURN_IF_ERROR(env->SyncDir(dir));
  check->segments.resize(first_deleted);
  check->damage = DamageKind::kNone;
  if (!deleted.empty()) {
    summary += "; deleted " + std::to_string(deleted.size()) + " later segment(s):";
    for (const std::string& d : deleted) summary += " " + d;
  }
  summary += "; the log now ends at LSN " + std::to_string(check->end_lsn);
  return summary;
}

}  // namespace ca::wal::internal
