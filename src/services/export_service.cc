#include "services/export_service.h"

#include <spdlog/spdlog.h>
#include <zlib.h>

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/random.h"
#include "event/json_string.h"
#include "event/timestamp.h"
#include "query/spec.h"

namespace ca::services {

using nlohmann::json;

namespace {

constexpr int64_t kDayMs = 86'400'000;
/// Days per ListDailyUserMetrics / ListMarketTrends call.
constexpr int64_t kDaysPerPage = 31;
/// Output is handed to the file (through gzip) whenever this much is buffered, and at the end of
/// every scan block or page.
constexpr size_t kFlushBytes = 64 * 1024;
constexpr auto kCleanUpEvery = std::chrono::minutes(1);

/// One value of an output row.
struct Cell {
  enum class Kind {
    kNull,  ///< CSV: empty; JSON: null
    kText,  ///< a string: quoted and escaped in JSON
    kRaw,   ///< JSON text (a number, a boolean, an object, an array): written as is
  };
  Kind kind = Kind::kNull;
  std::string value;

  void Set(Kind k, std::string_view v) {
    kind = k;
    value.assign(v.data(), v.size());
  }
  void SetJson(const json& j) {
    if (j.is_null()) {
      Set(Kind::kNull, "");
    } else if (j.is_string()) {
      Set(Kind::kText, j.get_ref<const std::string&>());
    } else {
      Set(Kind::kRaw, j.dump());
    }
  }
};

/// Where the formatted bytes go: a file, directly or through gzip.
class ByteSink {
 public:
  explicit ByteSink(std::unique_ptr<io::WritableFile> file) : file_(std::move(file)) {}
  virtual ~ByteSink() = default;
  virtual Status Write(std::string_view data) { return file_->Append(data); }
  /// Writes what remains (the gzip trailer), syncs and closes the file.
  virtual Status Finish() { return SyncAndClose(); }
  uint64_t Size() const { return file_->Size(); }

 protected:
  Status SyncAndClose() {
    CA_RETURN_IF_ERROR(file_->Sync());
    return file_->Close();
  }
  std::unique_ptr<io::WritableFile> file_;
};

/// A gzip member (RFC 1952) written chunk by chunk.
class GzipSink final : public ByteSink {
 public:
  explicit GzipSink(std::unique_ptr<io::WritableFile> file) : ByteSink(std::move(file)) {}
  ~GzipSink() override {
    if (initialised_) deflateEnd(&zs_);
  }

  Status Init() {
    if (deflateInit2(&zs_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      return Internal("gzip: deflateInit2 failed");
    }
    initialised_ = true;
    return Status::Ok();
  }
  Status Write(std::string_view data) override { return Deflate(data, Z_NO_FLUSH); }
  Status Finish() override {
    CA_RETURN_IF_ERROR(Deflate({}, Z_FINISH));
    return SyncAndClose();
  }

 private:
  Status Deflate(std::string_view data, int flush) {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs_.avail_in = static_cast<uInt>(data.size());
    while (true) {
      zs_.next_out = reinterpret_cast<Bytef*>(out_.data());
      zs_.avail_out = static_cast<uInt>(out_.size());
      const int rc = deflate(&zs_, flush);
      if (rc == Z_STREAM_ERROR) return Internal("gzip: deflate failed");
      const size_t produced = out_.size() - zs_.avail_out;
      if (produced > 0) CA_RETURN_IF_ERROR(file_->Append({out_.data(), produced}));
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (zs_.avail_in == 0 && zs_.avail_out != 0)) {
        return Status::Ok();
      }
    }
  }

