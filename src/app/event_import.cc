#include "app/event_import.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/data_dir.h"
#include "app/offline_store.h"
#include "app/server_app.h"
#include "base/clock.h"
#include "ingest/batch_decoder.h"
#include "ingest/ingest_pipeline.h"
#include "services/catalogue_service.h"

namespace ca::app {
namespace {

constexpr size_t kMaxErrorsKept = 100;
// Batches handed to the pipeline and not yet durable.
constexpr int kMaxInFlight = 8;
// How far the store may lag behind the WAL before reading pauses (bounds memory and disk).
constexpr uint64_t kMaxStoreLagBytes = 256ull << 20;

// Counts batches in flight and collects their receipts.
class Tracker {
 public:
  void Begin() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < kMaxInFlight; });
    ++in_flight_;
  }
  void End(const Status& status) {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (!status.ok() && error_.ok()) error_ = status;
    cv_.notify_all();
  }
  Status WaitAll() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
    return error_;
  }
  Status error() {
    std::lock_guard lock(mu_);
    return error_;
  }
  std::mutex& mu() { return mu_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  Status error_;
};

}  // namespace

std::string ImportReceipt::ToJson() const {
  nlohmann::ordered_json errs = nlohmann::ordered_json::array();
  for (const auto& e : errors) {
    errs.push_back({{"line", e.line}, {"code", e.code}, {"message", e.message}});
  }
  return nlohmann::ordered_json{{"received", received},     {"accepted", accepted},
                                {"duplicates", duplicates}, {"rejected", rejected},
                                {"seconds", seconds},       {"errors", std::move(errs)}}
      .dump();
}

