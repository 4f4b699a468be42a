#include "store/event_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "event/event_codec.h"
#include "store/granule_cache.h"
#include "store/manifest.h"
#include "store/part_format.h"
#include "store/part_merge.h"
#include "store/row_builder.h"
#include "store/user_rows.h"
#include "wal/format.h"

namespace ca::store {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr const char* kConsumerName = "store";
// Memtable chunks smaller than this are combined once there are many of them.
constexpr size_t kSmallChunkRows = 65536;
constexpr size_t kMaxSmallChunks = 16;

int32_t DayOf(int64_t ts_ms) { return static_cast<int32_t>(ts_ms / kDayMs); }

/// Rows of the memtable: an immutable slice once published.
struct Chunk {
  ColumnBatch rows;
  int64_t min_ts = INT64_MAX;
  int64_t max_ts = INT64_MIN;
  size_t bytes = 0;
};

/// An installed part; its file is removed when the last snapshot using it lets go after it
/// became obsolete (merged away).
struct Part {
  std::string path;  // relative to the store directory
  io::Env* env = nullptr;
  std::string full_path;
  std::unique_ptr<PartReader> reader;
  std::atomic<bool> obsolete{false};

  const PartMeta& meta() const { return reader->meta(); }

  /// The part's distinct non-zero users, ascending (rows are sorted by user), read once.
  Result<std::shared_ptr<const std::vector<uint32_t>>> DistinctUsers() const {
    std::lock_guard lock(users_mu);
    if (users) return users;
    auto out = std::make_shared<std::vector<uint32_t>>();
    ColumnBatch batch;
    for (size_t g = 0; g < reader->granules().size(); ++g) {
      CA_RETURN_IF_ERROR(reader->ReadGranule(g, ColumnSet{Column::kUser}, &batch));
      for (uint32_t u : batch.Ids(Column::kUser)) {
        if (u != 0 && (out->empty() || out->back() != u)) out->push_back(u);
      }
    }
    users = std::move(out);
    return users;
  }
  mutable std::mutex users_mu;
  mutable std::shared_ptr<const std::vector<uint32_t>> users;

  ~Part() {
    if (obsolete.load()) {
      reader.reset();
      if (Status s = env->RemoveFile(full_path); !s.ok()) {
        spdlog::warn("store: could not remove merged part {}: {}", full_path, s.ToString());
      }
    }
  }
};

/// What one tenant's snapshot sees.
struct TenantVersion {
  std::vector<std::shared_ptr<Part>> parts;
  std::vector<std::shared_ptr<const Chunk>> frozen;  // being flushed
  std::vector<std::shared_ptr<const Chunk>> chunks;  // the live memtable
};

struct Tenant {
  std::string name;
  std::unique_ptr<TenantDictionaries> dicts;
  std::shared_ptr<const TenantVersion> version = std::make_shared<TenantVersion>();
  // Consumer-thread only: rows read but not yet published.
  Chunk pending;
};

void AddRow(Chunk* chunk, const event::Event& e, TenantDictionaries& dicts) {
  AppendRow(e, dicts, &chunk->rows);
  chunk->min_ts = std::min(chunk->min_ts, e.timestamp_ms);
  chunk->max_ts = std::max(chunk->max_ts, e.timestamp_ms);
  chunk->bytes += RowStringBytes(e) + 96;
}

std::shared_ptr<const Chunk> Concat(const std::vector<std::shared_ptr<const Chunk>>& chunks) {
  auto out = std::make_shared<Chunk>();
  size_t n = 0;
  for (const auto& c : chunks) n += c->rows.size();
  out->rows.timestamp.reserve(n);
  for (const auto& c : chunks) {
    for (size_t i = 0; i < c->rows.size(); ++i) CopyRow(c->rows, i, &out->rows);
    out->min_ts = std::min(out->min_ts, c->min_ts);
    out->max_ts = std::max(out->max_ts, c->max_ts);
    out->bytes += c->bytes;
  }
  return out;
}

/// Rows from many batches, as (batch, row) references, for sorting into parts.
struct RowRef {
  uint32_t batch;
  uint32_t row;
};

/// Sorts `refs` into part order: (user, timestamp, event_id).
void SortForPart(const std::vector<const ColumnBatch*>& batches, std::vector<RowRef>* refs) {
  auto key = [&](const RowRef& r) {
    const ColumnBatch& b = *batches[r.batch];
    return std::tuple(b.Ids(Column::kUser)[r.row], b.timestamp[r.row],
                      std::string_view(b.event_id[r.row]));
  };
  std::sort(refs->begin(), refs->end(),
            [&](const RowRef& a, const RowRef& b) { return key(a) < key(b); });
}

/// Appends the rows `refs` points at, in that order, to `builder`, a granule's worth at a time.
Status AppendInOrder(const std::vector<const ColumnBatch*>& batches,
                     const std::vector<RowRef>& refs, size_t batch_rows, PartBuilder* builder) {
  ColumnBatch out;
  for (size_t i = 0; i < refs.size(); i += batch_rows) {
    out = ColumnBatch{};
    for (size_t j = i; j < std::min(refs.size(), i + batch_rows); ++j) {
      CopyRow(*batches[refs[j].batch], refs[j].row, &out);
    }
    CA_RETURN_IF_ERROR(builder->Append(out));
  }
  return Status::Ok();
}

/// Deleted users of a tenant: (user id, deleted_at_ms), sorted by id. A row is masked when its
/// user is listed and it was received at or before the deletion.
using Mask = std::vector<std::pair<uint32_t, int64_t>>;

bool Masked(const Mask& mask, uint32_t user, int64_t received_at) {
  auto it = std::lower_bound(mask.begin(), mask.end(), std::pair(user, INT64_MIN));
  return it != mask.end() && it->first == user && received_at <= it->second;
}

bool MaskTouches(const Mask& mask, uint32_t min_user, uint32_t max_user) {
  auto it = std::lower_bound(mask.begin(), mask.end(), std::pair(min_user, INT64_MIN));
  return it != mask.end() && it->first <= max_user;
}

// Copies the rows of `in` whose keep[i] is set, in the columns `in` has, into `out`.
void KeepRows(const ColumnBatch& in, const std::vector<uint8_t>& keep, ColumnBatch* out) {
  *out = ColumnBatch{};
  auto copy = [&](const auto& from, auto& to) {
    if (from.empty()) return;
    for (size_t i = 0; i < keep.size(); ++i) {
      if (keep[i]) to.push_back(from[i]);
    }
  };
  copy(in.timestamp, out->timestamp);
  copy(in.received_at, out->received_at);
  copy(in.flags, out->flags);
  for (size_t c = 0; c < in.ids.size(); ++c) copy(in.ids[c], out->ids[c]);
  copy(in.value, out->value);
  copy(in.event_id, out->event_id);
  copy(in.properties, out->properties);
  copy(in.context, out->context);
}

class StoreSnapshot final : public TenantSnapshot {
 public:
  StoreSnapshot(std::shared_ptr<const TenantVersion> version, std::shared_ptr<Tenant> tenant,
                Mask mask, std::shared_ptr<GranuleCache> cache)
      : version_(std::move(version)),
        tenant_(std::move(tenant)),
        mask_(std::move(mask)),
        cache_(std::move(cache)) {
    for (size_t i = 0; i < sizes_.size(); ++i) {
      sizes_[i] = tenant_ ? tenant_->dicts->Of(static_cast<Column>(i + 3)).size() : 1;
    }
  }