  z_stream zs_{};
  bool initialised_ = false;
  std::string out_ = std::string(kFlushBytes, '\0');
};

/// True when a CSV field must be quoted (RFC 4180).
bool NeedsQuotes(std::string_view s) {
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

void AppendCsvField(std::string_view s, std::string* out) {
  if (!NeedsQuotes(s)) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

/// Formats rows as CSV (a header row, then RFC 4180 records ending in CRLF) or as JSON lines
/// (one object per line, keys in column order), buffering up to kFlushBytes.
class RowWriter {
 public:
  RowWriter(ByteSink* sink, bool csv, size_t max_rows, const std::atomic<bool>* stopping)
      : sink_(sink), csv_(csv), max_rows_(max_rows), stopping_(stopping) {}

  /// Sets the columns; writes the CSV header. Call once, before the first row.
  void Begin(std::vector<std::string> columns) {
    columns_ = std::move(columns);
    if (!csv_) return;
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i > 0) buffer_ += ',';
      AppendCsvField(columns_[i], &buffer_);
    }
    buffer_ += "\r\n";
  }

  /// Writes one row (one cell per column). kRangeTooLarge past max_rows, kCancelled when the
  /// service is stopping.
  Status Row(const std::vector<Cell>& cells) {
    if (rows_ >= max_rows_) {
      return Status(ErrorCode::kRangeTooLarge, "the export has more than " +
                                                   std::to_string(max_rows_) +
                                                   " rows: narrow the range or add a filter");
    }
    ++rows_;
    if (csv_) {
      for (size_t i = 0; i < cells.size(); ++i) {
        if (i > 0) buffer_ += ',';
        if (cells[i].kind != Cell::Kind::kNull) AppendCsvField(cells[i].value, &buffer_);
      }
      buffer_ += "\r\n";
    } else {
      buffer_ += '{';
      for (size_t i = 0; i < cells.size(); ++i) {
        if (i > 0) buffer_ += ',';
        event::AppendJsonString(columns_[i], &buffer_);
        buffer_ += ':';
        switch (cells[i].kind) {
          case Cell::Kind::kNull:
            buffer_ += "null";
            break;
          case Cell::Kind::kText:
            event::AppendJsonString(cells[i].value, &buffer_);
            break;
          case Cell::Kind::kRaw:
            buffer_ += cells[i].value;
            break;
        }
      }
      buffer_ += "}\n";
    }
    if (buffer_.size() >= kFlushBytes) return Flush();
    return Status::Ok();
  }

  /// Hands the buffer to the sink; kCancelled when the service is stopping.
  Status Flush() {
    if (stopping_->load()) return Status(ErrorCode::kCancelled, "the export service stopped");
    if (buffer_.empty()) return Status::Ok();
    CA_RETURN_IF_ERROR(sink_->Write(buffer_));
    buffer_.clear();
    return Status::Ok();
  }

  int64_t rows() const { return static_cast<int64_t>(rows_); }

 private:
  ByteSink* const sink_;
  const bool csv_;
  const size_t max_rows_;
  const std::atomic<bool>* const stopping_;
  std::vector<std::string> columns_;
  std::string buffer_;
  size_t rows_ = 0;
};

const std::vector<std::string> kEventColumns = {"event_id",     "type",       "user_id",
                                                "anonymous_id", "session_id", "timestamp",
                                                "received_at",  "properties", "context"};
const std::vector<std::string> kDailyColumns = {
    "day",          "user_id",   "page_views", "job_views", "saves",
    "applications", "responses", "interviews", "offers",    "seconds_spent"};
const std::vector<std::string> kMarketColumns = {"day",      "industry",       "location",
                                                 "postings", "average_salary", "competition"};

std::string DayText(int64_t day) {
  std::string text = event::FormatIso8601Millis(day * kDayMs);
  return text.substr(0, 10);
}

std::string DoubleText(double v) { return json(v).dump(); }

/// A date of the request: ISO 8601 with a zone, or epoch ms.
Result<int64_t> ParseDate(const json& value, std::string_view field) {
  if (value.is_number_integer()) {
    const int64_t ms = value.get<int64_t>();
    if (ms < 0 || ms > event::kMaxTimestampMs) {
      return InvalidArgument(std::string(field) + ": epoch milliseconds out of range");
    }
    return ms;
  }
  if (value.is_string()) {
    Result<int64_t> ms = event::ParseIso8601Millis(value.get_ref<const std::string&>());
    if (!ms.ok())
      return InvalidArgument(std::string(field) + ": " + std::string(ms.status().message()));
    return ms;
  }
  return InvalidArgument(std::string(field) +
                         ": expected an ISO 8601 date-time with a zone or epoch milliseconds");
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

/// A validated request. `now_ms` resolves the default `to` (the job's creation time).
struct ExportService::Request {
  bool csv = false;
  bool gzip = false;
  std::optional<query::QuerySpec> query;
  std::string dataset;
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  std::string user_id;
  json normalised;  ///< the request with format and gzip filled in

  static Result<Request> Parse(std::string_view text, int64_t now_ms) {
    json body = json::parse(text, nullptr, false);
    if (body.is_discarded()) {
      return Status(ErrorCode::kMalformedJson, "the export request is not valid JSON");
    }
    if (!body.is_object()) return InvalidArgument("the export request must be a JSON object");
    Request r;
    for (const auto& [key, value] : body.items()) {
      if (key != "format" && key != "gzip" && key != "query" && key != "dataset" && key != "from" &&
          key != "to" && key != "user_id") {
        return InvalidArgument(key + ": unknown field");
      }
    }
    if (!body.contains("format")) body["format"] = "jsonl";
    if (!body["format"].is_string() || (body["format"] != "csv" && body["format"] != "jsonl")) {
      return InvalidArgument("format: expected \"csv\" or \"jsonl\"");
    }
    r.csv = body["format"] == "csv";
    if (!body.contains("gzip")) body["gzip"] = false;
    if (!body["gzip"].is_boolean()) return InvalidArgument("gzip: expected true or false");
    r.gzip = body["gzip"].get<bool>();

    const bool has_query = body.contains("query");
    const bool has_dataset = body.contains("dataset");
    if (has_query == has_dataset) {
      return InvalidArgument("query, dataset: give exactly one of them");
    }
    if (has_query) {
      for (const char* field : {"from", "to", "user_id"}) {
        if (body.contains(field)) {
          return InvalidArgument(std::string(field) +
                                 ": not allowed with a query (put it in the query spec)");
        }
      }
      if (!body["query"].is_object()) return InvalidArgument("query: expected a query spec object");
      Result<query::QuerySpec> spec = query::ParseQuerySpec(body["query"].dump());
      if (!spec.ok()) return spec.status().WithContext("query");
      r.query = std::move(spec).value();
      r.normalised = std::move(body);
      return r;
    }

    if (!body["dataset"].is_string()) return InvalidArgument("dataset: expected a string");
    r.dataset = body["dataset"].get<std::string>();
    if (r.dataset != "events" && r.dataset != "daily_user_metrics" &&
        r.dataset != "job_market_trends") {
      return InvalidArgument("dataset: unknown dataset \"" + r.dataset.substr(0, 64) +
                             "\" (events, daily_user_metrics or job_market_trends)");
    }
    if (r.dataset == "events") {
      if (!body.contains("from")) return InvalidArgument("from: required for the events dataset");
      if (!body.contains("to")) return InvalidArgument("to: required for the events dataset");
    }
    r.from_ms = 0;
    // Up to the end of the UTC day of now_ms.
    r.to_ms = (FloorDiv(now_ms, kDayMs) + 1) * kDayMs;
    if (body.contains("from")) {
      CA_ASSIGN_OR_RETURN(r.from_ms, ParseDate(body["from"], "from"));
    }
    if (body.contains("to")) {
      CA_ASSIGN_OR_RETURN(r.to_ms, ParseDate(body["to"], "to"));
    }
    if (r.to_ms <= r.from_ms) return InvalidArgument("to: must be after from");
    if (body.contains("user_id")) {
      if (r.dataset == "job_market_trends") {
        return InvalidArgument("user_id: only for the events and daily_user_metrics datasets");
      }
      if (!body["user_id"].is_string() || body["user_id"].get_ref<const std::string&>().empty()) {
        return InvalidArgument("user_id: expected a non-empty string");
      }
      r.user_id = body["user_id"].get<std::string>();
    }
    r.normalised = std::move(body);
    return r;
  }

  std::string Extension() const {
    return std::string(csv ? ".csv" : ".jsonl") + (gzip ? ".gz" : "");
  }
};

ExportService::ExportService(store::EventStore* store, state::StateStore* state,
                             QueryService* queries, Options options)
    : store_(store),
      state_(state),
      queries_(queries),
      options_(std::move(options)),
      env_(options_.env ? options_.env : io::Env::Default()) {}

ExportService::~ExportService() { Stop(); }

int64_t ExportService::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ExportService::FinalPath(const std::string& tenant, const std::string& id,
                                     const Request& request) const {
  return io::JoinPath(io::JoinPath(options_.dir, tenant), id + request.Extension());
}

Status ExportService::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return Internal("export service: Start called twice");
  }
  CA_RETURN_IF_ERROR(env_->CreateDirs(options_.dir));
  CA_ASSIGN_OR_RETURN(std::vector<state::ExportJobRow> jobs, state_->ListExportJobs(""));
  std::vector<std::pair<std::string, std::string>> requeue;
  for (state::ExportJobRow& job : jobs) {
    if (job.status != "queued" && job.status != "running") continue;
    if (job.status == "running") {
      Result<Request> request = Request::Parse(job.request_json, job.created_at_ms);
      if (request.ok()) {
        const std::string tmp = FinalPath(job.tenant, job.id, *request) + ".tmp";
        if (env_->FileExists(tmp)) CA_RETURN_IF_ERROR(env_->RemoveFile(tmp));
      }
      job.status = "queued";
      job.rows = 0;
      job.bytes = 0;
      job.file.clear();
      job.error.clear();
      job.finished_at_ms.reset();
      CA_RETURN_IF_ERROR(state_->UpdateExportJob(job));
      spdlog::info("export {} of tenant {}: re-queued after a restart", job.id, job.tenant);
    }
    requeue.emplace_back(job.tenant, job.id);
  }
  std::lock_guard lock(mu_);
  started_ = true;
  stopping_ = false;
  queue_.clear();  // Jobs submitted before Start are in `requeue` too.
  for (auto& entry : requeue) queue_.push_back(std::move(entry));
  last_cleanup_ = std::chrono::steady_clock::now() - kCleanUpEvery;
  for (int i = 0; i < std::max(1, options_.max_running); ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
  return Status::Ok();
}

void ExportService::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  NotifyFinished();
}

void ExportService::NotifyFinished() {
  { std::lock_guard lock(mu_); }  // Orders the state change before a waiter's re-check.
  done_cv_.notify_all();
}

Result<state::ExportJobRow> ExportService::Submit(const std::string& tenant,
                                                  std::string_view request_json) {
  const int64_t now = Now();
  CA_ASSIGN_OR_RETURN(Request request, Request::Parse(request_json, now));
  if (request.query && queries_ == nullptr) {
    return Unavailable("query exports are not available on this server");
  }
  state::ExportJobRow row;
  row.id = "exp_" + RandomHex(8);
  row.tenant = tenant;
  row.request_json = request.normalised.dump();
  row.status = "queued";
  row.created_at_ms = now;
  CA_RETURN_IF_ERROR(state_->CreateExportJob(row));
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(tenant, row.id);
  }
  work_cv_.notify_one();
  return row;
}

