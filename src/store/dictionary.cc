#include "store/dictionary.h"

#include <cstring>

#include <xxhash.h>

#include "base/crc32c.h"
#include "base/varint.h"

namespace ca::store {
namespace {

// File: the 8-byte magic, then records. A record is a 12-byte header (entry count, payload
// length, CRC32C of the payload, all little-endian uint32) and a payload of `count` entries, each
// a varint length and the bytes. See docs/formats/dictionary.md.
constexpr std::string_view kMagic = "CADICT01";
constexpr size_t kRecordHeader = 12;

constexpr size_t kBlockBytes = 1 << 20;
constexpr uint64_t kMaxValueBytes = (1 << 20) - 1;
// A location packs block index (24 bits), offset (20 bits) and length (20 bits).
constexpr uint64_t Pack(uint64_t block, uint64_t offset, uint64_t length) {
  return block << 40 | offset << 20 | length;
}

uint64_t Hash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

void PutU32(uint32_t v, std::string* out) {
  char b[4];
  std::memcpy(b, &v, 4);
  out->append(b, 4);
}
uint32_t GetU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
}  // namespace

Dictionary::Dictionary() : Dictionary(nullptr, "") {}

Dictionary::Dictionary(io::Env* env, std::string path) : env_(env), path_(std::move(path)) {
  locations_.push_back(0);  // id 0 is ""
  table_.assign(1024, 0);
}

Dictionary::~Dictionary() {
  if (file_) (void)file_->Close();
}

Result<std::unique_ptr<Dictionary>> Dictionary::Open(io::Env* env, const std::string& path) {
  std::unique_ptr<Dictionary> dict(new Dictionary(env, path));
  if (!env->FileExists(path)) {
    CA_ASSIGN_OR_RETURN(dict->file_, env->NewWritableFile(path, /*append=*/false));
    CA_RETURN_IF_ERROR(dict->file_->Append(kMagic));
    CA_RETURN_IF_ERROR(dict->file_->Sync());
    CA_RETURN_IF_ERROR(env->SyncDir(io::DirName(path)));
    dict->file_size_ = kMagic.size();
    return dict;
  }
  CA_ASSIGN_OR_RETURN(std::string data, io::ReadFileToString(env, path));
  auto damage = [&](size_t offset, std::string_view what) {
    return Corruption("dictionary " + path + " at offset " + std::to_string(offset) + ": " +
                      std::string(what));
  };
  size_t good_end = 0;
  if (data.size() < kMagic.size()) {
    // A crash while creating it: nothing was ever referenced.
  } else if (std::string_view(data).substr(0, kMagic.size()) != kMagic) {
    return damage(0, "bad magic");
  } else {
    good_end = kMagic.size();
    std::lock_guard lock(dict->mu_);
    while (good_end < data.size()) {
      size_t left = data.size() - good_end;
      if (left < kRecordHeader) break;  // torn header at the tail
      const char* h = data.data() + good_end;
      uint32_t count = GetU32(h), length = GetU32(h + 4), crc = GetU32(h + 8);
      if (length > left - kRecordHeader) break;  // torn payload at the tail
      std::string_view payload(h + kRecordHeader, length);
      bool last = good_end + kRecordHeader + length == data.size();
      if (crc32c::Value(payload) != crc) {
        if (last) break;  // a torn write of the last record
        return damage(good_end, "record checksum mismatch");
      }
      for (uint32_t i = 0; i < count; ++i) {
        uint64_t n = 0;
        if (!GetVarint(&payload, &n) || n > payload.size() || n > kMaxValueBytes) {
          return damage(good_end, "bad entry in record");
        }
        dict->AddLocked(payload.substr(0, n));
        payload.remove_prefix(n);
      }
      if (!payload.empty()) return damage(good_end, "trailing bytes in record");
      good_end += kRecordHeader + length;
    }
    dict->persisted_ = static_cast<uint32_t>(dict->locations_.size());
  }
  if (good_end < data.size() || good_end == 0) {
    CA_ASSIGN_OR_RETURN(dict->file_, env->NewWritableFile(path, /*append=*/false));
    std::string keep = good_end == 0 ? std::string(kMagic) : data.substr(0, good_end);
    CA_RETURN_IF_ERROR(dict->file_->Append(keep));
    CA_RETURN_IF_ERROR(dict->file_->Sync());
    dict->file_size_ = keep.size();
  } else {
    CA_ASSIGN_OR_RETURN(dict->file_, env->NewWritableFile(path, /*append=*/true));
    dict->file_size_ = data.size();
  }
  return dict;
}

uint32_t Dictionary::GetOrAdd(std::string_view value) {
  if (value.empty()) return 0;
  std::lock_guard lock(mu_);
  uint32_t* slot = SlotFor(value, Hash(value));
  if (*slot != 0) return *slot;
  return AddLocked(value);
}

std::optional<uint32_t> Dictionary::Find(std::string_view value) const {
  if (value.empty()) return 0;
  std::lock_guard lock(mu_);
  uint32_t id = *SlotFor(value, Hash(value));
  if (id == 0) return std::nullopt;
  return id;
}

std::string_view Dictionary::Name(uint32_t id) const {
  std::lock_guard lock(mu_);
  return NameLocked(id);
}

uint32_t Dictionary::size() const {
  std::lock_guard lock(mu_);
  return static_cast<uint32_t>(locations_.size());
}

uint32_t Dictionary::persisted_size() const {
  std::lock_guard lock(mu_);
  return persisted_;
}

std::string_view Dictionary::NameLocked(uint32_t id) const {
  uint64_t loc = locations_[id];
  return {blocks_.empty() && id == 0 ? "" : blocks_[loc >> 40].get() + ((loc >> 20) & 0xfffff),
          static_cast<size_t>(loc & 0xfffff)};
}

uint32_t* Dictionary::SlotFor(std::string_view value, uint64_t hash) const {
  size_t mask = table_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint32_t id = table_[i];
    if (id == 0 || NameLocked(id) == value) return const_cast<uint32_t*>(&table_[i]);
  }
}

