#include "base/crc32c.h"
#include "wal/format.h"
#include "wal/log_check.h"
#include "wal/wal.h"

namespace ca::wal {

Reader::Reader(const Options& options, const Wal* live) : options_(options), live_(live) {}

Reader::~Reader() = default;

Result<Lsn> OldestLsn(const Options& options) {
  CA_ASSIGN_OR_RETURN(auto segments, internal::ListSegments(options.env, options.dir));
  if (segments.empty()) return NotFound("wal: no segments in " + options.dir);
  return segments.front().start;
}

Result<std::unique_ptr<Reader>> Reader::Open(const Options& options, Lsn from, const Wal* live) {
  if (options.dir.empty() || options.env == nullptr) {
    return InvalidArgument("wal reader: options.dir and options.env are required");
  }
  std::unique_ptr<Reader> r(new Reader(options, live));
  CA_ASSIGN_OR_RETURN(auto segments, internal::ListSegments(options.env, options.dir));
  if (segments.empty()) return NotFound("wal reader: no segments in " + options.dir);
  if (from < segments.front().start) {
    return NotFound("wal reader: LSN " + std::to_string(from) + " is gone; the log starts at LSN " +
                    std::to_string(segments.front().start));
  }
  if (live != nullptr && from > live->durable_lsn()) {
    return InvalidArgument("wal reader: LSN " + std::to_string(from) + " is past the durable end " +
                           std::to_string(live->durable_lsn()));
  }
  size_t i = segments.size() - 1;
  while (segments[i].start > from) --i;
  CA_RETURN_IF_ERROR(r->OpenSegment(segments[i].start));
  Lsn lsn = segments[i].start;
  if (!r->ended_) {
    CA_ASSIGN_OR_RETURN(uint64_t size, r->file_->Size());
    char header[format::kRecordHeaderSize];
    while (lsn < from && size - r->offset_ >= format::kRecordHeaderSize) {
      CA_ASSIGN_OR_RETURN(std::string_view got,
                          r->file_->Read(r->offset_, format::kRecordHeaderSize, header));
      if (got.size() < format::kRecordHeaderSize) break;
      const uint64_t length = format::DecodeFixed32(got.data());
      const uint64_t step = format::kRecordHeaderSize + length;
      if (length > format::kMaxPayload || size - r->offset_ < step) break;
      r->offset_ += step;
      lsn += step;
    }
  }
  if (lsn != from) {
    return InvalidArgument("wal reader: LSN " + std::to_string(from) +
                           " is not the start of a record in the log");
  }
  return r;
}

Status Reader::OpenSegment(Lsn start) {
  file_path_ = io::JoinPath(options_.dir, format::SegmentFileName(start));
  CA_ASSIGN_OR_RETURN(file_, options_.env->NewRandomAccessFile(file_path_));
  segment_start_ = start;
  offset_ = format::kSegmentHeaderSize;
  char buf[format::kSegmentHeaderSize];
  CA_ASSIGN_OR_RETURN(std::string_view header, file_->Read(0, sizeof(buf), buf));
  format::SegmentScan scan = format::ScanSegment(header);
  if (scan.header_torn && live_ == nullptr) {
    CA_ASSIGN_OR_RETURN(auto segments, internal::ListSegments(options_.env, options_.dir));
    if (segments.back().start == start) {
      ended_ = true;  // a creation the crash interrupted: an empty last segment
      return Status::Ok();
    }
  }
  if (scan.header_torn || scan.header_bad || scan.start_lsn != start) {
    return Corruption(file_path_ + ": offset 0: " +
                      (scan.header_torn ? std::string("incomplete segment header")
                       : scan.header_bad
                           ? scan.damage_reason
                           : "segment header says start LSN " + std::to_string(scan.start_lsn)));
  }
  return Status::Ok();
}

Result<bool> Reader::Damage(std::string_view reason) {
  if (live_ == nullptr) {
    CA_ASSIGN_OR_RETURN(auto segments, internal::ListSegments(options_.env, options_.dir));
    if (!segments.empty() && segments.back().start == segment_start_) {
      CA_ASSIGN_OR_RETURN(std::string data, io::ReadFileToString(options_.env, file_path_));
      if (format::IsTornTail(data, offset_)) {
        ended_ = true;
        return false;
      }
    }
  }
  return Corruption(file_path_ + ": offset " + std::to_string(offset_) + ": " +
                    std::string(reason));
}

Result<bool> Reader::Next(Lsn* lsn, std::string* payload) {
  using format::RecordStatus;
  while (!ended_) {
    const Lsn at = segment_start_ + (offset_ - format::kSegmentHeaderSize);
    // Read the durable end before the file size: everything below it is then in the files.
    if (live_ != nullptr && at >= live_->durable_lsn()) return false;
    CA_ASSIGN_OR_RETURN(uint64_t size, file_->Size());
    if (offset_ >= size) {
      CA_ASSIGN_OR_RETURN(auto segments, internal::ListSegments(options_.env, options_.dir));
      const internal::SegmentInfo* next = nullptr;
      for (const auto& seg : segments) {
        if (seg.start > segment_start_) {
          next = &seg;
          break;
        }
      }
      if (next == nullptr) return false;
      if (next->start != at) {
        return Corruption(next->path + ": offset 0: segment starts at LSN " +
                          std::to_string(next->start) + " but the previous one ends at " +
                          std::to_string(at));
      }
      CA_RETURN_IF_ERROR(OpenSegment(next->start));
      continue;
    }
    if (size - offset_ < format::kRecordHeaderSize) {
      return Damage(format::RecordStatusName(RecordStatus::kTruncatedHeader));
    }
    char header[format::kRecordHeaderSize];
    CA_ASSIGN_OR_RETURN(std::string_view h, file_->Read(offset_, sizeof(header), header));
    if (h.size() < sizeof(header)) {
      return Damage(format::RecordStatusName(RecordStatus::kTruncatedHeader));
    }
    const uint32_t length = format::DecodeFixed32(h.data());
    const uint32_t crc = format::UnmaskCrc(format::DecodeFixed32(h.data() + 4));
    if (length > format::kMaxPayload) {
      return Damage(format::RecordStatusName(RecordStatus::kTooLarge));
    }
    if (size - offset_ - format::kRecordHeaderSize < length) {
      return Damage(format::RecordStatusName(RecordStatus::kPastEnd));
    }
    payload->resize(length);
    CA_ASSIGN_OR_RETURN(std::string_view body,
                        file_->Read(offset_ + format::kRecordHeaderSize, length, payload->data()));
    if (body.size() < length) return Damage(format::RecordStatusName(RecordStatus::kPastEnd));
    if (body.data() != payload->data()) payload->assign(body);
    if (crc32c::Value(*payload) != crc) {
      return Damage(format::RecordStatusName(RecordStatus::kBadCrc));
    }
    *lsn = at;
    offset_ += format::kRecordHeaderSize + length;
    return true;
  }
  return false;
}

}  // namespace ca::wal