  std::optional<uint32_t> Lookup(Column column, std::string_view value) const override {
    if (!tenant_) return value.empty() ? std::optional<uint32_t>(0) : std::nullopt;
    auto id = tenant_->dicts->Of(column).Find(value);
    if (!id || *id >= sizes_[ColumnBatch::DictIndex(column)]) return std::nullopt;
    return id;
  }
  std::string_view Name(Column column, uint32_t id) const override {
    if (!tenant_ || id == 0) return {};
    return tenant_->dicts->Of(column).Name(id);
  }

  std::vector<DayAggregate> DayAggregates(int32_t first_day, int32_t last_day) const override {
    std::vector<DayAggregate> out;
    if (!mask_.empty()) return out;  // deleted users' rows may still be in parts
    std::map<int32_t, std::vector<const Part*>> by_day;
    for (const auto& part : version_->parts) {
      const int32_t day = part->meta().day;
      if (day >= first_day && day <= last_day) by_day[day].push_back(part.get());
    }
    for (const auto& [day, parts] : by_day) {
      if (parts.size() != 1) continue;
      const int64_t start = int64_t{day} * kDayMs, end = start + kDayMs;
      bool memtable_rows = false;
      for (const auto* list : {&version_->frozen, &version_->chunks}) {
        for (const auto& chunk : *list) {
          memtable_rows |= chunk->max_ts >= start && chunk->min_ts < end;
        }
      }
      if (memtable_rows) continue;
      auto users = parts[0]->DistinctUsers();
      if (!users.ok()) continue;  // the scan will report the damage
      DayAggregate a;
      a.day = day;
      a.rows = parts[0]->meta().rows;
      a.type_counts = parts[0]->meta().type_counts;
      a.users = std::move(*users);
      out.push_back(std::move(a));
    }
    return out;
  }
  uint32_t DictionarySize(Column column) const override {
    return sizes_[ColumnBatch::DictIndex(column)];
  }

  Status Scan(const ScanRequest& request,
              const std::function<Status(const ColumnBatch&)>& fn) const override {
    ColumnSet columns = request.columns;
    columns.Add(Column::kTimestamp);
    if (request.user) columns.Add(Column::kUser);
    ColumnSet masked_columns = columns;
    masked_columns.Add(Column::kUser);
    masked_columns.Add(Column::kReceivedAt);
    ColumnBatch batch, kept;
    std::vector<uint8_t> keep;
    // Hands `b` to fn without the rows of deleted users.
    auto emit = [&](const ColumnBatch& b, bool check) -> Status {
      if (!check) return fn(b);
      keep.assign(b.size(), 1);
      bool any = false;
      const auto& users = b.Ids(Column::kUser);
      for (size_t i = 0; i < b.size(); ++i) {
        if (Masked(mask_, users[i], b.received_at[i])) {
          keep[i] = 0;
          any = true;
        }
      }
      if (!any) return fn(b);
      KeepRows(b, keep, &kept);
      return fn(kept);
    };
    for (const auto& part : version_->parts) {
      const PartMeta& meta = part->meta();
      if (meta.max_ts < request.from_ms || meta.min_ts >= request.to_ms) continue;
      const auto& granules = part->reader->granules();
      for (size_t g = 0; g < granules.size(); ++g) {
        const GranuleInfo& info = granules[g];
        if (info.max_ts < request.from_ms || info.min_ts >= request.to_ms) continue;
        if (request.user && (*request.user < info.min_user || *request.user > info.max_user)) {
          continue;
        }
        bool check = MaskTouches(mask_, info.min_user, info.max_user);
        const ColumnSet wanted = check ? masked_columns : columns;
        if (request.user) {
          CA_RETURN_IF_ERROR(
              ReadUserRows(*part->reader, g, wanted, *request.user, cache_.get(), &batch));
          if (batch.size() == 0) continue;
        } else {
          CA_RETURN_IF_ERROR(part->reader->ReadGranule(g, wanted, &batch));
        }
        CA_RETURN_IF_ERROR(emit(batch, check));
      }
    }
    for (const auto* list : {&version_->frozen, &version_->chunks}) {
      for (const auto& chunk : *list) {
        if (chunk->max_ts < request.from_ms || chunk->min_ts >= request.to_ms) continue;
        CA_RETURN_IF_ERROR(emit(chunk->rows, !mask_.empty()));
      }
    }
    return Status::Ok();
  }

 private:
  std::shared_ptr<const TenantVersion> version_;
  std::shared_ptr<Tenant> tenant_;
  Mask mask_;
  std::shared_ptr<GranuleCache> cache_;  // null when disabled
  std::array<uint32_t, 10> sizes_{};
};

}  // namespace

struct EventStore::Impl {
  StoreOptions options;
  wal::Options wal_options;
  wal::Wal* live = nullptr;