Result<ImportReceipt> ImportEvents(const ImportOptions& options, std::ostream& log) {
  const auto started = std::chrono::steady_clock::now();
  DataDir dir{options.config.data};
  // Importing makes no tenant: a directory that does not exist holds none (and SQLite would say
  // only that it cannot open the state file).
  std::error_code ec;
  if (options.config.state.empty() && !std::filesystem::is_directory(options.config.data, ec)) {
    return Status(ErrorCode::kNotFound,
                  "no data directory '" + options.config.data +
                      "'; create it and the tenant with `career-analytics keys create --data " +
                      options.config.data + " --tenant " + options.tenant + "`");
  }
  CA_ASSIGN_OR_RETURN(auto state, OpenState(options.config));
  CA_ASSIGN_OR_RETURN(auto tenant, state->FindTenant(options.tenant));
  if (!tenant) {
    return Status(ErrorCode::kNotFound, "no tenant '" + options.tenant +
                                            "'; create it with `career-analytics keys create`");
  }
  services::CatalogueService catalogues(state.get());
  CA_ASSIGN_OR_RETURN(event::Catalogue catalogue, catalogues.ForTenant(options.tenant));

  std::ifstream file;
  std::istream* in = &std::cin;
  if (options.path != "-") {
    file.open(options.path, std::ios::binary);
    if (!file) return Status(ErrorCode::kNotFound, "cannot open " + options.path);
    in = &file;
  }

  CA_ASSIGN_OR_RETURN(auto offline,
                      OfflineStore::Open(options.config, OfflineStore::Mode::kWritable));
  store::EventStore* store = offline->store();
  const int64_t window_ms = int64_t{options.config.dedup_window_hours} * 3600 * 1000;
  ingest::IngestPipeline pipeline(offline->wal(), window_ms, options.config.dedup_max_ids,
                                  PrivacyOptionsFor(options.config));
  const int64_t now = NowMillis();
  CA_RETURN_IF_ERROR(pipeline.RecoverDedup(offline->wal_options(), now));
  CA_RETURN_IF_ERROR(store->ForEachEventKey(
      now - window_ms, [&](const std::string& t, const std::string& id, int64_t received) {
        pipeline.RememberStored(t, id, received, now);
      }));
  CA_RETURN_IF_ERROR(store->Start());

  ImportReceipt receipt;
  Tracker tracker;
  auto note_rejections = [&](uint64_t first_line, const std::vector<uint64_t>& line_of,
                             const std::vector<ingest::Rejection>& rejected) {
    std::lock_guard lock(tracker.mu());
    receipt.rejected += rejected.size();
    for (const auto& r : rejected) {
      if (receipt.errors.size() >= kMaxErrorsKept) break;
      uint64_t line = r.index < line_of.size() ? line_of[r.index] : first_line;
      receipt.errors.push_back({line, std::string(ErrorCodeName(r.code)), r.message});
    }
  };

  ingest::DecodeOptions decode;
  decode.max_event_bytes = options.config.max_event_bytes;
  decode.max_events = options.batch_lines;
  decode.tenant = options.tenant;
  decode.catalogue = &catalogue;
  decode.max_future_ms = ingest::kMaxFutureMs;

  // Decodes `body` (a JSON array of the lines) and commits its valid events.
  auto submit = [&](const std::string& body, const std::vector<uint64_t>& line_of) -> Status {
    decode.received_at_ms = NowMillis();
    auto batch = ingest::DecodeBatch(body, decode);
    if (!batch.ok()) {
      if (line_of.size() == 1) {
        note_rejections(
            line_of[0], line_of,
            {ingest::Rejection{0, batch.status().code(), std::string(batch.status().message())}});
        std::lock_guard lock(tracker.mu());
        ++receipt.received;
        return Status::Ok();
      }
      return batch.status();
    }
    for (auto& e : batch->events) e.tenant = options.tenant;
    note_rejections(line_of.empty() ? 0 : line_of[0], line_of, batch->rejected);
    tracker.Begin();
    pipeline.Commit(std::move(batch).value(), [&](Result<ingest::Receipt> r) {
      if (r.ok()) {
        std::lock_guard lock(tracker.mu());
        receipt.received += r->received;
        receipt.accepted += r->accepted;
        receipt.duplicates += r->duplicates;
      }
      tracker.End(r.ok() ? Status::Ok() : r.status());
    });
    return Status::Ok();
  };

  std::string line, body;
  std::vector<uint64_t> line_of;
  uint64_t line_number = 0, next_report = 1'000'000;
  auto flush_batch = [&]() -> Status {
    if (line_of.empty()) return Status::Ok();
    body.push_back(']');
    Status s = submit(body, line_of);
    if (!s.ok() && line_of.size() > 1 &&
        (s.code() == ErrorCode::kMalformedJson || s.code() == ErrorCode::kNestingTooDeep)) {
      // One bad line spoils the array: decode the lines one by one to find it.
      std::string single;
      size_t start = 1;
      for (size_t i = 0; i < line_of.size(); ++i) {
        size_t end = i + 1 < line_of.size() ? body.find("\n,", start) : body.size() - 1;
        single = "[" + body.substr(start, end - start) + "]";
        CA_RETURN_IF_ERROR(submit(single, {line_of[i]}));
        start = end + 2;
      }
      s = Status::Ok();
    }
    body.clear();
    line_of.clear();
    return s;
  };
  while (std::getline(*in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    body.append(line_of.empty() ? "[" : "\n,");
    body.append(line);
    line_of.push_back(line_number);
    if (line_of.size() >= options.batch_lines) {
      CA_RETURN_IF_ERROR(flush_batch());
      CA_RETURN_IF_ERROR(tracker.error());
      // Let the store keep up, so that neither its memory nor the WAL grows without bound.
      while (offline->wal()->durable_lsn() > store->stats().applied_lsn + kMaxStoreLagBytes) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    if (line_number >= next_report) {
      log << "import: " << line_number << " lines read" << std::endl;
      next_report += 1'000'000;
    }
  }
  CA_RETURN_IF_ERROR(flush_batch());
  CA_RETURN_IF_ERROR(tracker.WaitAll());
  CA_RETURN_IF_ERROR(offline->Close());
  receipt.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return receipt;
}

}  // namespace ca::app