Result<state::ExportJobRow> ExportService::Get(const std::string& tenant, std::string_view id) {
  CA_ASSIGN_OR_RETURN(std::optional<state::ExportJobRow> row, state_->GetExportJob(tenant, id));
  if (!row) return NotFound("no export job '" + std::string(id.substr(0, 64)) + "'");
  return *std::move(row);
}

Result<std::string> ExportService::FilePath(const std::string& tenant, std::string_view id) {
  CA_ASSIGN_OR_RETURN(state::ExportJobRow row, Get(tenant, id));
  if (row.status != "done") {
    std::string message = "export job '" + row.id + "' is not finished yet (status " + row.status;
    if (!row.error.empty()) message += ": " + row.error;
    return Unavailable(message + ")");
  }
  if (row.file.empty() || !env_->FileExists(row.file)) {
    return NotFound("the file of export job '" + row.id + "' is gone");
  }
  return row.file;
}

Result<state::ExportJobRow> ExportService::WaitFinished(const std::string& tenant,
                                                        std::string_view id, int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    CA_ASSIGN_OR_RETURN(state::ExportJobRow row, Get(tenant, id));
    if (row.status == "done" || row.status == "failed") return row;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return Unavailable("timed out waiting for export job '" + row.id + "' (status " + row.status +
                         ")");
    }
    // A worker notifies after recording the end; the bound covers a notification that came
    // between the read above and the wait, and jobs run by another process.
    std::unique_lock lock(mu_);
    done_cv_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(100)));
  }
}