  mutable std::mutex mu;  // guards tenants (the map and each version), applied_lsn, stats
  std::condition_variable applied_cv;
  std::map<std::string, std::shared_ptr<Tenant>> tenants;
  wal::Lsn applied_lsn = 0;     // every record below is published to the memtable
  wal::Lsn frozen_lsn = 0;      // the frozen chunks hold every record below this
  wal::Lsn checkpoint_lsn = 0;  // every record below is in parts
  uint64_t next_part_id = 1;
  std::vector<ManifestData::Tombstone> tombstones;
  int64_t oldest_unflushed_ms = 0;  // wall clock of the first row applied since the last freeze
  int64_t last_retention_ms = 0;    // background thread only
  StoreStats counters;

  std::mutex flush_mu;  // one flush or merge at a time; serializes manifest writes
  std::shared_ptr<GranuleCache> granule_cache;  // null when options.granule_cache_bytes is 0

  // Consumer state (consumer thread, or the caller of CatchUp before Start).
  std::unique_ptr<wal::Reader> reader;
  wal::Lsn read_lsn = 0;
  std::string payload;  // scratch, reused record to record
  event::Event event;   // scratch, reused record to record

  // SetError's memory of what it logged last, so that a repeating failure does not flood the log.
  static constexpr int64_t kErrorLogIntervalMs = 60'000;
  std::mutex error_log_mu;
  std::string logged_error;        // guarded by error_log_mu
  int64_t logged_error_at_ms = 0;  // guarded by error_log_mu; monotonic
  uint64_t unlogged_repeats = 0;   // guarded by error_log_mu

  std::mutex bg_mu;
  std::condition_variable bg_cv;
  bool stop = false;
  bool flush_wanted = false;
  std::thread consumer_thread;
  std::thread background_thread;
  bool closed = false;

  std::string PartsDir(const std::string& tenant) const {
    return io::JoinPath(io::JoinPath(options.dir, tenant), "parts");
  }

  Result<std::shared_ptr<Tenant>> GetTenant(const std::string& name) {
    {
      std::lock_guard lock(mu);
      auto it = tenants.find(name);
      if (it != tenants.end()) return it->second;
    }
    auto tenant = std::make_shared<Tenant>();
    tenant->name = name;
    CA_ASSIGN_OR_RETURN(tenant->dicts,
                        TenantDictionaries::Open(
                            options.env, io::JoinPath(io::JoinPath(options.dir, name), "dict")));
    std::lock_guard lock(mu);
    return tenants.emplace(name, tenant).first->second;
  }

  // Reads WAL records into the tenants' pending rows, up to `max_records`; publishes them.
  Result<size_t> ConsumeOnce(size_t max_records) {
    if (!reader) {
      CA_ASSIGN_OR_RETURN(reader, wal::Reader::Open(wal_options, read_lsn, live));
    }
    std::vector<Tenant*> touched;
    size_t n = 0;
    wal::Lsn lsn = 0;
    std::shared_ptr<Tenant> tenant;
    while (n < max_records) {
      CA_ASSIGN_OR_RETURN(bool more, reader->Next(&lsn, &payload));
      if (!more) break;
      if (Status s = event::DecodeEventInto(payload, &event); !s.ok()) {
        return s.WithContext("wal record at lsn " + std::to_string(lsn));
      }
      if (!tenant || tenant->name != event.tenant) {
        CA_ASSIGN_OR_RETURN(tenant, GetTenant(event.tenant));
      }
      if (tenant->pending.rows.size() == 0) touched.push_back(tenant.get());
      AddRow(&tenant->pending, event, *tenant->dicts);
      read_lsn = lsn + wal::format::kRecordHeaderSize + payload.size();
      ++n;
    }
    if (n == 0) return n;
    std::lock_guard lock(mu);
    for (Tenant* t : touched) {
      auto next = std::make_shared<TenantVersion>(*t->version);
      next->chunks.push_back(std::make_shared<const Chunk>(std::move(t->pending)));
      t->pending = Chunk{};
      CombineSmallChunks(&next->chunks);
      t->version = std::move(next);
    }
    if (oldest_unflushed_ms == 0) oldest_unflushed_ms = WallClockMs();
    applied_lsn = read_lsn;
    counters.applied_events += n;
    applied_cv.notify_all();
    return n;
  }

  static void CombineSmallChunks(std::vector<std::shared_ptr<const Chunk>>* chunks) {
    size_t small = 0;
    for (const auto& c : *chunks) small += c->rows.size() < kSmallChunkRows;
    if (small <= kMaxSmallChunks) return;
    std::vector<std::shared_ptr<const Chunk>> keep, combine;
    for (auto& c : *chunks) (c->rows.size() < kSmallChunkRows ? combine : keep).push_back(c);
    keep.push_back(Concat(combine));
    *chunks = std::move(keep);
  }

  static int64_t WallClockMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void MemtableSize(size_t* rows, size_t* bytes) const {  // requires mu
    *rows = 0;
    *bytes = 0;
    for (const auto& [name, t] : tenants) {
      for (const auto& c : t->version->chunks) {
        *rows += c->rows.size();
        *bytes += c->bytes;
      }
    }
  }

  bool FlushDue() const {  // requires mu
    size_t rows = 0, bytes = 0;
    MemtableSize(&rows, &bytes);
    if (rows == 0) return false;
    return rows >= options.memtable_max_rows || bytes >= options.memtable_max_bytes ||
           (oldest_unflushed_ms != 0 &&
            WallClockMs() - oldest_unflushed_ms >= options.flush_interval_ms);
  }

  // The deleted users of `tenant`, as dictionary ids (users never seen mask nothing).
  Mask MaskOf(const Tenant& tenant) const {  // requires mu
    Mask mask;
    for (const auto& t : tombstones) {
      if (t.tenant != tenant.name) continue;
      if (auto id = tenant.dicts->Of(Column::kUser).Find(t.user_id); id && *id != 0) {
        mask.emplace_back(*id, t.deleted_at_ms);
      }
    }
    std::sort(mask.begin(), mask.end());
    // One entry per user: the latest deletion masks everything before it.
    Mask unique;
    for (const auto& m : mask) {
      if (!unique.empty() && unique.back().first == m.first) {
        unique.back().second = std::max(unique.back().second, m.second);
      } else {
        unique.push_back(m);
      }
    }
    return unique;
  }

