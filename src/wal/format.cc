#include "wal/format.h"

#include <algorithm>
#include <cstring>

#include "base/crc32c.h"

namespace ca::wal::format {
namespace {

constexpr uint32_t kMaskDelta = 0xa282ead8u;
constexpr size_t kLsnDigits = 20;
/// Bytes of candidate payloads IsTornTail may checksum while looking for a valid record after
/// damage. Past it the damage counts as mid-log (the conservative answer).
constexpr uint64_t kResyncBudget = 256ull << 20;

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

}  // namespace

uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

uint32_t UnmaskCrc(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

void PutFixed32(std::string* dst, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(b, 4);
}

void PutFixed64(std::string* dst, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(b, 8);
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string SegmentFileName(uint64_t start_lsn) {
  std::string digits = std::to_string(start_lsn);
  return std::string(kLsnDigits - digits.size(), '0') + digits + std::string(kSegmentSuffix);
}

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  if (name.size() != kLsnDigits + kSegmentSuffix.size()) return std::nullopt;
  if (name.substr(kLsnDigits) != kSegmentSuffix) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < kLsnDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::string EncodeSegmentHeader(uint64_t start_lsn) {
  std::string h(kSegmentMagic, sizeof(kSegmentMagic));
  PutFixed32(&h, kSegmentVersion);
  PutFixed32(&h, static_cast<uint32_t>(kSegmentHeaderSize));
  PutFixed64(&h, start_lsn);
  PutFixed32(&h, 0);
  PutFixed32(&h, MaskCrc(crc32c::Value(h)));
  return h;
}

void AppendRecord(std::string* dst, std::string_view payload) {
  PutFixed32(dst, static_cast<uint32_t>(payload.size()));
  PutFixed32(dst, MaskCrc(crc32c::Value(payload)));
  dst->append(payload);
}

std::string_view RecordStatusName(RecordStatus s) {
  switch (s) {
    case RecordStatus::kOk:
      return "ok";
    case RecordStatus::kTruncatedHeader:
      return "partial record header";
    case RecordStatus::kPastEnd:
      return "record length runs past the end of the file";
    case RecordStatus::kTooLarge:
      return "record length exceeds the maximum payload size";
    case RecordStatus::kBadCrc:
      return "record checksum mismatch";
  }
  return "unknown";
}

RecordStatus DecodeRecord(std::string_view data, uint64_t offset, std::string_view* payload,
                          uint64_t* next) {
  if (offset > data.size() || data.size() - offset < kRecordHeaderSize) {
    return RecordStatus::kTruncatedHeader;
  }
  const char* p = data.data() + offset;
  uint32_t length = DecodeFixed32(p);
  if (length > kMaxPayload) return RecordStatus::kTooLarge;
  if (data.size() - offset - kRecordHeaderSize < length) return RecordStatus::kPastEnd;
  std::string_view body(p + kRecordHeaderSize, length);
  if (UnmaskCrc(DecodeFixed32(p + 4)) != crc32c::Value(body)) return RecordStatus::kBadCrc;
  *payload = body;
  *next = offset + kRecordHeaderSize + length;
  return RecordStatus::kOk;
}

bool IsTornTail(std::string_view data, uint64_t offset) {
  if (offset >= data.size()) return true;
  if (AllZero(data.substr(offset))) return true;
  uint64_t budget = kResyncBudget;
  for (uint64_t p = offset + 1; p + kRecordHeaderSize <= data.size(); ++p) {
    uint32_t length = DecodeFixed32(data.data() + p);
    if (length > kMaxPayload || data.size() - p - kRecordHeaderSize < length) continue;
    if (length > budget) return false;
    budget -= length;
    std::string_view payload;
    uint64_t next;
    if (DecodeRecord(data, p, &payload, &next) == RecordStatus::kOk) return false;
  }
  return true;
}

SegmentScan ScanSegment(std::string_view data,
                        const std::function<void(uint64_t, std::string_view)>& on_record) {
  SegmentScan scan;
  if (data.size() < kSegmentHeaderSize || AllZero(data.substr(0, kSegmentHeaderSize))) {
    scan.header_torn = true;
    return scan;
  }
  const char* h = data.data();
  if (std::memcmp(h, kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    scan.header_bad = true;
    scan.damage_reason = "bad segment magic";
    return scan;
  }
  if (UnmaskCrc(DecodeFixed32(h + 28)) != crc32c::Value(h, 28)) {
    scan.header_bad = true;
    scan.damage_reason = "segment header checksum mismatch";
    return scan;
  }
  if (DecodeFixed32(h + 8) != kSegmentVersion || DecodeFixed32(h + 12) != kSegmentHeaderSize) {
    scan.header_bad = true;
    scan.damage_reason = "unsupported segment format version";
    return scan;
  }
  scan.start_lsn = DecodeFixed64(h + 16);
  uint64_t offset = kSegmentHeaderSize;
  while (offset < data.size()) {
    std::string_view payload;
    uint64_t next = 0;
    RecordStatus rs = DecodeRecord(data, offset, &payload, &next);
    if (rs != RecordStatus::kOk) {
      scan.damaged = true;
      scan.damage_offset = offset;
      scan.damage_reason = std::string(RecordStatusName(rs));
      scan.torn_tail = IsTornTail(data, offset);
      break;
    }
    if (on_record) on_record(offset, payload);
    ++scan.records;
    offset = next;
  }
  scan.valid_end = offset;
  return scan;
}

}  // namespace ca::wal::format
