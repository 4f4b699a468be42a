#include "ingest/sessionizer.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "base/crc32c.h"
#include "base/result.h"
#include "event/json_string.h"
#include "ingest/tenant_key.h"

namespace ca::ingest {

Sessionizer::Sessionizer() : Sessionizer(Options()) {}
Sessionizer::Sessionizer(Options options) : options_(options) {}

Sessionizer::SenderKey Sessionizer::KeyOf(std::string_view tenant, std::string_view sender) {
  return {TenantKeyHash(tenant, sender), TenantKeyCheck(tenant, sender)};
}

Sessionizer::Rendered Sessionizer::Assign(std::string_view tenant, std::string_view sender,
                                          int64_t timestamp_ms, int64_t received_at_ms,
                                          const SessionSeed& first) {
  Rendered out;
  Assign(KeyOf(tenant, sender), timestamp_ms, received_at_ms, first, &out);
  return out;
}

void Sessionizer::Prefetch(const SenderKey& sender) const {
  const Shard& shard = shards_[sender.hash % kShards];
  std::lock_guard lock(shard.mu);
  shard.open.Prefetch(sender.hash);
}

void Sessionizer::Assign(const SenderKey& sender, int64_t timestamp_ms, int64_t received_at_ms,
                         const SessionSeed& first, Rendered* out) {
  const uint64_t hash = sender.hash;
  Shard& shard = shards_[hash % kShards];
  std::lock_guard lock(shard.mu);
  Open* s = shard.open.Find(hash);
  // Two senders with one 64-bit hash (about never): the later one takes the slot over.
  if (s != nullptr && s->check == sender.check) {
    if (timestamp_ms >= s->start_ms - options_.gap_ms &&
        timestamp_ms <= s->last_ms + options_.gap_ms) {
      s->start_ms = std::min(s->start_ms, timestamp_ms);
      s->last_ms = std::max(s->last_ms, timestamp_ms);
      s->touched_at_ms = received_at_ms;
      if (!s->has_page && first.has_page()) {
        // The session began without a page (an identify, a login): its first page is its entry.
        s->has_page = true;
        RenderMembersAfterId(first, &s->members_after_id);
      }
      out->id.assign(s->id.data(), s->id.size());
      out->members_after_id.assign(s->members_after_id);
      return;
    }
    // Much earlier than the open session: an old session of its own, which does not replace
    // the open one. Later than the gap: a new session.
    if (timestamp_ms < s->start_ms) {
      std::array<char, 18> id;
      SetId(hash, timestamp_ms, &id);
      out->id.assign(id.data(), id.size());
      RenderMembersAfterId(first, &out->members_after_id);
      return;
    }
  } else if (s == nullptr && shard.open.size() >= options_.max_senders / kShards) {
    MakeRoom(shard, received_at_ms);
  }
  bool inserted;
  Open& open = shard.open.FindOrInsert(hash, &inserted);
  open.check = sender.check;
  SetId(hash, timestamp_ms, &open.id);
  open.has_page = first.has_page();
  RenderMembersAfterId(first, &open.members_after_id);
  open.start_ms = open.last_ms = timestamp_ms;
  open.touched_at_ms = received_at_ms;
  out->id.assign(open.id.data(), open.id.size());
  out->members_after_id.assign(open.members_after_id);
}

void Sessionizer::RenderMembersAfterId(const SessionSeed& seed, std::string* out) {
  out->clear();
  auto add = [&](std::string_view key, std::string_view value) {
    if (value.empty()) return;
    out->push_back(',');
    event::AppendJsonMember(key, value, out);
  };
  add("entry_path", seed.entry_path);
  add("referrer_host", seed.referrer_host);
  add("channel", seed.channel);
  add("utm_source", seed.utm_source);
  add("utm_medium", seed.utm_medium);
  add("utm_campaign", seed.utm_campaign);
}

void Sessionizer::SetId(uint64_t sender_hash, int64_t start_ms, std::array<char, 18>* id) {
  uint64_t mixed = XXH3_64bits_withSeed(&start_ms, sizeof start_ms, sender_hash);
  // 16 letters a..p, one per 4 bits: no digits, so that an id never looks like a phone number to
  // the privacy stage (which then has nothing to scan for).
  (*id)[0] = 's';
  (*id)[1] = '_';
  for (size_t i = 2; i < id->size(); ++i, mixed >>= 4) {
    (*id)[i] = static_cast<char>('a' + (mixed & 15));
  }
}

void Sessionizer::MakeRoom(Shard& shard, int64_t now_ms) {
  shard.open.EraseIf([&](const Open& s) { return s.touched_at_ms < now_ms - options_.gap_ms; });
  if (shard.open.size() < options_.max_senders / kShards) return;
  std::vector<int64_t> touched;
  touched.reserve(shard.open.size());
  shard.open.ForEachEntry([&](uint64_t, const Open& s) { touched.push_back(s.touched_at_ms); });
  auto middle = touched.begin() + static_cast<std::ptrdiff_t>(touched.size() / 2);
  std::nth_element(touched.begin(), middle, touched.end());
  const int64_t cutoff = *middle;
  shard.open.EraseIf([&](const Open& s) { return s.touched_at_ms <= cutoff; });
}

namespace {

constexpr std::string_view kSessionsMagic = "CASESS01";
constexpr uint32_t kSessionsVersion = 1;
static_assert(std::endian::native == std::endian::little, "the file is written little-endian");

template <typename T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads little-endian fixed-size fields and byte strings, failing once the text runs out.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}
  template <typename T>
  bool Get(T* value) {
    if (text_.size() < sizeof(T)) return false;
    std::memcpy(value, text_.data(), sizeof(T));
    text_.remove_prefix(sizeof(T));
    return true;
  }
  bool Bytes(size_t n, std::string_view* bytes) {
    if (text_.size() < n) return false;
    *bytes = text_.substr(0, n);
    text_.remove_prefix(n);
    return true;
  }
  bool done() const { return text_.empty(); }