Status ExportService::CleanUp() {
  std::lock_guard cleanup_lock(cleanup_mu_);
  CA_ASSIGN_OR_RETURN(std::vector<state::ExportJobRow> jobs, state_->ListExportJobs(""));
  const int64_t cutoff = Now() - options_.keep_ms;
  Status first;
  for (const state::ExportJobRow& job : jobs) {
    if (job.status != "done" && job.status != "failed") continue;
    if (!job.finished_at_ms || *job.finished_at_ms >= cutoff) continue;
    Status status;
    if (!job.file.empty() && env_->FileExists(job.file)) status = env_->RemoveFile(job.file);
    if (status.ok()) status = state_->DeleteExportJob(job.tenant, job.id);
    if (!status.ok()) {
      spdlog::warn("export {} of tenant {}: clean-up failed: {}", job.id, job.tenant,
                   status.ToString());
      if (first.ok()) first = status;
    }
  }
  return first;
}

void ExportService::WorkerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!queue_.empty()) {
      auto [tenant, id] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      RunJob(tenant, id);
      NotifyFinished();
      lock.lock();
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_cleanup_ >= kCleanUpEvery) {
      last_cleanup_ = now;
      lock.unlock();
      Status status = CleanUp();
      if (!status.ok()) spdlog::warn("export clean-up: {}", status.ToString());
      lock.lock();
      continue;
    }
    work_cv_.wait_until(lock, last_cleanup_ + kCleanUpEvery,
                        [this] { return stopping_ || !queue_.empty(); });
  }
}