  ManifestData ManifestFor(wal::Lsn checkpoint, const std::vector<std::shared_ptr<Part>>& extra,
                           const std::unordered_set<const Part*>& drop) const {  // requires mu
    ManifestData m;
    m.checkpoint_lsn = checkpoint;
    m.next_part_id = next_part_id;
    m.tombstones = tombstones;
    for (const auto& [name, t] : tenants) {
      for (const auto& p : t->version->parts) {
        if (!drop.count(p.get())) m.parts.push_back({name, p->path});
      }
    }
    for (const auto& p : extra) m.parts.push_back({p->meta().tenant, p->path});
    return m;
  }

  // Writes one part of `rows` (sorted) and opens it.
  // Builds a part of (tenant, day) at merge `level` from the rows `fill` appends, writes it and
  // opens it; null when `fill` appended no row.
  Result<std::shared_ptr<Part>> WriteNewPart(const std::string& tenant, int32_t day, uint32_t level,
                                             const std::function<Status(PartBuilder*)>& fill) {
    uint64_t id;
    {
      std::lock_guard lock(mu);
      id = next_part_id++;
    }
    PartMeta meta;
    meta.tenant = tenant;
    meta.day = day;
    meta.part_id = id;
    meta.level = level;
    PartWriteOptions write_options;
    write_options.granule_rows = options.granule_rows;
    CA_ASSIGN_OR_RETURN(std::unique_ptr<PartBuilder> builder,
                        PartBuilder::Create(meta, write_options));
    CA_RETURN_IF_ERROR(fill(builder.get()));
    if (builder->rows() == 0) return std::shared_ptr<Part>();
    CA_ASSIGN_OR_RETURN(std::string bytes, builder->Finish());
    char name[64];
    std::snprintf(name, sizeof(name), "%08d-%012llu.part", day,
                  static_cast<unsigned long long>(id));
    auto part = std::make_shared<Part>();
    part->env = options.env;
    part->path = tenant + "/parts/" + name;
    part->full_path = io::JoinPath(options.dir, part->path);
    CA_RETURN_IF_ERROR(options.env->CreateDirs(PartsDir(tenant)));
    CA_RETURN_IF_ERROR(io::WriteFileAtomically(options.env, part->full_path, bytes));
    CA_ASSIGN_OR_RETURN(part->reader, PartReader::Open(options.env, part->full_path));
    return part;
  }

  Status FlushNow() {
    std::lock_guard flush_lock(flush_mu);
    std::map<std::string, std::shared_ptr<Tenant>> snapshot_tenants;
    wal::Lsn target;
    {
      std::lock_guard lock(mu);
      // Freeze the memtable unless an earlier failed flush left frozen chunks to retry.
      bool retry = false;
      for (const auto& [name, t] : tenants) retry |= !t->version->frozen.empty();
      if (!retry) {
        for (auto& [name, t] : tenants) {
          if (t->version->chunks.empty()) continue;
          auto next = std::make_shared<TenantVersion>(*t->version);
          next->frozen = std::move(next->chunks);
          next->chunks.clear();
          t->version = std::move(next);
        }
        frozen_lsn = applied_lsn;
        oldest_unflushed_ms = 0;
      }
      snapshot_tenants = tenants;
      target = frozen_lsn;
    }
    std::vector<std::pair<std::shared_ptr<Tenant>, std::vector<std::shared_ptr<Part>>>> written;
    auto cleanup = [&] {
      for (auto& [t, parts] : written) {
        for (auto& p : parts) p->obsolete = true;
      }
    };
    for (auto& [name, t] : snapshot_tenants) {
      std::shared_ptr<const TenantVersion> version;
      Mask mask;
      {
        std::lock_guard lock(mu);
        version = t->version;
        mask = MaskOf(*t);
      }
      if (version->frozen.empty()) continue;
      if (Status s = t->dicts->PersistAll(); !s.ok()) {
        cleanup();
        return s;
      }
      std::vector<const ColumnBatch*> batches;
      std::map<int32_t, std::vector<RowRef>> by_day;
      for (const auto& c : version->frozen) {
        auto b = static_cast<uint32_t>(batches.size());
        batches.push_back(&c->rows);
        const auto& users = c->rows.Ids(Column::kUser);
        for (uint32_t i = 0; i < c->rows.size(); ++i) {
          if (!mask.empty() && Masked(mask, users[i], c->rows.received_at[i])) continue;
          by_day[DayOf(c->rows.timestamp[i])].push_back({b, i});
        }
      }
      std::vector<std::shared_ptr<Part>> parts;
      for (auto& [day, day_refs] : by_day) {
        std::vector<RowRef>& refs = day_refs;  // a lambda may not capture a structured binding
        SortForPart(batches, &refs);
        auto part = WriteNewPart(name, day, 0, [&](PartBuilder* builder) {
          return AppendInOrder(batches, refs, options.granule_rows, builder);
        });
        if (!part.ok()) {
          for (auto& p : parts) p->obsolete = true;
          cleanup();
          return part.status();
        }
        parts.push_back(std::move(*part));
      }
      written.emplace_back(t, std::move(parts));
    }
    // The manifest makes the new parts and the checkpoint durable in one rename.
    std::vector<std::shared_ptr<Part>> all_new;
    for (auto& [t, parts] : written) all_new.insert(all_new.end(), parts.begin(), parts.end());
    ManifestData manifest;
    {
      std::lock_guard lock(mu);
      manifest = ManifestFor(target, all_new, {});
    }
    if (Status s = WriteManifest(options.env, options.dir, manifest); !s.ok()) {
      cleanup();
      return s;
    }
    {
      std::lock_guard lock(mu);
      for (auto& [t, parts] : written) {
        auto next = std::make_shared<TenantVersion>(*t->version);
        next->frozen.clear();
        next->parts.insert(next->parts.end(), parts.begin(), parts.end());
        t->version = std::move(next);
      }
      for (auto& [name, t] : tenants) {
        if (!t->version->frozen.empty()) {
          auto next = std::make_shared<TenantVersion>(*t->version);
          next->frozen.clear();  // tenants whose frozen chunks were empty
          t->version = std::move(next);
        }
      }
      checkpoint_lsn = target;
      ++counters.flushes;
    }
    if (live) {
      CA_RETURN_IF_ERROR(live->CommitCheckpoint(kConsumerName, target));
      CA_RETURN_IF_ERROR(live->DeleteObsoleteSegments());
    }
    return Status::Ok();
  }