uint32_t Dictionary::AddLocked(std::string_view value) {
  if (value.size() > kMaxValueBytes) value = value.substr(0, kMaxValueBytes);
  if (blocks_.empty() || block_used_ + value.size() > kBlockBytes) {
    blocks_.push_back(std::make_unique<char[]>(kBlockBytes));
    block_used_ = 0;
  }
  std::memcpy(blocks_.back().get() + block_used_, value.data(), value.size());
  auto id = static_cast<uint32_t>(locations_.size());
  locations_.push_back(Pack(blocks_.size() - 1, block_used_, value.size()));
  block_used_ += value.size();
  // Keep the load factor under 0.7.
  if ((locations_.size() + 1) * 10 > table_.size() * 7) {
    Grow();
  } else {
    *SlotFor(value, Hash(value)) = id;
    return id;
  }
  return id;
}

void Dictionary::Grow() {
  std::vector<uint32_t> old;
  old.swap(table_);
  table_.assign(old.size() * 2, 0);
  for (uint32_t id = 1; id < locations_.size(); ++id) {
    std::string_view name = NameLocked(id);
    *SlotFor(name, Hash(name)) = id;
  }
}

Status Dictionary::Persist() {
  std::lock_guard lock(mu_);
  if (!file_ || persisted_ == locations_.size()) return Status::Ok();
  std::string payload;
  for (uint32_t id = persisted_; id < locations_.size(); ++id) {
    std::string_view name = NameLocked(id);
    PutVarint(name.size(), &payload);
    payload.append(name);
  }
  std::string record;
  PutU32(static_cast<uint32_t>(locations_.size() - persisted_), &record);
  PutU32(static_cast<uint32_t>(payload.size()), &record);
  PutU32(crc32c::Value(payload), &record);
  record += payload;
  Status s = file_->Append(record);
  if (s.ok()) s = file_->Sync();
  if (!s.ok()) {
    // Leave the file as it was, so that a later Persist appends after the last good record.
    (void)env_->TruncateFile(path_, file_size_);
    return s.WithContext("dictionary " + path_);
  }
  file_size_ += record.size();
  persisted_ = static_cast<uint32_t>(locations_.size());
  return Status::Ok();
}

}  // namespace ca::store