void ExportService::RunJob(const std::string& tenant, const std::string& id) {
  Result<std::optional<state::ExportJobRow>> found = state_->GetExportJob(tenant, id);
  if (!found.ok() || !found->has_value() || (*found)->status != "queued") {
    if (!found.ok()) {
      spdlog::warn("export {} of tenant {}: {}", id, tenant, found.status().ToString());
    }
    return;
  }
  state::ExportJobRow row = **found;
  row.status = "running";
  if (Status status = state_->UpdateExportJob(row); !status.ok()) {
    spdlog::warn("export {} of tenant {}: cannot mark it running: {}", id, tenant,
                 status.ToString());
    return;
  }

  Result<Request> request = Request::Parse(row.request_json, row.created_at_ms);
  std::string final_path;
  std::string tmp;
  Status status = request.status();
  int64_t rows = 0;
  int64_t bytes = 0;
  if (status.ok()) {
    final_path = FinalPath(tenant, id, *request);
    tmp = final_path + ".tmp";
    status = env_->CreateDirs(io::DirName(final_path));
  }
  if (status.ok()) status = WriteFile(tenant, *request, tmp, &rows, &bytes);
  if (status.ok()) status = env_->RenameFile(tmp, final_path);
  if (status.ok()) status = env_->SyncDir(io::DirName(final_path));

  if (!status.ok() && !tmp.empty() && env_->FileExists(tmp)) {
    env_->RemoveFile(tmp).IgnoreError();  // The job's own error is the one to report.
  }
  if (status.code() == ErrorCode::kCancelled && stopping_) {
    row.status = "queued";  // Runs again after the next Start.
  } else if (status.ok()) {
    row.status = "done";
    row.rows = rows;
    row.bytes = bytes;
    row.file = final_path;
    row.finished_at_ms = Now();
  } else {
    row.status = "failed";
    row.error = std::string(status.message());
    row.finished_at_ms = Now();
    spdlog::info("export {} of tenant {} failed: {}", id, tenant, status.ToString());
  }
  if (Status update = state_->UpdateExportJob(row); !update.ok()) {
    spdlog::warn("export {} of tenant {}: cannot record its end: {}", id, tenant,
                 update.ToString());
  }
}