 private:
  std::string_view text_;
};

}  // namespace

Status Sessionizer::Save(io::Env* env, const std::string& path, int64_t now_ms) const {
  std::string body;
  Put(&body, kSessionsVersion);
  Put(&body, now_ms);
  const size_t count_at = body.size();
  Put(&body, uint64_t{0});
  uint64_t count = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    shard.open.ForEachEntry([&](uint64_t hash, const Open& s) {
      if (s.touched_at_ms < now_ms - options_.gap_ms) return;
      Put(&body, hash);
      Put(&body, s.check);
      Put(&body, s.start_ms);
      Put(&body, s.last_ms);
      Put(&body, s.touched_at_ms);
      body.append(s.id.data(), s.id.size());
      Put(&body, static_cast<uint8_t>(s.has_page));
      Put(&body, static_cast<uint32_t>(s.members_after_id.size()));
      body.append(s.members_after_id);
      ++count;
    });
  }
  std::memcpy(body.data() + count_at, &count, sizeof count);
  std::string file(kSessionsMagic);
  Put(&file, crc32c::Value(body));
  file.append(body);
  return io::WriteFileAtomically(env, path, file);
}

Status Sessionizer::Load(io::Env* env, const std::string& path, int64_t now_ms) {
  if (!env->FileExists(path)) return Status::Ok();
  CA_ASSIGN_OR_RETURN(std::string file, io::ReadFileToString(env, path));
  auto damaged = [&](std::string_view what) {
    return Status(ErrorCode::kCorruption, path + ": " + std::string(what));
  };
  const size_t header = kSessionsMagic.size() + sizeof(uint32_t);
  if (file.size() < header ||
      std::string_view(file).substr(0, kSessionsMagic.size()) != kSessionsMagic) {
    return damaged("not a sessions file (bad magic)");
  }
  uint32_t crc = 0;
  std::memcpy(&crc, file.data() + kSessionsMagic.size(), sizeof crc);
  const std::string_view body = std::string_view(file).substr(header);
  if (crc32c::Value(body) != crc) return damaged("checksum mismatch");
  Reader in(body);
  uint32_t version = 0;
  int64_t saved_at_ms = 0;
  uint64_t count = 0;
  if (!in.Get(&version) || !in.Get(&saved_at_ms) || !in.Get(&count)) return damaged("truncated");
  if (version != kSessionsVersion) return damaged("unknown version " + std::to_string(version));
  struct Entry {
    uint64_t hash;
    Open open;
  };
  std::vector<Entry> entries;
  for (uint64_t i = 0; i < count; ++i) {
    Entry e;
    uint8_t has_page = 0;
    uint32_t members = 0;
    std::string_view id, text;
    if (!in.Get(&e.hash) || !in.Get(&e.open.check) || !in.Get(&e.open.start_ms) ||
        !in.Get(&e.open.last_ms) || !in.Get(&e.open.touched_at_ms) ||
        !in.Bytes(e.open.id.size(), &id) || !in.Get(&has_page) || !in.Get(&members) ||
        !in.Bytes(members, &text)) {
      return damaged("truncated");
    }
    std::memcpy(e.open.id.data(), id.data(), id.size());
    e.open.has_page = has_page != 0;
    e.open.members_after_id.assign(text);
    if (e.open.touched_at_ms >= now_ms - options_.gap_ms) entries.push_back(std::move(e));
  }
  if (!in.done()) return damaged("bytes after the last session");
  for (Entry& e : entries) {
    Shard& shard = shards_[e.hash % kShards];
    std::lock_guard lock(shard.mu);
    if (shard.open.size() >= options_.max_senders / kShards) continue;
    bool inserted;
    Open& open = shard.open.FindOrInsert(e.hash, &inserted);
    if (inserted) open = std::move(e.open);  // a session already seen since the start wins
  }
  return Status::Ok();
}

size_t Sessionizer::open_sessions() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.open.size();
  }
  return n;
}

}  // namespace ca::ingest
