#include "ingest/ingest_pipeline.h"

#include <algorithm>
#include <utility>

#include "base/clock.h"
#include "event/event_codec.h"
#include "event/timestamp.h"

#include <spdlog/spdlog.h>

namespace ca::ingest {
namespace {

// Expiring walks the whole index; once a minute keeps it off the per-request path.
constexpr int64_t kExpiryEveryMs = 60'000;

}  // namespace

struct IngestPipeline::Pending {
  std::vector<DedupIndex::Key> keys;  // of each event of the batch
  std::vector<uint32_t> inserted;     // positions of the events that were new and are being written
  std::shared_ptr<EncodedBatch> for_lanes;  // the inserted events, encoded (when lanes listen)
  Receipt receipt;
  Done done;
};

IngestPipeline::IngestPipeline(wal::Wal* wal, int64_t dedup_window_ms, size_t dedup_max_ids,
                               const PrivacyOptions& privacy)
    : wal_(wal),
      dedup_window_ms_(dedup_window_ms),
      dedup_max_ids_(dedup_max_ids),
      privacy_(privacy),
      dedup_(dedup_window_ms) {}

Status IngestPipeline::RecoverDedup(const wal::Options& wal_options, int64_t now_ms) {
  CA_ASSIGN_OR_RETURN(auto reader, wal::Reader::Open(wal_options, wal_->start_lsn(), wal_));
  const int64_t horizon = now_ms - dedup_window_ms_;
  std::lock_guard lock(mu_);
  wal::Lsn lsn = 0;
  std::string payload;
  while (true) {
    CA_ASSIGN_OR_RETURN(bool more, reader->Next(&lsn, &payload));
    if (!more) break;
    auto key = event::DecodeEventKey(payload);
    if (!key.ok()) return key.status().WithContext("wal record at lsn " + std::to_string(lsn));
    if (key->received_at_ms >= horizon) {
      dedup_.Insert(key->tenant, key->event_id, key->received_at_ms);
      MaybeTrim();
    }
  }
  last_expiry_ms_ = now_ms;
  return Status::Ok();
}

void IngestPipeline::RememberStored(std::string_view tenant, std::string_view event_id,
                                    int64_t received_at_ms, int64_t now_ms) {
  if (received_at_ms < now_ms - dedup_window_ms_) return;
  std::lock_guard lock(mu_);
  dedup_.Insert(tenant, event_id, received_at_ms);
  MaybeTrim();
}

void IngestPipeline::Commit(DecodedBatch batch, Done done) {
  auto pending = std::make_shared<Pending>();
  pending->receipt.received = batch.received;
  pending->receipt.rejected = std::move(batch.rejected);
  pending->done = std::move(done);

  // Encode and hash outside the lock; only new events are appended, so keep each record's span.
  // The events themselves stay here and are freed on this thread once encoded; the WAL's thread,
  // which finishes the request, needs only their keys.
  // Scratch buffers keep their capacity per thread: the WAL copies the records during Append.
  const PrivacyFilter& privacy = batch.privacy ? *batch.privacy : privacy_;
  privacy.ApplyBatch(&batch.events);
  const auto& events = batch.events;
  thread_local std::string encoded;
  thread_local std::vector<std::pair<size_t, size_t>> spans;
  thread_local std::vector<std::string_view> payloads;
  encoded.clear();
  spans.clear();
  payloads.clear();
  pending->keys.reserve(events.size());
  for (const auto& e : events) {
    size_t start = encoded.size();
    event::EncodeEvent(e, &encoded);
    spans.emplace_back(start, encoded.size() - start);
    pending->keys.push_back(DedupIndex::KeyOf(e.tenant, e.event_id));
  }

  std::unique_lock lock(mu_);
  MaybeExpire(events.empty() ? NowMillis() : events.front().received_at_ms);
  for (const auto& key : pending->keys) dedup_.Prefetch(key);
  for (uint32_t i = 0; i < events.size(); ++i) {
    if (dedup_.CheckAndInsert(pending->keys[i], events[i].received_at_ms)) {
      ++pending->receipt.duplicates;
      continue;
    }
    pending->inserted.push_back(i);
    payloads.emplace_back(encoded.data() + spans[i].first, spans[i].second);
  }
  if (lanes_ != nullptr && lanes_->has_consumers() && !pending->inserted.empty()) {
    auto batch = std::make_shared<EncodedBatch>();
    batch->bytes.reserve(encoded.size());
    batch->records.reserve(pending->inserted.size());
    for (uint32_t i : pending->inserted) {
      batch->records.push_back({static_cast<uint32_t>(batch->bytes.size()),
                                static_cast<uint32_t>(spans[i].second), lanes_->LaneOf(events[i])});
      batch->bytes.append(encoded, spans[i].first, spans[i].second);
    }
    pending->for_lanes = std::move(batch);
  }
  pending->receipt.accepted = static_cast<uint32_t>(pending->inserted.size());
  MaybeTrim();

  // Even with nothing new to write, the answer waits for everything appended before it: a duplicate
  // verdict may rest on a record that is not durable yet.
  auto appended = wal_->Append(payloads, [this, pending](const Status& s) { Finish(pending, s); });
  if (!appended.ok()) {
    for (uint32_t i : pending->inserted) dedup_.Erase(pending->keys[i]);
    ++counters_.failed_writes;
    lock.unlock();
    pending->done(appended.status());
  }
}

void IngestPipeline::Finish(const std::shared_ptr<Pending>& pending, const Status& status) {
  {
    std::lock_guard lock(mu_);
    if (status.ok()) {
      const Receipt& r = pending->receipt;
      counters_.received += r.received;
      counters_.accepted += r.accepted;
      counters_.duplicates += r.duplicates;
      counters_.rejected += r.rejected.size();
    } else {
      for (uint32_t i : pending->inserted) dedup_.Erase(pending->keys[i]);
      ++counters_.failed_writes;
    }
  }
  if (status.ok()) {
    if (pending->for_lanes) lanes_->Publish(std::move(pending->for_lanes));
    pending->done(std::move(pending->receipt));
  } else {
    pending->done(status);
  }
}

void IngestPipeline::MaybeExpire(int64_t now_ms) {
  if (now_ms - last_expiry_ms_ < kExpiryEveryMs) return;
  dedup_.ExpireOlderThan(now_ms);
  last_expiry_ms_ = now_ms;
}

void IngestPipeline::MaybeTrim() {
  if (dedup_.size() <= dedup_max_ids_) return;
  // Trim to 90% so that the O(table) pass runs once per tenth of the limit, not per request.
  int64_t horizon = dedup_.TrimTo(dedup_max_ids_ / 10 * 9);
  spdlog::warn(
      "dedup: index reached ingest.dedup_max_ids = {}; ids first seen before {} are forgotten "
      "before their window ends",
      dedup_max_ids_, event::FormatIso8601Millis(horizon));
}

IngestCounters IngestPipeline::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

size_t IngestPipeline::tracked_ids() const {
  std::lock_guard lock(mu_);
  return dedup_.size();
}

size_t IngestPipeline::dedup_memory_bytes() const {
  std::lock_guard lock(mu_);
  return dedup_.memory_bytes();
}

}  // namespace ca::ingest