  // Merges the parts of one partition when it has at least `min_parts`; false when none had.
  Result<bool> MergeOne(size_t min_parts) {
    std::lock_guard flush_lock(flush_mu);
    std::shared_ptr<Tenant> tenant;
    std::vector<std::shared_ptr<Part>> inputs;
    {
      std::lock_guard lock(mu);
      for (auto& [name, t] : tenants) {
        std::map<int32_t, std::vector<std::shared_ptr<Part>>> by_day;
        for (const auto& p : t->version->parts) by_day[p->meta().day].push_back(p);
        for (auto& [day, parts] : by_day) {
          if (parts.size() >= std::max<size_t>(min_parts, 2)) {
            tenant = t;
            inputs = parts;
            break;
          }
        }
        if (tenant) break;
      }
    }
    if (!tenant) return false;
    CA_RETURN_IF_ERROR(RewriteParts(tenant, inputs));
    std::lock_guard lock(mu);
    ++counters.merges;
    return true;
  }

  // Replaces `inputs` (parts of one partition of `tenant`) by one part holding their rows minus
  // those of deleted users (or by nothing when no row is left). Requires flush_mu.
  Status RewriteParts(const std::shared_ptr<Tenant>& tenant,
                      const std::vector<std::shared_ptr<Part>>& inputs) {
    Mask mask;
    {
      std::lock_guard lock(mu);
      mask = MaskOf(*tenant);
    }
    uint32_t level = 0;
    std::vector<const PartReader*> readers;
    for (const auto& p : inputs) {
      level = std::max(level, p->meta().level + 1);
      readers.push_back(p->reader.get());
    }
    std::function<bool(uint32_t, int64_t)> drop;
    if (!mask.empty()) {
      drop = [&mask](uint32_t user, int64_t received_at) {
        return Masked(mask, user, received_at);
      };
    }
    CA_ASSIGN_OR_RETURN(
        auto merged,
        WriteNewPart(tenant->name, inputs[0]->meta().day, level, [&](PartBuilder* builder) {
          return MergeParts(readers, drop, options.granule_rows, builder);
        }));
    std::vector<std::shared_ptr<Part>> outputs;
    if (merged) outputs.push_back(std::move(merged));
    return ReplaceParts(tenant, inputs, outputs);
  }

  // Makes `outputs` replace `inputs` in the manifest and in the tenant's version; the inputs'
  // files go when the last snapshot using them does. Requires flush_mu.
  Status ReplaceParts(const std::shared_ptr<Tenant>& tenant,
                      const std::vector<std::shared_ptr<Part>>& inputs,
                      const std::vector<std::shared_ptr<Part>>& outputs) {
    std::unordered_set<const Part*> drop;
    for (const auto& p : inputs) drop.insert(p.get());
    ManifestData manifest;
    {
      std::lock_guard lock(mu);
      manifest = ManifestFor(checkpoint_lsn, outputs, drop);
    }
    if (Status s = WriteManifest(options.env, options.dir, manifest); !s.ok()) {
      for (const auto& p : outputs) p->obsolete = true;
      return s;
    }
    std::lock_guard lock(mu);
    auto next = std::make_shared<TenantVersion>(*tenant->version);
    std::erase_if(next->parts, [&](const auto& p) { return drop.count(p.get()) > 0; });
    next->parts.insert(next->parts.end(), outputs.begin(), outputs.end());
    tenant->version = std::move(next);
    for (const auto& p : inputs) p->obsolete = true;
    return Status::Ok();
  }

  // Whether `part` may hold rows masked by `mask` (reads its user and receive-time columns).
  Result<bool> HoldsMaskedRows(const Part& part, const Mask& mask) {
    ColumnBatch batch;
    const auto& granules = part.reader->granules();
    for (size_t g = 0; g < granules.size(); ++g) {
      if (!MaskTouches(mask, granules[g].min_user, granules[g].max_user)) continue;
      CA_RETURN_IF_ERROR(
          part.reader->ReadGranule(g, ColumnSet{Column::kUser, Column::kReceivedAt}, &batch));
      const auto& users = batch.Ids(Column::kUser);
      for (size_t i = 0; i < batch.size(); ++i) {
        if (Masked(mask, users[i], batch.received_at[i])) return true;
      }
    }
    return false;
  }

  // Rewrites every part holding rows of deleted users, then marks those deletions removed.
  Status PurgeDeleted(int64_t now_ms) {
    std::lock_guard flush_lock(flush_mu);
    std::vector<std::pair<std::shared_ptr<Tenant>, Mask>> work;
    {
      std::lock_guard lock(mu);
      for (auto& [name, t] : tenants) {
        Mask mask = MaskOf(*t);
        if (!mask.empty()) work.emplace_back(t, std::move(mask));
      }
    }
    for (auto& [tenant, mask] : work) {
      std::vector<std::shared_ptr<Part>> parts;
      {
        std::lock_guard lock(mu);
        parts = tenant->version->parts;
      }
      for (const auto& part : parts) {
        CA_ASSIGN_OR_RETURN(bool holds, HoldsMaskedRows(*part, mask));
        if (holds) CA_RETURN_IF_ERROR(RewriteParts(tenant, {part}));
      }
    }
    // Parts no longer hold any of them (the memtable never flushes masked rows): done.
    bool changed = false;
    {
      std::lock_guard lock(mu);
      for (auto& t : tombstones) {
        if (t.removed_at_ms == 0) {
          t.removed_at_ms = now_ms;
          changed = true;
        }
      }
    }
    if (!changed) return Status::Ok();
    ManifestData manifest;
    {
      std::lock_guard lock(mu);
      manifest = ManifestFor(checkpoint_lsn, {}, {});
    }
    return WriteManifest(options.env, options.dir, manifest);
  }