namespace {

/// Writes the events of `snapshot` in [from, to) (of `user` when set), block by block, each block
/// sorted by timestamp and event id. Blocks come in no particular order (TenantSnapshot::Scan).
Status WriteEvents(const store::TenantSnapshot& snapshot, int64_t from_ms, int64_t to_ms,
                   const std::string& user_id, RowWriter* out) {
  using store::Column;
  out->Begin(kEventColumns);
  store::ScanRequest scan;
  scan.from_ms = from_ms;
  scan.to_ms = to_ms;
  scan.columns = {Column::kTimestamp, Column::kReceivedAt, Column::kUser,
                  Column::kAnonymous, Column::kSession,    Column::kType,
                  Column::kEventId,   Column::kProperties, Column::kContext};
  if (!user_id.empty()) {
    std::optional<uint32_t> user = snapshot.Lookup(Column::kUser, user_id);
    if (!user) return out->Flush();
    scan.user = *user;
  }
  std::vector<Cell> cells(kEventColumns.size());
  std::vector<uint32_t> order;
  CA_RETURN_IF_ERROR(snapshot.Scan(scan, [&](const store::ColumnBatch& batch) -> Status {
    const auto& users = batch.Ids(Column::kUser);
    order.clear();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch.timestamp[i] < from_ms || batch.timestamp[i] >= to_ms) continue;
      if (scan.user && users[i] != *scan.user) continue;
      order.push_back(static_cast<uint32_t>(i));
    }
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      if (batch.timestamp[a] != batch.timestamp[b]) return batch.timestamp[a] < batch.timestamp[b];
      return batch.event_id[a] < batch.event_id[b];
    });
    for (uint32_t i : order) {
      cells[0].Set(Cell::Kind::kText, batch.event_id[i]);
      cells[1].Set(Cell::Kind::kText, snapshot.Name(Column::kType, batch.Ids(Column::kType)[i]));
      cells[2].Set(Cell::Kind::kText, snapshot.Name(Column::kUser, users[i]));
      cells[3].Set(Cell::Kind::kText,
                   snapshot.Name(Column::kAnonymous, batch.Ids(Column::kAnonymous)[i]));
      cells[4].Set(Cell::Kind::kText,
                   snapshot.Name(Column::kSession, batch.Ids(Column::kSession)[i]));
      cells[5].Set(Cell::Kind::kText, event::FormatIso8601Millis(batch.timestamp[i]));
      cells[6].Set(Cell::Kind::kText, event::FormatIso8601Millis(batch.received_at[i]));
      const std::string& properties = batch.properties[i];
      const std::string& context = batch.context[i];
      cells[7].Set(Cell::Kind::kRaw, properties.empty() ? std::string_view("{}") : properties);
      cells[8].Set(Cell::Kind::kRaw, context.empty() ? std::string_view("{}") : context);
      CA_RETURN_IF_ERROR(out->Row(cells));
    }
    return out->Flush();
  }));
  return out->Flush();
}

/// The days [first, last] in pages of kDaysPerPage, `page(first_day, last_day)` for each.
template <typename Page>
Status ForEachDayPage(int64_t from_ms, int64_t to_ms, Page&& page) {
  const int64_t first = FloorDiv(from_ms, kDayMs);
  const int64_t last = FloorDiv(to_ms - 1, kDayMs);
  for (int64_t day = first; day <= last; day += kDaysPerPage) {
    CA_RETURN_IF_ERROR(page(day, std::min(last, day + kDaysPerPage - 1)));
  }
  return Status::Ok();
}

