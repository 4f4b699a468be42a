#include "store/part_format.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <map>
#include <string>

#include "base/crc32c.h"

namespace ca::store {
namespace {

constexpr char kMagic[8] = {'C', 'A', 'E', 'V', 'P', 'A', 'R', 'T'};
constexpr size_t kHeaderSize = 16;
constexpr size_t kTailSize = 24;
constexpr size_t kGranuleEntrySize = 4 + 4 * 8 + 4 + 4;
constexpr size_t kBlockEntrySize = 8 + 4 + 4 + 4 + 1 + 1;
constexpr uint32_t kCrcMaskDelta = 0xa282ead8u;

uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kCrcMaskDelta; }
uint32_t BlockCrc(std::string_view data) { return MaskCrc(crc32c::Value(data)); }

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  template <typename T>
  void Put(T v) {
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof(T));
    out_->append(buf, sizeof(T));
  }
  void Bytes(std::string_view s) { out_->append(s); }

 private:
  std::string* out_;
};

/// Bounds-checked reading of the footer; every getter fails once the input is exhausted.
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}
  template <typename T>
  bool Get(T* v) {
    if (s_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(v, s_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool Bytes(size_t n, std::string_view* v) {
    if (s_.size() - pos_ < n) return false;
    *v = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return s_.size() - pos_; }
  size_t pos() const { return pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

BlockValues ValuesOf(const ColumnBatch& b, Column c, size_t start, size_t count) {
  BlockValues v;
  v.kind = KindOf(c);
  switch (c) {
    case Column::kTimestamp:
      v.i64 = std::span(b.timestamp).subspan(start, count);
      break;
    case Column::kReceivedAt:
      v.i64 = std::span(b.received_at).subspan(start, count);
      v.timestamps = std::span(b.timestamp).subspan(start, count);
      break;
    case Column::kFlags:
      v.u32 = std::span(b.flags).subspan(start, count);
      break;
    case Column::kValue:
      v.f64 = std::span(b.value).subspan(start, count);
      break;
    case Column::kEventId:
      v.str = std::span(b.event_id).subspan(start, count);
      break;
    case Column::kProperties:
      v.str = std::span(b.properties).subspan(start, count);
      v.json_objects = true;
      break;
    case Column::kContext:
      v.str = std::span(b.context).subspan(start, count);
      v.json_objects = true;
      break;
    default:
      v.u32 = std::span(b.Ids(c)).subspan(start, count);
      break;
  }
  return v;
}

size_t ColumnSize(const ColumnBatch& b, Column c) {
  switch (KindOf(c)) {
    case ColumnKind::kInt64:
      return c == Column::kTimestamp ? b.timestamp.size() : b.received_at.size();
    case ColumnKind::kDouble:
      return b.value.size();
    case ColumnKind::kString:
      return c == Column::kEventId      ? b.event_id.size()
             : c == Column::kProperties ? b.properties.size()
                                        : b.context.size();
    case ColumnKind::kUInt32:
      return c == Column::kFlags ? b.flags.size() : b.Ids(c).size();
  }
  return 0;
}

void ClearColumn(ColumnBatch* b, Column c) {
  switch (c) {
    case Column::kTimestamp:
      b->timestamp.clear();
      break;
    case Column::kReceivedAt:
      b->received_at.clear();
      break;
    case Column::kFlags:
      b->flags.clear();
      break;
    case Column::kValue:
      b->value.clear();
      break;
    case Column::kEventId:
      b->event_id.clear();
      break;
    case Column::kProperties:
      b->properties.clear();
      break;
    case Column::kContext:
      b->context.clear();
      break;
    default:
      b->Ids(c).clear();
      break;
  }
}

/// Fills column `c` of `b` with `n` zero values (0, NaN, "") for a column the part lacks.
void FillDefault(ColumnBatch* b, Column c, size_t n) {
  switch (c) {
    case Column::kTimestamp:
      b->timestamp.assign(n, 0);
      break;
    case Column::kReceivedAt:
      b->received_at.assign(n, 0);
      break;
    case Column::kFlags:
      b->flags.assign(n, 0);
      break;
    case Column::kValue:
      b->value.assign(n, kNoValue);
      break;
    case Column::kEventId:
      b->event_id.assign(n, std::string());
      break;
    case Column::kProperties:
      b->properties.assign(n, std::string());
      break;
    case Column::kContext:
      b->context.assign(n, std::string());
      break;
    default:
      b->Ids(c).assign(n, 0);
      break;
  }
}

GranuleInfo Summarize(const ColumnBatch& b, size_t start, size_t count) {
  GranuleInfo g;
  g.rows = static_cast<uint32_t>(count);
  if (count == 0) return g;
  const auto ts = std::span(b.timestamp).subspan(start, count);
  const auto rec = std::span(b.received_at).subspan(start, count);
  const auto user = std::span(b.Ids(Column::kUser)).subspan(start, count);
  auto [min_ts, max_ts] = std::minmax_element(ts.begin(), ts.end());
  auto [min_rec, max_rec] = std::minmax_element(rec.begin(), rec.end());
  auto [min_user, max_user] = std::minmax_element(user.begin(), user.end());
  g.min_ts = *min_ts;
  g.max_ts = *max_ts;
  g.min_received = *min_rec;
  g.max_received = *max_rec;
  g.min_user = *min_user;
  g.max_user = *max_user;
  return g;
}

bool SameSummary(const GranuleInfo& a, const GranuleInfo& b) {
  return a.rows == b.rows && a.min_ts == b.min_ts && a.max_ts == b.max_ts &&
         a.min_received == b.min_received && a.max_received == b.max_received &&
         a.min_user == b.min_user && a.max_user == b.max_user;
}

/// Histogram of type ids and count of distinct non-zero users of rows sorted by user.
void Aggregate(const ColumnBatch& b, std::map<uint32_t, uint64_t>* types, uint64_t* users,
               uint32_t* last_user) {
  for (uint32_t t : b.Ids(Column::kType)) ++(*types)[t];
  for (uint32_t u : b.Ids(Column::kUser)) {
    if (u != 0 && u != *last_user) ++*users;
    *last_user = u;
  }
}

}  // namespace

Result<std::string> EncodePart(const PartMeta& meta_in, const ColumnBatch& rows,
                               size_t granule_rows) {
  PartWriteOptions options;
  options.granule_rows = granule_rows;
  return EncodePart(meta_in, rows, options);
}

Result<std::unique_ptr<PartBuilder>> PartBuilder::Create(const PartMeta& meta_in,
                                                         const PartWriteOptions& options) {
  if (options.granule_rows == 0 || options.granule_rows > kMaxBlockRows) {
    return InvalidArgument("granule_rows must be in 1..65536");
  }
  if (meta_in.tenant.size() > std::numeric_limits<uint16_t>::max()) {
    return InvalidArgument("tenant longer than 65535 bytes");
  }
  std::unique_ptr<PartBuilder> b(new PartBuilder());
  b->options_ = options;
  b->meta_.tenant = meta_in.tenant;
  b->meta_.day = meta_in.day;
  b->meta_.part_id = meta_in.part_id;
  b->meta_.level = meta_in.level;
  Writer w(&b->out_);
  w.Bytes(std::string_view(kMagic, sizeof(kMagic)));
  w.Put<uint32_t>(kPartFormatVersion);
  w.Put<uint32_t>(0);
  return b;
}

Status PartBuilder::Append(const ColumnBatch& rows) {
  if (finished_) return InvalidArgument("part builder already finished");
  const size_t n = rows.size();
  for (size_t c = 0; c < kColumnCount; ++c) {
    if (ColumnSize(rows, static_cast<Column>(c)) != n) {
      return InvalidArgument("column " + std::string(ColumnName(static_cast<Column>(c))) + " has " +
                             std::to_string(ColumnSize(rows, static_cast<Column>(c))) +
                             " values, expected " + std::to_string(n));
    }
  }
  const auto& user = rows.Ids(Column::kUser);
  for (size_t i = 0; i < n; ++i) {
    const std::pair key(user[i], rows.timestamp[i]);
    if ((meta_.rows > 0 || i > 0) && key < last_key_) {
      return InvalidArgument("rows not sorted by (user, timestamp) at row " +
                             std::to_string(meta_.rows + i));
    }
    last_key_ = key;
  }
  Aggregate(rows, &types_, &meta_.distinct_users, &last_user_);
  meta_.rows += n;

  const size_t granule = options_.granule_rows;
  size_t start = 0;
  if (!pending_.timestamp.empty()) {  // top up the waiting rows to a granule first
    const size_t take = std::min(granule - pending_.size(), n);
    for (size_t i = 0; i < take; ++i) CopyRow(rows, i, &pending_);
    start = take;
    if (pending_.size() < granule) return Status::Ok();
    CA_RETURN_IF_ERROR(EncodeGranule(pending_, 0, granule));
    pending_ = ColumnBatch{};
  }
  for (; n - start >= granule; start += granule) {
    CA_RETURN_IF_ERROR(EncodeGranule(rows, start, granule));
  }
  for (size_t i = start; i < n; ++i) CopyRow(rows, i, &pending_);
  return Status::Ok();
}

Status PartBuilder::EncodeGranule(const ColumnBatch& rows, size_t start, size_t count) {
  granules_.push_back(Summarize(rows, start, count));
  EncodedBlock encoded;
  for (size_t c = 0; c < kColumnCount; ++c) {
    const Column col = static_cast<Column>(c);
    Status s = EncodeBlock(ValuesOf(rows, col, start, count), options_.codec, &encoded);
    if (!s.ok()) return s.WithContext(std::string("column ") + std::string(ColumnName(col)));
    BlockInfo b;
    b.offset = out_.size();
    b.size = static_cast<uint32_t>(encoded.data.size());
    b.raw_size = encoded.raw_size;
    b.crc = BlockCrc(encoded.data);
    b.encoding = encoded.encoding;
    b.compression = encoded.compression;
    blocks_.push_back(b);
    out_.append(encoded.data);
  }
  return Status::Ok();
}

Result<std::string> PartBuilder::Finish() {
  if (finished_) return InvalidArgument("part builder already finished");
  if (!pending_.timestamp.empty()) {
    CA_RETURN_IF_ERROR(EncodeGranule(pending_, 0, pending_.size()));
    pending_ = ColumnBatch{};
  }
  finished_ = true;
  PartMeta& meta = meta_;
  meta.type_counts.assign(types_.begin(), types_.end());
  for (size_t g = 0; g < granules_.size(); ++g) {
    const GranuleInfo& gi = granules_[g];
    meta.min_ts = g == 0 ? gi.min_ts : std::min(meta.min_ts, gi.min_ts);
    meta.max_ts = g == 0 ? gi.max_ts : std::max(meta.max_ts, gi.max_ts);
    meta.min_received = g == 0 ? gi.min_received : std::min(meta.min_received, gi.min_received);
    meta.max_received = g == 0 ? gi.max_received : std::max(meta.max_received, gi.max_received);
  }

  std::string footer;
  Writer f(&footer);
  f.Put<uint16_t>(static_cast<uint16_t>(meta.tenant.size()));
  f.Bytes(meta.tenant);
  f.Put<int32_t>(meta.day);
  f.Put<uint64_t>(meta.part_id);
  f.Put<uint32_t>(meta.level);
  f.Put<uint64_t>(meta.rows);
  f.Put<int64_t>(meta.min_ts);
  f.Put<int64_t>(meta.max_ts);
  f.Put<int64_t>(meta.min_received);
  f.Put<int64_t>(meta.max_received);
  f.Put<uint64_t>(meta.distinct_users);
  f.Put<uint32_t>(static_cast<uint32_t>(options_.granule_rows));
  f.Put<uint32_t>(static_cast<uint32_t>(meta.type_counts.size()));
  for (const auto& [type, count] : meta.type_counts) {
    f.Put<uint32_t>(type);
    f.Put<uint64_t>(count);
  }
  f.Put<uint8_t>(kColumnCount);
  for (size_t c = 0; c < kColumnCount; ++c) {
    const std::string_view name = ColumnName(static_cast<Column>(c));
    f.Put<uint8_t>(static_cast<uint8_t>(c));
    f.Put<uint8_t>(static_cast<uint8_t>(KindOf(static_cast<Column>(c))));
    f.Put<uint8_t>(static_cast<uint8_t>(name.size()));
    f.Bytes(name);
  }
  f.Put<uint32_t>(static_cast<uint32_t>(granules_.size()));
  for (size_t g = 0; g < granules_.size(); ++g) {
    const GranuleInfo& gi = granules_[g];
    f.Put<uint32_t>(gi.rows);
    f.Put<int64_t>(gi.min_ts);
    f.Put<int64_t>(gi.max_ts);
    f.Put<int64_t>(gi.min_received);
    f.Put<int64_t>(gi.max_received);
    f.Put<uint32_t>(gi.min_user);
    f.Put<uint32_t>(gi.max_user);
    for (size_t c = 0; c < kColumnCount; ++c) {
      const BlockInfo& b = blocks_[g * kColumnCount + c];
      f.Put<uint64_t>(b.offset);
      f.Put<uint32_t>(b.size);
      f.Put<uint32_t>(b.raw_size);
      f.Put<uint32_t>(b.crc);
      f.Put<uint8_t>(static_cast<uint8_t>(b.encoding));
      f.Put<uint8_t>(static_cast<uint8_t>(b.compression));
    }
  }
  std::string out = std::move(out_);
  Writer w(&out);
  out.append(footer);
  w.Put<uint64_t>(footer.size());
  w.Put<uint32_t>(BlockCrc(footer));
  w.Put<uint32_t>(kPartFormatVersion);
  w.Bytes(std::string_view(kMagic, sizeof(kMagic)));
  return out;
}

Result<std::string> EncodePart(const PartMeta& meta_in, const ColumnBatch& rows,
                               const PartWriteOptions& options) {
  CA_ASSIGN_OR_RETURN(std::unique_ptr<PartBuilder> builder, PartBuilder::Create(meta_in, options));
  CA_RETURN_IF_ERROR(builder->Append(rows));
  return builder->Finish();
}

Status WritePart(io::Env* env, const std::string& path, const PartMeta& meta_in,
                 const ColumnBatch& rows, size_t granule_rows) {
  CA_ASSIGN_OR_RETURN(std::string bytes, EncodePart(meta_in, rows, granule_rows));
  return io::WriteFileAtomically(env, path, bytes);
}

Result<std::unique_ptr<PartReader>> PartReader::Open(io::Env* env, const std::string& path) {
  std::unique_ptr<PartReader> r(new PartReader());
  r->path_ = path;
  CA_ASSIGN_OR_RETURN(r->file_, env->NewRandomAccessFile(path));
  CA_ASSIGN_OR_RETURN(r->file_size_, r->file_->Size());
  CA_RETURN_IF_ERROR(r->Init());
  return r;
}

Result<std::unique_ptr<PartReader>> PartReader::FromBuffer(std::string bytes, std::string name) {
  std::unique_ptr<PartReader> r(new PartReader());
  r->path_ = std::move(name);
  r->buffer_ = std::move(bytes);
  r->file_size_ = r->buffer_.size();
  CA_RETURN_IF_ERROR(r->Init());
  return r;
}

Result<std::string_view> PartReader::ReadAt(uint64_t offset, size_t n, std::string* scratch) const {
  if (offset > file_size_ || n > file_size_ - offset) {
    return Corruption("part " + path_ + ": read of " + std::to_string(n) + " bytes at offset " +
                      std::to_string(offset) + " past end of file");
  }
  if (file_ == nullptr) return std::string_view(buffer_).substr(offset, n);
  scratch->resize(n);
  CA_ASSIGN_OR_RETURN(std::string_view got, file_->Read(offset, n, scratch->data()));
  if (got.size() != n) {
    return Corruption("part " + path_ + ": short read at offset " + std::to_string(offset) +
                      " (file truncated?)");
  }
  return got;
}

Status PartReader::Init() {
  static std::atomic<uint64_t> next_uid{1};
  uid_ = next_uid.fetch_add(1, std::memory_order_relaxed);
  auto corrupt = [&](const std::string& what) { return Corruption("part " + path_ + ": " + what); };
  if (file_size_ < kHeaderSize + kTailSize) {
    return corrupt("file of " + std::to_string(file_size_) + " bytes is too small");
  }
  std::string scratch;
  CA_ASSIGN_OR_RETURN(std::string_view header, ReadAt(0, kHeaderSize, &scratch));
  uint32_t version, reserved;
  std::memcpy(&version, header.data() + 8, 4);
  std::memcpy(&reserved, header.data() + 12, 4);
  if (std::memcmp(header.data(), kMagic, sizeof(kMagic)) != 0) {
    return corrupt("bad magic in header at offset 0");
  }
  if (version != kPartFormatVersion) {
    return corrupt("unsupported format version " + std::to_string(version) + " in header");
  }
  if (reserved != 0) return corrupt("non-zero reserved field in header at offset 12");

  const uint64_t tail_offset = file_size_ - kTailSize;
  CA_ASSIGN_OR_RETURN(std::string_view tail, ReadAt(tail_offset, kTailSize, &scratch));
  uint64_t footer_size;
  uint32_t footer_crc, tail_version;
  std::memcpy(&footer_size, tail.data(), 8);
  std::memcpy(&footer_crc, tail.data() + 8, 4);
  std::memcpy(&tail_version, tail.data() + 12, 4);
  if (std::memcmp(tail.data() + 16, kMagic, sizeof(kMagic)) != 0) {
    return corrupt("bad magic in tail at offset " + std::to_string(tail_offset + 16));
  }
  if (tail_version != kPartFormatVersion) {
    return corrupt("unsupported format version " + std::to_string(tail_version) + " in tail");
  }
  if (footer_size > tail_offset - kHeaderSize) {
    return corrupt("footer size " + std::to_string(footer_size) + " exceeds the file");
  }
  const uint64_t footer_offset = tail_offset - footer_size;
  std::string footer_buf;
  CA_ASSIGN_OR_RETURN(std::string_view footer, ReadAt(footer_offset, footer_size, &footer_buf));
  if (BlockCrc(footer) != footer_crc) {
    return corrupt("footer checksum mismatch (footer at offset " + std::to_string(footer_offset) +
                   ")");
  }
  Status s = ParseFooter(footer, footer_offset);
  if (!s.ok()) return s.WithContext("part " + path_);
  return Status::Ok();
}

Status PartReader::ParseFooter(std::string_view footer, uint64_t footer_offset) {
  Parser p(footer);
  auto bad = [&](const std::string& what) {
    return Corruption("footer at offset " + std::to_string(footer_offset + p.pos()) + ": " + what);
  };
  uint16_t tenant_len;
  std::string_view tenant;
  if (!p.Get(&tenant_len) || !p.Bytes(tenant_len, &tenant)) return bad("truncated tenant");
  meta_.tenant.assign(tenant);
  uint32_t type_entries;
  if (!p.Get(&meta_.day) || !p.Get(&meta_.part_id) || !p.Get(&meta_.level) || !p.Get(&meta_.rows) ||
      !p.Get(&meta_.min_ts) || !p.Get(&meta_.max_ts) || !p.Get(&meta_.min_received) ||
      !p.Get(&meta_.max_received) || !p.Get(&meta_.distinct_users) || !p.Get(&granule_rows_) ||
      !p.Get(&type_entries)) {
    return bad("truncated partition meta");
  }
  if (granule_rows_ == 0 || granule_rows_ > kMaxBlockRows) return bad("impossible granule size");
  if (meta_.distinct_users > meta_.rows) return bad("more distinct users than rows");
  if (type_entries > p.remaining() / 12) return bad("truncated type histogram");
  uint64_t typed_rows = 0;
  for (uint32_t i = 0; i < type_entries; ++i) {
    uint32_t type;
    uint64_t count;
    if (!p.Get(&type) || !p.Get(&count)) return bad("truncated type histogram");
    if (count == 0 || count > meta_.rows || (i > 0 && type <= meta_.type_counts.back().first)) {
      return bad("impossible type histogram entry");
    }
    typed_rows += count;
    meta_.type_counts.emplace_back(type, count);
  }
  if (typed_rows != meta_.rows) return bad("type histogram does not add up to the row count");

  uint8_t column_count;
  if (!p.Get(&column_count) || column_count == 0 || column_count > 64) {
    return bad("impossible column count");
  }
  std::vector<uint8_t> ids(column_count);
  uint64_t seen = 0;
  for (uint8_t i = 0; i < column_count; ++i) {
    uint8_t id, kind, name_len;
    std::string_view name;
    if (!p.Get(&id) || !p.Get(&kind) || !p.Get(&name_len) || !p.Bytes(name_len, &name)) {
      return bad("truncated column table");
    }
    if (id >= 64 || (seen >> id & 1) != 0 || kind > static_cast<uint8_t>(ColumnKind::kString)) {
      return bad("impossible column table entry");
    }
    seen |= uint64_t{1} << id;
    if (id < kColumnCount) {
      const Column c = static_cast<Column>(id);
      if (kind != static_cast<uint8_t>(KindOf(c)) || name != ColumnName(c)) {
        return bad("column " + std::to_string(id) + " has the wrong kind or name");
      }
      present_[id] = true;
    }
    ids[i] = id;
  }
  if (!present_[static_cast<size_t>(Column::kTimestamp)]) return bad("no timestamp column");

  uint32_t granule_count;
  if (!p.Get(&granule_count)) return bad("truncated granule count");
  if (granule_count > p.remaining() / (kGranuleEntrySize + column_count * kBlockEntrySize)) {
    return bad("granule count exceeds the footer");
  }
  granules_.reserve(granule_count);
  blocks_.assign(static_cast<size_t>(granule_count) * kColumnCount, BlockInfo());
  uint64_t total_rows = 0;
  for (uint32_t g = 0; g < granule_count; ++g) {
    GranuleInfo gi;
    if (!p.Get(&gi.rows) || !p.Get(&gi.min_ts) || !p.Get(&gi.max_ts) || !p.Get(&gi.min_received) ||
        !p.Get(&gi.max_received) || !p.Get(&gi.min_user) || !p.Get(&gi.max_user)) {
      return bad("truncated granule " + std::to_string(g));
    }
    if (gi.rows == 0 || gi.rows > granule_rows_ || gi.min_ts > gi.max_ts ||
        gi.min_received > gi.max_received || gi.min_user > gi.max_user ||
        gi.min_ts < meta_.min_ts || gi.max_ts > meta_.max_ts ||
        gi.min_received < meta_.min_received || gi.max_received > meta_.max_received) {
      return bad("impossible index entry of granule " + std::to_string(g));
    }
    if (g > 0 && gi.min_user < granules_.back().max_user) {
      return bad("granule " + std::to_string(g) + " not sorted by user");
    }
    total_rows += gi.rows;
    granules_.push_back(gi);
    for (uint8_t i = 0; i < column_count; ++i) {
      BlockInfo b;
      uint8_t encoding, compression;
      if (!p.Get(&b.offset) || !p.Get(&b.size) || !p.Get(&b.raw_size) || !p.Get(&b.crc) ||
          !p.Get(&encoding) || !p.Get(&compression)) {
        return bad("truncated block entry of granule " + std::to_string(g));
      }
      b.encoding = static_cast<Encoding>(encoding);
      b.compression = static_cast<Compression>(compression);
      const bool known = ids[i] < kColumnCount;
      const std::string where =
          "granule " + std::to_string(g) + " column " +
          (known ? std::string(ColumnName(static_cast<Column>(ids[i]))) : std::to_string(ids[i]));
      if (b.offset < kHeaderSize || b.offset > footer_offset || b.size > footer_offset - b.offset) {
        return bad(where + ": block outside the data region (offset " + std::to_string(b.offset) +
                   ")");
      }
      if (encoding >= kEncodingCount || compression >= kCompressionCount ||
          (known && !EncodingValidFor(b.encoding, KindOf(static_cast<Column>(ids[i])))) ||
          b.raw_size > kMaxRawBlockBytes ||
          (b.compression == Compression::kNone && b.raw_size != b.size)) {
        return bad(where + ": impossible block entry");
      }
      if (known) {
        blocks_[static_cast<size_t>(g) * kColumnCount + ids[i]] = b;
      } else {
        other_blocks_.push_back({g, ids[i], b});
      }
    }
  }
  if (p.remaining() != 0) return bad("trailing bytes");
  if (total_rows != meta_.rows) return bad("granule rows do not add up to the row count");
  if (meta_.rows == 0 && (meta_.min_ts != 0 || meta_.max_ts != 0 || meta_.min_received != 0 ||
                          meta_.max_received != 0)) {
    return bad("empty part with non-zero time range");
  }
  return Status::Ok();
}

uint64_t PartReader::column_bytes(Column c) const {
  if (!present_[static_cast<size_t>(c)]) return 0;
  uint64_t total = 0;
  for (size_t g = 0; g < granules_.size(); ++g) total += block(g, c).size;
  return total;
}

Status PartReader::BlockError(size_t granule, Column c, std::string_view what) const {
  const BlockInfo& b = block(granule, c);
  return Corruption("part " + path_ + ": granule " + std::to_string(granule) + " column " +
                    std::string(ColumnName(c)) + " block at offset " + std::to_string(b.offset) +
                    ": " + std::string(what));
}

Status PartReader::DecodeBlock(size_t granule, Column c, std::span<const int64_t> timestamps,
                               ColumnBatch* out, std::string* read_buf,
                               std::string* raw_buf) const {
  const BlockInfo& b = block(granule, c);
  const size_t n = granules_[granule].rows;
  auto stored = ReadAt(b.offset, b.size, read_buf);
  if (!stored.ok()) {
    if (stored.status().code() != ErrorCode::kCorruption) return stored.status();
    return BlockError(granule, c, stored.status().message());
  }
  if (BlockCrc(*stored) != b.crc) return BlockError(granule, c, "checksum mismatch");
  std::string_view raw = *stored;
  if (b.compression != Compression::kNone) {
    Status s = Decompress(b.compression, raw, b.raw_size, raw_buf);
    if (!s.ok()) return BlockError(granule, c, s.message());
    raw = *raw_buf;
  }
  Status s;
  switch (c) {
    case Column::kTimestamp:
      s = DecodeInt64(b.encoding, raw, n, {}, &out->timestamp);
      break;
    case Column::kReceivedAt:
      s = DecodeInt64(b.encoding, raw, n, timestamps, &out->received_at);
      break;
    case Column::kFlags:
      s = DecodeUInt32(b.encoding, raw, n, &out->flags);
      break;
    case Column::kValue:
      s = DecodeDouble(b.encoding, raw, n, &out->value);
      break;
    case Column::kEventId:
      s = DecodeString(b.encoding, raw, n, &out->event_id);
      break;
    case Column::kProperties:
      s = DecodeString(b.encoding, raw, n, &out->properties);
      break;
    case Column::kContext:
      s = DecodeString(b.encoding, raw, n, &out->context);
      break;
    default:
      s = DecodeUInt32(b.encoding, raw, n, &out->Ids(c));
      break;
  }
  if (!s.ok()) return BlockError(granule, c, s.message());
  return Status::Ok();
}

Status PartReader::ReadGranule(size_t i, ColumnSet columns, ColumnBatch* out) const {
  if (i >= granules_.size()) {
    return InvalidArgument("granule " + std::to_string(i) + " out of range");
  }
  thread_local std::string read_buf;
  thread_local std::string raw_buf;
  columns.Add(Column::kTimestamp);
  CA_RETURN_IF_ERROR(DecodeBlock(i, Column::kTimestamp, {}, out, &read_buf, &raw_buf));
  const size_t n = granules_[i].rows;
  for (size_t c = 1; c < kColumnCount; ++c) {
    const Column col = static_cast<Column>(c);
    if (!columns.Has(col)) {
      ClearColumn(out, col);
    } else if (!present_[c]) {
      FillDefault(out, col, n);
    } else {
      CA_RETURN_IF_ERROR(DecodeBlock(i, col, out->timestamp, out, &read_buf, &raw_buf));
    }
  }
  return Status::Ok();
}

Status PartReader::ReadColumn(size_t i, Column c, std::span<const int64_t> timestamps,
                              ColumnBatch* out) const {
  if (i >= granules_.size()) {
    return InvalidArgument("granule " + std::to_string(i) + " out of range");
  }
  if (!present_[static_cast<size_t>(c)]) {
    FillDefault(out, c, granules_[i].rows);
    return Status::Ok();
  }
  thread_local std::string read_buf;
  thread_local std::string raw_buf;
  return DecodeBlock(i, c, timestamps, out, &read_buf, &raw_buf);
}

Status PartReader::Verify() const {
  ColumnBatch batch;
  std::map<uint32_t, uint64_t> types;
  uint64_t users = 0;
  uint32_t last_user = 0;
  uint32_t agg_last = 0;
  int64_t last_ts = 0;
  for (size_t g = 0; g < granules_.size(); ++g) {
    CA_RETURN_IF_ERROR(ReadGranule(g, ColumnSet::All(), &batch));
    const GranuleInfo& gi = granules_[g];
    if (!SameSummary(Summarize(batch, 0, batch.size()), gi)) {
      return Corruption("part " + path_ + ": granule " + std::to_string(g) +
                        ": values disagree with the granule index");
    }
    const auto& user = batch.Ids(Column::kUser);
    for (size_t r = 0; r < batch.size(); ++r) {
      const bool first = g == 0 && r == 0;
      if (!first &&
          (user[r] < last_user || (user[r] == last_user && batch.timestamp[r] < last_ts))) {
        return Corruption("part " + path_ + ": granule " + std::to_string(g) + " row " +
                          std::to_string(r) + ": rows not sorted by (user, timestamp)");
      }
      last_ts = batch.timestamp[r];
      last_user = user[r];
    }
    Aggregate(batch, &types, &users, &agg_last);
  }
  const std::vector<std::pair<uint32_t, uint64_t>> type_counts(types.begin(), types.end());
  if (users != meta_.distinct_users || type_counts != meta_.type_counts) {
    return Corruption("part " + path_ + ": type histogram or distinct users disagree with rows");
  }
  std::string scratch;
  for (const OtherBlock& o : other_blocks_) {
    auto stored = ReadAt(o.info.offset, o.info.size, &scratch);
    if (!stored.ok()) return stored.status();
    if (BlockCrc(*stored) != o.info.crc) {
      return Corruption("part " + path_ + ": granule " + std::to_string(o.granule) + " column " +
                        std::to_string(o.column) + " block at offset " +
                        std::to_string(o.info.offset) + ": checksum mismatch");
    }
  }
  return Status::Ok();
}

}  // namespace ca::store