  // Drops the partitions older than each tenant's retention.
  Status ApplyRetention(int64_t now_ms) {
    if (!options.retention_days) return Status::Ok();
    std::lock_guard flush_lock(flush_mu);
    std::vector<std::pair<std::shared_ptr<Tenant>, std::vector<std::shared_ptr<Part>>>> expired;
    {
      std::lock_guard lock(mu);
      for (auto& [name, t] : tenants) {
        int days = options.retention_days(name);
        if (days <= 0) continue;
        const int32_t first_kept = DayOf(now_ms) - days;
        std::vector<std::shared_ptr<Part>> old;
        for (const auto& p : t->version->parts) {
          if (p->meta().day < first_kept) old.push_back(p);
        }
        if (!old.empty()) expired.emplace_back(t, std::move(old));
      }
    }
    for (auto& [tenant, parts] : expired) {
      spdlog::info("store: retention drops {} parts of tenant {}", parts.size(), tenant->name);
      CA_RETURN_IF_ERROR(ReplaceParts(tenant, parts, {}));
    }
    return Status::Ok();
  }

  // True while the memtable is at twice its flush limits: a flush is running and cannot keep up,
  // so the consumer waits (the WAL holds the records) instead of growing memory without bound.
  bool MemtableFull() const {  // requires mu
    size_t rows = 0, bytes = 0;
    MemtableSize(&rows, &bytes);
    return rows >= 2 * options.memtable_max_rows || bytes >= 2 * options.memtable_max_bytes;
  }

  void ConsumerLoop() {
    while (true) {
      {
        std::lock_guard lock(bg_mu);
        if (stop) return;
      }
      bool full;
      {
        std::lock_guard lock(mu);
        full = MemtableFull();
      }
      if (full) {
        std::unique_lock lock(bg_mu);
        flush_wanted = true;
        bg_cv.notify_all();
        bg_cv.wait_for(lock, std::chrono::milliseconds(options.poll_interval_ms),
                       [&] { return stop; });
        continue;
      }
      auto n = ConsumeOnce(65536);
      if (!n.ok()) {
        SetError("consuming the WAL: " + n.status().ToString());
        reader.reset();  // reopen at read_lsn on the next round
      }
      bool due;
      {
        std::lock_guard lock(mu);
        due = FlushDue();
      }
      if (due) {
        std::lock_guard lock(bg_mu);
        flush_wanted = true;
        bg_cv.notify_all();
      }
      if (n.ok() && *n > 0) continue;
      std::unique_lock lock(bg_mu);
      bg_cv.wait_for(lock, std::chrono::milliseconds(options.poll_interval_ms),
                     [&] { return stop; });
    }
  }

  void BackgroundLoop() {
    while (true) {
      {
        std::unique_lock lock(bg_mu);
        bg_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stop || flush_wanted; });
        if (stop) return;
        flush_wanted = false;
      }
      bool due;
      {
        std::lock_guard lock(mu);
        due = FlushDue();
        for (const auto& [name, t] : tenants) due |= !t->version->frozen.empty();
      }
      if (due) {
        const int64_t t0 = MonotonicNanos();
        Status s = FlushNow();
        if (!s.ok()) SetError("flush: " + s.ToString());
        ReportTask("store.flush", t0, s);
      }
      const int64_t t0 = MonotonicNanos();
      auto merged = MergeOne(options.merge_min_parts);
      if (!merged.ok()) SetError("merge: " + merged.status().ToString());
      if (!merged.ok() || *merged) ReportTask("store.merge", t0, merged.status());
      const int64_t now = WallClockMs();
      if (now - last_retention_ms >= 60'000) {
        last_retention_ms = now;
        const int64_t r0 = MonotonicNanos();
        Status s = ApplyRetention(now);
        if (!s.ok()) SetError("retention: " + s.ToString());
        ReportTask("store.retention", r0, s);
      }
    }
  }

  void ReportTask(std::string_view task, int64_t start_ns, const Status& status) {
    if (options.on_task) {
      options.on_task(task, static_cast<double>(MonotonicNanos() - start_ns) / 1e6, status);
    }
  }

  // Logs a failure of the background work and keeps it for stats. A failure that repeats (a
  // record the consumer cannot read is met again at every poll) is logged once, then at most
  // once a minute with how often it came meanwhile.
  void SetError(const std::string& message) {
    {
      std::lock_guard lock(error_log_mu);
      const int64_t now_ms = MonotonicNanos() / 1'000'000;
      if (message == logged_error && now_ms - logged_error_at_ms < kErrorLogIntervalMs) {
        ++unlogged_repeats;
      } else {
        if (unlogged_repeats > 0 && message == logged_error) {
          spdlog::error("store: {} (and {} more time(s) since it was last logged)", message,
                        unlogged_repeats);
        } else {
          spdlog::error("store: {}", message);
        }
        logged_error = message;
        logged_error_at_ms = now_ms;
        unlogged_repeats = 0;
      }
    }
    std::lock_guard lock(mu);
    counters.last_error = message;
  }
};

namespace {

// The end of the log: the durable end of a live WAL, else where an offline reader stops.
Result<wal::Lsn> LogEnd(const wal::Options& wal_options, wal::Wal* live) {
  if (live) return live->durable_lsn();
  auto first = wal::OldestLsn(wal_options);
  if (!first.ok()) {
    if (first.status().code() == ErrorCode::kNotFound) return wal::Lsn{0};
    return first.status();
  }
  CA_ASSIGN_OR_RETURN(auto reader, wal::Reader::Open(wal_options, *first));
  wal::Lsn lsn = *first, end = *first;
  std::string payload;
  while (true) {
    CA_ASSIGN_OR_RETURN(bool more, reader->Next(&lsn, &payload));
    if (!more) return end;
    end = lsn + wal::format::kRecordHeaderSize + payload.size();
  }
}

}  // namespace

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventStore::~EventStore() { (void)Close(); }