Status WriteDailyMetrics(state::StateStore* state, const std::string& tenant, int64_t from_ms,
                         int64_t to_ms, const std::string& user_id, RowWriter* out) {
  out->Begin(kDailyColumns);
  std::vector<Cell> cells(kDailyColumns.size());
  return ForEachDayPage(from_ms, to_ms, [&](int64_t first, int64_t last) -> Status {
    CA_ASSIGN_OR_RETURN(std::vector<state::DailyUserMetricsRow> rows,
                        state->ListDailyUserMetrics(tenant, user_id, first, last));
    for (const state::DailyUserMetricsRow& r : rows) {
      const state::UserDayMetrics& m = r.metrics;
      cells[0].Set(Cell::Kind::kText, DayText(r.day));
      cells[1].Set(Cell::Kind::kText, r.user_id);
      const int64_t counts[] = {m.page_views, m.job_views,  m.saves, m.applications,
                                m.responses,  m.interviews, m.offers};
      for (size_t i = 0; i < std::size(counts); ++i) {
        cells[2 + i].Set(Cell::Kind::kRaw, std::to_string(counts[i]));
      }
      cells[9].Set(Cell::Kind::kRaw, DoubleText(m.seconds_spent));
      CA_RETURN_IF_ERROR(out->Row(cells));
    }
    return out->Flush();
  });
}

Status WriteMarketTrends(state::StateStore* state, const std::string& tenant, int64_t from_ms,
                         int64_t to_ms, RowWriter* out) {
  out->Begin(kMarketColumns);
  std::vector<Cell> cells(kMarketColumns.size());
  return ForEachDayPage(from_ms, to_ms, [&](int64_t first, int64_t last) -> Status {
    CA_ASSIGN_OR_RETURN(std::vector<state::MarketTrendRow> rows,
                        state->ListMarketTrends(tenant, "", "", first, last));
    for (const state::MarketTrendRow& r : rows) {
      cells[0].Set(Cell::Kind::kText, DayText(r.day));
      cells[1].Set(Cell::Kind::kText, r.industry);
      cells[2].Set(Cell::Kind::kText, r.location);
      cells[3].Set(Cell::Kind::kRaw, std::to_string(r.postings));
      cells[4].Set(Cell::Kind::kRaw, DoubleText(r.average_salary));
      cells[5].Set(Cell::Kind::kRaw, DoubleText(r.competition));
      CA_RETURN_IF_ERROR(out->Row(cells));
    }
    return out->Flush();
  });
}

/// Writes `row`'s values of `columns` (a missing key is null).
Status WriteJsonRow(const json& row, const std::vector<std::string>& columns,
                    std::vector<Cell>* cells, RowWriter* out) {
  cells->resize(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    auto it = row.find(columns[i]);
    (*cells)[i].SetJson(it == row.end() ? json() : *it);
  }
  return out->Row(*cells);
}

/// The rows of a query result (docs/api/export.md lists the columns of each kind).
Status WriteQueryResult(const json& result, RowWriter* out) {
  const std::string kind = result.value("kind", "");
  std::vector<Cell> cells;
  if (kind == "trends") {
    const std::vector<std::string> columns = {"series", "event",  "math", "breakdown",
                                              "other",  "bucket", "value"};
    out->Begin(columns);
    const json& buckets = result.at("buckets");
    for (const json& series : result.at("series")) {
      const json& values = series.at("values");
      for (size_t i = 0; i < values.size() && i < buckets.size(); ++i) {
        json row = {{"series", series.at("index")},
                    {"event", series.at("event")},
                    {"math", series.at("math")},
                    {"breakdown", series.at("breakdown")},
                    {"other", series.at("other")},
                    {"bucket", buckets[i]},
                    {"value", values[i]}};
        CA_RETURN_IF_ERROR(WriteJsonRow(row, columns, &cells, out));
      }
    }
  } else if (kind == "funnel") {
    const std::vector<std::string> columns = {"step",
                                              "event",
                                              "count",
                                              "conversion_from_previous",
                                              "conversion_from_first",
                                              "median_ms_from_previous",
                                              "dropped",
                                              "in_progress"};
    out->Begin(columns);
    int step = 0;
    for (json row : result.at("steps")) {
      row["step"] = ++step;
      CA_RETURN_IF_ERROR(WriteJsonRow(row, columns, &cells, out));
    }
  } else if (kind == "retention") {
    const std::vector<std::string> columns = {"cohort", "size", "period", "value"};
    out->Begin(columns);
    for (const json& cohort : result.at("cohorts")) {
      const json& values = cohort.at("values");
      for (size_t n = 0; n < values.size(); ++n) {
        json row = {{"cohort", cohort.at("start")},
                    {"size", cohort.at("size")},
                    {"period", n},
                    {"value", values[n]}};
        CA_RETURN_IF_ERROR(WriteJsonRow(row, columns, &cells, out));
      }
    }
  } else if (kind == "paths") {
    const std::vector<std::string> columns = {"depth", "steps", "count"};
    out->Begin(columns);
    for (const json& row : result.at("paths")) {
      CA_RETURN_IF_ERROR(WriteJsonRow(row, columns, &cells, out));
    }
  } else if (kind == "events") {
    out->Begin(kEventColumns);
    for (const json& row : result.at("events")) {
      CA_RETURN_IF_ERROR(WriteJsonRow(row, kEventColumns, &cells, out));
    }
  } else {
    return Internal("export: unexpected query result kind \"" + kind + "\"");
  }
  return out->Flush();
}

}  // namespace