Result<std::unique_ptr<EventStore>> EventStore::Open(const StoreOptions& options,
                                                     const wal::Options& wal_options,
                                                     wal::Wal* live) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (options.granule_cache_bytes > 0) {
    impl->granule_cache = std::make_shared<GranuleCache>(options.granule_cache_bytes);
  }
  impl->wal_options = wal_options;
  impl->live = live;
  io::Env* env = options.env;
  CA_RETURN_IF_ERROR(env->CreateDirs(options.dir));
  CA_ASSIGN_OR_RETURN(ManifestData manifest, ReadManifest(env, options.dir));
  impl->checkpoint_lsn = manifest.checkpoint_lsn;
  impl->next_part_id = std::max<uint64_t>(manifest.next_part_id, 1);
  impl->tombstones = manifest.tombstones;

  // Load the listed parts; remove files a crash left behind (never listed, or merged away).
  std::map<std::string, std::vector<std::string>> listed;
  for (const auto& entry : manifest.parts) listed[entry.tenant].push_back(entry.path);
  CA_ASSIGN_OR_RETURN(auto children, env->GetChildren(options.dir));
  for (const auto& name : children) {
    std::string parts_dir = impl->PartsDir(name);
    if (!env->FileExists(parts_dir)) continue;
    CA_ASSIGN_OR_RETURN(auto files, env->GetChildren(parts_dir));
    const auto& keep = listed[name];
    for (const auto& file : files) {
      std::string rel = name + "/parts/" + file;
      if (std::find(keep.begin(), keep.end(), rel) == keep.end()) {
        spdlog::info("store: removing {} (not in the manifest)", rel);
        CA_RETURN_IF_ERROR(env->RemoveFile(io::JoinPath(options.dir, rel)));
      }
    }
  }
  for (const auto& [tenant_name, paths] : listed) {
    CA_ASSIGN_OR_RETURN(auto tenant, impl->GetTenant(tenant_name));
    auto version = std::make_shared<TenantVersion>();
    for (const auto& rel : paths) {
      auto part = std::make_shared<Part>();
      part->env = env;
      part->path = rel;
      part->full_path = io::JoinPath(options.dir, rel);
      CA_ASSIGN_OR_RETURN(part->reader, PartReader::Open(env, part->full_path));
      version->parts.push_back(std::move(part));
    }
    tenant->version = std::move(version);
  }
  if (live) CA_RETURN_IF_ERROR(live->RegisterConsumer(kConsumerName));

  // A WAL cut below the checkpoint (`wal repair` after the store had consumed the lost records,
  // which are safe in parts) appends its next records at LSNs the store believes consumed: move
  // the checkpoint down to the log's end, durably, before anything is appended there.
  CA_ASSIGN_OR_RETURN(wal::Lsn log_end, LogEnd(wal_options, live));
  if (manifest.checkpoint_lsn > log_end) {
    spdlog::warn(
        "store: the WAL ends at {} below the store checkpoint {} (was it repaired?); "
        "continuing from the WAL's end",
        log_end, manifest.checkpoint_lsn);
    manifest.checkpoint_lsn = log_end;
    impl->checkpoint_lsn = log_end;
    if (live) {
      manifest.tombstones = impl->tombstones;
      CA_RETURN_IF_ERROR(WriteManifest(env, options.dir, manifest));
      CA_RETURN_IF_ERROR(live->CommitCheckpoint(kConsumerName, log_end));
    }
  }

  // Replay the WAL from the checkpoint.
  impl->read_lsn = manifest.checkpoint_lsn;
  impl->applied_lsn = manifest.checkpoint_lsn;
  impl->frozen_lsn = manifest.checkpoint_lsn;
  std::unique_ptr<EventStore> store(new EventStore(std::move(impl)));
  CA_RETURN_IF_ERROR(store->CatchUp());
  return store;
}

Status EventStore::CatchUp() {
  while (true) {
    CA_ASSIGN_OR_RETURN(size_t n, impl_->ConsumeOnce(65536));
    if (n == 0) return Status::Ok();
    // A long replay flushes as it goes (a read-only store keeps everything in memory).
    bool full;
    {
      std::lock_guard lock(impl_->mu);
      full = impl_->MemtableFull();
    }
    if (full && impl_->live) CA_RETURN_IF_ERROR(impl_->FlushNow());
  }
}

Status EventStore::Start() {
  if (!impl_->live) return Status::Ok();
  impl_->consumer_thread = std::thread([this] { impl_->ConsumerLoop(); });
  impl_->background_thread = std::thread([this] { impl_->BackgroundLoop(); });
  return Status::Ok();
}

Status EventStore::Close() {
  if (impl_->closed) return Status::Ok();
  impl_->closed = true;
  {
    std::lock_guard lock(impl_->bg_mu);
    impl_->stop = true;
    impl_->bg_cv.notify_all();
  }
  if (impl_->consumer_thread.joinable()) impl_->consumer_thread.join();
  if (impl_->background_thread.joinable()) impl_->background_thread.join();
  if (!impl_->live) return Status::Ok();
  // Take in what the WAL made durable last, then flush so a restart replays little.
  Status s = CatchUp();
  if (s.ok()) s = impl_->FlushNow();
  return s;
}

std::shared_ptr<const TenantSnapshot> EventStore::Snapshot(const std::string& tenant,
                                                           wal::Lsn* applied) {
  std::lock_guard lock(impl_->mu);
  if (applied != nullptr) *applied = impl_->applied_lsn;
  auto it = impl_->tenants.find(tenant);
  if (it == impl_->tenants.end()) {
    return std::make_shared<StoreSnapshot>(std::make_shared<TenantVersion>(), nullptr, Mask{},
                                           nullptr);
  }
  return std::make_shared<StoreSnapshot>(it->second->version, it->second,
                                         impl_->MaskOf(*it->second), impl_->granule_cache);
}

std::vector<std::string> EventStore::Tenants() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> names;
  for (const auto& [name, t] : impl_->tenants) names.push_back(name);
  return names;
}

Status EventStore::Flush() { return impl_->FlushNow(); }

Result<DeletionReceipt> EventStore::DeleteUser(const std::string& tenant,
                                               const std::string& user_id, int64_t now_ms) {
  if (user_id.empty()) return InvalidArgument("delete user: the user id is empty");
  // Count what the deletion masks, through a snapshot from before it.
  uint64_t masked = 0;
  auto before = Snapshot(tenant);
  if (auto id = before->Lookup(Column::kUser, user_id); id && *id != 0) {
    ScanRequest request{0, INT64_MAX, ColumnSet{Column::kUser, Column::kReceivedAt}, *id};
    CA_RETURN_IF_ERROR(before->Scan(request, [&](const ColumnBatch& b) {
      const auto& users = b.Ids(Column::kUser);
      for (size_t i = 0; i < b.size(); ++i) {
        masked += users[i] == *id && b.received_at[i] <= now_ms;
      }
      return Status::Ok();
    }));
  }
  std::lock_guard flush_lock(impl_->flush_mu);
  ManifestData::Tombstone t;
  t.receipt_id =
      "del-" + std::to_string(now_ms) + "-" + std::to_string(impl_->tombstones.size() + 1);
  t.tenant = tenant;
  t.user_id = user_id;
  t.deleted_at_ms = now_ms;
  t.masked_events = masked;
  ManifestData manifest;
  {
    std::lock_guard lock(impl_->mu);
    impl_->tombstones.push_back(t);
    manifest = impl_->ManifestFor(impl_->checkpoint_lsn, {}, {});
  }
  if (Status s = WriteManifest(impl_->options.env, impl_->options.dir, manifest); !s.ok()) {
    std::lock_guard lock(impl_->mu);
    impl_->tombstones.pop_back();
    return s;
  }
  return t;
}

std::vector<DeletionReceipt> EventStore::Deletions() const {
  std::lock_guard lock(impl_->mu);
  return impl_->tombstones;
}

Status EventStore::Compact(int64_t now_ms) {
  CA_RETURN_IF_ERROR(Flush());
  CA_RETURN_IF_ERROR(impl_->PurgeDeleted(now_ms));
  CA_RETURN_IF_ERROR(MergeAll());
  return impl_->ApplyRetention(now_ms);
}

Status EventStore::MergeAll() {
  while (true) {
    CA_ASSIGN_OR_RETURN(bool merged, impl_->MergeOne(2));
    if (!merged) return Status::Ok();
  }
}

Status EventStore::WaitApplied(wal::Lsn lsn, int64_t timeout_ms) {
  std::unique_lock lock(impl_->mu);
  if (!impl_->applied_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                  [&] { return impl_->applied_lsn >= lsn; })) {
    return Unavailable("store: WAL position " + std::to_string(lsn) + " not applied after " +
                       std::to_string(timeout_ms) + " ms");
  }
  return Status::Ok();
}

Status EventStore::ForEachEventKey(
    int64_t since_ms,
    const std::function<void(const std::string&, const std::string&, int64_t)>& fn) {
  std::vector<std::pair<std::string, std::shared_ptr<const TenantVersion>>> versions;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [name, t] : impl_->tenants) versions.emplace_back(name, t->version);
  }
  ColumnBatch batch;
  for (const auto& [name, version] : versions) {
    for (const auto& part : version->parts) {
      if (part->meta().max_received < since_ms) continue;
      for (size_t g = 0; g < part->reader->granules().size(); ++g) {
        if (part->reader->granules()[g].max_received < since_ms) continue;
        CA_RETURN_IF_ERROR(
            part->reader->ReadGranule(g, ColumnSet{Column::kReceivedAt, Column::kEventId}, &batch));
        for (size_t i = 0; i < batch.size(); ++i) {
          if (batch.received_at[i] >= since_ms) fn(name, batch.event_id[i], batch.received_at[i]);
        }
      }
    }
  }
  return Status::Ok();
}

std::vector<std::string> EventStore::Verify() {
  std::vector<std::string> problems;
  std::vector<std::shared_ptr<const TenantVersion>> versions;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [name, t] : impl_->tenants) versions.push_back(t->version);
  }
  for (const auto& version : versions) {
    for (const auto& part : version->parts) {
      if (Status s = part->reader->Verify(); !s.ok()) problems.push_back(s.ToString());
    }
  }
  return problems;
}

std::array<EventStore::ColumnUsage, kColumnCount> EventStore::ColumnUsages() const {
  std::array<ColumnUsage, kColumnCount> usage{};
  std::lock_guard lock(impl_->mu);
  for (const auto& [name, t] : impl_->tenants) {
    for (const auto& p : t->version->parts) {
      for (size_t c = 0; c < kColumnCount; ++c) {
        const Column col = static_cast<Column>(c);
        usage[c].bytes += p->reader->column_bytes(col);
        for (size_t g = 0; g < p->reader->granules().size(); ++g) {
          const BlockInfo& b = p->reader->block(g, col);
          ++usage[c].blocks[std::string(EncodingName(b.encoding)) + "/" +
                            std::string(CompressionName(b.compression))];
        }
      }
    }
  }
  return usage;
}

EventStore::Backlog EventStore::backlog() const {
  std::lock_guard lock(impl_->mu);
  Backlog b;
  size_t rows = 0, bytes = 0;
  impl_->MemtableSize(&rows, &bytes);
  b.unflushed_rows = rows;
  for (const auto& [name, t] : impl_->tenants) {
    for (const auto& c : t->version->frozen) b.unflushed_rows += c->rows.size();
  }
  b.applied_lsn = impl_->applied_lsn;
  return b;
}

StoreStats EventStore::stats() const {
  std::lock_guard lock(impl_->mu);
  StoreStats s = impl_->counters;
  size_t rows = 0, bytes = 0;
  impl_->MemtableSize(&rows, &bytes);
  s.memtable_rows = rows;
  for (const auto& [name, t] : impl_->tenants) {
    for (const auto& c : t->version->frozen) s.memtable_rows += c->rows.size();
    for (const auto& p : t->version->parts) {
      ++s.parts;
      s.part_rows += p->meta().rows;
      s.part_bytes += p->reader->file_size();
    }
  }
  s.applied_lsn = impl_->applied_lsn;
  s.checkpoint_lsn = impl_->checkpoint_lsn;
  if (impl_->granule_cache) {
    const GranuleCache::Stats c = impl_->granule_cache->stats();
    s.granule_cache_hits = c.hits;
    s.granule_cache_misses = c.misses;
    s.granule_cache_bytes = c.bytes;
  }
  return s;
}

}  // namespace ca::store