Status ExportService::WriteFile(const std::string& tenant, const Request& request,
                                const std::string& tmp, int64_t* rows, int64_t* bytes) {
  CA_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> file,
                      env_->NewWritableFile(tmp, /*append=*/false));
  std::unique_ptr<ByteSink> sink;
  if (request.gzip) {
    auto gzip = std::make_unique<GzipSink>(std::move(file));
    CA_RETURN_IF_ERROR(gzip->Init());
    sink = std::move(gzip);
  } else {
    sink = std::make_unique<ByteSink>(std::move(file));
  }
  RowWriter out(sink.get(), request.csv, options_.max_rows, &stopping_);
  if (request.query) {
    Result<json> result = queries_ ? queries_->Run(tenant, *request.query)
                                   : Result<json>(Unavailable("no query service"));
    CA_RETURN_IF_ERROR(result.status());
    try {
      CA_RETURN_IF_ERROR(WriteQueryResult(*result, &out));
    } catch (const json::exception& e) {
      return Internal(std::string("export: unexpected query result: ") + e.what());
    }
  } else if (request.dataset == "events") {
    std::shared_ptr<const store::TenantSnapshot> snapshot = store_->Snapshot(tenant);
    CA_RETURN_IF_ERROR(
        WriteEvents(*snapshot, request.from_ms, request.to_ms, request.user_id, &out));
  } else if (request.dataset == "daily_user_metrics") {
    CA_RETURN_IF_ERROR(
        WriteDailyMetrics(state_, tenant, request.from_ms, request.to_ms, request.user_id, &out));
  } else {
    CA_RETURN_IF_ERROR(WriteMarketTrends(state_, tenant, request.from_ms, request.to_ms, &out));
  }
  CA_RETURN_IF_ERROR(sink->Finish());
  *rows = out.rows();
  *bytes = static_cast<int64_t>(sink->Size());
  return Status::Ok();
}

namespace {

/// The format and gzip flag of a stored (normalised) request.
std::pair<bool, bool> CsvAndGzipOf(const state::ExportJobRow& row) {
  const json request = json::parse(row.request_json, nullptr, false);
  if (!request.is_object()) return {false, false};
  auto format = request.find("format");
  auto gzip = request.find("gzip");
  return {format != request.end() && *format == "csv",
          gzip != request.end() && gzip->is_boolean() && gzip->get<bool>()};
}

}  // namespace

std::string ExportService::ContentTypeOf(const state::ExportJobRow& row) {
  const auto [csv, gzip] = CsvAndGzipOf(row);
  if (gzip) return "application/gzip";
  return csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
}

std::string ExportService::DownloadNameOf(const state::ExportJobRow& row) {
  const auto [csv, gzip] = CsvAndGzipOf(row);
  return row.id + (csv ? ".csv" : ".jsonl") + (gzip ? ".gz" : "");
}

}  // namespace ca::services
