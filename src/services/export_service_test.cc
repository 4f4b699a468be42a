#include "services/export_service.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "event/event_codec.h"
#include "event/timestamp.h"
#include "services/wal_store_state_test.h"
#include "state/sqlite_state_store.h"
#include "wal/wal_test_util.h"

namespace ca::services {
namespace {

using nlohmann::json;

int64_t At(const char* iso) { return *event::ParseIso8601Millis(iso); }

constexpr int64_t kWaitMs = 30000;

struct Sent {
  const char* user;
  const char* type;
  const char* at;
  const char* properties;
};

// Properties with a comma, quotes and an escaped newline exercise CSV quoting.
const std::vector<Sent> kEvents = {
    {"u1", "job_view", "2024-10-01T09:00:00Z", R"({"job_id":"j1"})"},
    {"u1", "job_apply", "2024-10-01T10:00:00Z", R"({"job_id":"j1","note":"a, \"b\"\nc"})"},
    {"u2", "job_view", "2024-10-02T09:00:00Z", R"({"job_id":"j2"})"},
    {"u2", "job_apply", "2024-10-03T09:00:00Z", R"({"job_id":"j2"})"},
    {"u1", "job_view", "2024-10-05T09:00:00Z", R"({"job_id":"j3"})"},
    {"u3", "job_save", "2024-11-01T09:00:00Z", R"({"job_id":"j4"})"},
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Gunzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[4096];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - zs.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

/// RFC 4180 records (CRLF line ends, quoted fields with doubled quotes).
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      record.push_back(std::move(field));
      field.clear();
      records.push_back(std::move(record));
      record.clear();
      ++i;
    } else {
      field += c;
    }
  }
  EXPECT_TRUE(field.empty() && record.empty()) << "unterminated CSV record";
  return records;
}

std::vector<json> ParseJsonLines(const std::string& text) {
  std::vector<json> rows;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    EXPECT_NE(end, std::string::npos) << "last line without a newline";
    if (end == std::string::npos) break;
    rows.push_back(json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  return rows;
}

/// CSV records as JSON objects keyed by the header; cells holding JSON objects or arrays parsed.
std::vector<json> CsvAsObjects(const std::string& text) {
  std::vector<std::vector<std::string>> records = ParseCsv(text);
  std::vector<json> rows;
  if (records.empty()) return rows;
  for (size_t r = 1; r < records.size(); ++r) {
    json row = json::object();
    EXPECT_EQ(records[r].size(), records[0].size());
    for (size_t i = 0; i < records[r].size() && i < records[0].size(); ++i) {
      const std::string& cell = records[r][i];
      row[records[0][i]] =
          (!cell.empty() && (cell[0] == '{' || cell[0] == '[')) ? json::parse(cell) : json(cell);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

class ExportServiceTest : public WalStoreStateTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenWalStoreState({"acme", "globex"}));
    queries_ = std::make_unique<QueryService>(store_.get(), QueryServiceOptions{});
    Send(kEvents);
    options_.dir = dir_.path() + "/exports";
    options_.now_ms = [this] { return now_ms_.load(); };
  }

  void TearDown() override {
    queries_->Stop();
    CloseWalStoreState();
  }

  void Send(const std::vector<Sent>& events) {
    std::vector<std::string> payloads;
    for (const Sent& s : events) {
      event::Event e;
      e.tenant = "acme";
      e.event_id = "ev-" + std::to_string(next_id_++);
      e.type = s.type;
      e.user_id = s.user;
      e.session_id = std::string("s-") + s.user;
      e.timestamp_ms = At(s.at);
      e.received_at_ms = e.timestamp_ms + 5;
      e.properties_json = s.properties;
      payloads.emplace_back();
      event::EncodeEvent(e, &payloads.back());
    }
    std::vector<std::string_view> views(payloads.begin(), payloads.end());
    wal::Lsn end = 0;
    ASSERT_TRUE(wal::testing::AppendAndWait(wal_.get(), views, &end).ok());
    ASSERT_TRUE(store_->WaitApplied(end, 5000).ok());
  }

  std::unique_ptr<ExportService> Service() {
    return std::make_unique<ExportService>(store_.get(), state_.get(), queries_.get(), options_);
  }

  /// Submits `request` for acme and waits for the job to end.
  state::ExportJobRow Run(ExportService& service, const json& request) {
    auto submitted = service.Submit("acme", request.dump());
    EXPECT_TRUE(submitted.ok()) << submitted.status().ToString();
    if (!submitted.ok()) return {};
    EXPECT_EQ(submitted->status, "queued");
    auto finished = service.WaitFinished("acme", submitted->id, kWaitMs);
    EXPECT_TRUE(finished.ok()) << finished.status().ToString();
    return finished.ok() ? *finished : state::ExportJobRow{};
  }

  /// The rows of a finished job's file, as JSON objects.
  std::vector<json> Rows(const state::ExportJobRow& job) {
    std::string data = ReadFile(job.file);
    EXPECT_EQ(static_cast<int64_t>(data.size()), job.bytes);
    const bool gzip = job.file.ends_with(".gz");
    if (gzip) data = Gunzip(data);
    return job.file.find(".csv") != std::string::npos ? CsvAsObjects(data) : ParseJsonLines(data);
  }

  static std::vector<std::string> EventIds(std::vector<json> rows) {
    std::vector<std::string> ids;
    for (const json& row : rows) ids.push_back(row["event_id"]);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::unique_ptr<QueryService> queries_;
  ExportServiceOptions options_;
  std::atomic<int64_t> now_ms_{At("2024-11-10T00:00:00Z")};
  int next_id_ = 0;
};

TEST_F(ExportServiceTest, EventsExportInEveryFormat) {
  auto service = Service();
  ASSERT_TRUE(service->Start().ok());
  std::vector<json> reference;
  for (const char* format : {"jsonl", "csv"}) {
    for (bool gzip : {false, true}) {
      SCOPED_TRACE(std::string(format) + (gzip ? " gzip" : ""));
      const state::ExportJobRow job = Run(*service, {{"dataset", "events"},
                                                     {"format", format},
                                                     {"gzip", gzip},
                                                     {"from", "2024-10-01T00:00:00Z"},
                                                     {"to", "2024-10-31T00:00:00Z"}});
      ASSERT_EQ(job.status, "done") << job.error;
      EXPECT_EQ(job.rows, 5);
      EXPECT_TRUE(job.error.empty());
      EXPECT_EQ(job.finished_at_ms, now_ms_.load());
      const std::string name = ExportService::DownloadNameOf(job);
      EXPECT_EQ(job.file, options_.dir + "/acme/" + name);
      EXPECT_EQ(name, job.id + "." + format + (gzip ? ".gz" : ""));
      EXPECT_EQ(ExportService::ContentTypeOf(job), gzip ? "application/gzip"
                                                   : std::string(format) == "csv"
                                                       ? "text/csv; charset=utf-8"
                                                       : "application/x-ndjson");
      EXPECT_EQ(*service->FilePath("acme", job.id), job.file);
      EXPECT_FALSE(std::filesystem::exists(job.file + ".tmp"));

      std::vector<json> rows = Rows(job);
      ASSERT_EQ(rows.size(), 5u);
      std::sort(rows.begin(), rows.end(),
                [](const json& a, const json& b) { return a["event_id"] < b["event_id"]; });
      if (reference.empty()) {
        reference = rows;
        EXPECT_EQ(rows[1], json::parse(R"({"event_id":"ev-1","type":"job_apply","user_id":"u1",
            "anonymous_id":"","session_id":"s-u1","timestamp":"2024-10-01T10:00:00.000Z",
            "received_at":"2024-10-01T10:00:00.005Z",
            "properties":{"job_id":"j1","note":"a, \"b\"\nc"},"context":{}})"));
      } else {
        EXPECT_EQ(rows, reference);  // every format carries the same rows
      }
    }
  }
}

TEST_F(ExportServiceTest, EventsExportFiltersByUserAndTime) {
  auto service = Service();
  ASSERT_TRUE(service->Start().ok());
  state::ExportJobRow job = Run(*service, {{"dataset", "events"},
                                           {"user_id", "u1"},
                                           {"from", At("2024-10-01T09:30:00Z")},
                                           {"to", "2024-12-01T00:00:00Z"}});
  ASSERT_EQ(job.status, "done") << job.error;
  EXPECT_EQ(EventIds(Rows(job)), (std::vector<std::string>{"ev-1", "ev-4"}));

  // An unknown user: an empty export (a CSV has its header only).
  job = Run(*service, {{"dataset", "events"},
                       {"format", "csv"},
                       {"user_id", "nobody"},
                       {"from", "2024-10-01T00:00:00Z"},
                       {"to", "2024-12-01T00:00:00Z"}});
  ASSERT_EQ(job.status, "done") << job.error;
  EXPECT_EQ(job.rows, 0);
  EXPECT_EQ(ReadFile(job.file),
            "event_id,type,user_id,anonymous_id,session_id,timestamp,received_at,properties,"
            "context\r\n");
}

TEST_F(ExportServiceTest, ExportsDailyUserMetrics) {
  const int64_t day = At("2024-10-01T00:00:00Z") / 86'400'000;
  state::UserDayMetrics m;
  m.job_views = 2;
  m.applications = 1;
  m.seconds_spent = 12.5;
  ASSERT_TRUE(state_
                  ->AddDailyUserMetrics("test", 1,
                                        {{"acme", "u1", day, m},
                                         {"acme", "u2", day, m},
                                         {"acme", "u1", day + 40, m},
                                         {"globex", "u1", day, m}})
                  .ok());
  auto service = Service();
  ASSERT_TRUE(service->Start().ok());
  state::ExportJobRow job = Run(*service, {{"dataset", "daily_user_metrics"},
                                           {"format", "csv"},
                                           {"from", "2024-09-01T00:00:00Z"},
                                           {"to", "2024-11-01T00:00:00Z"}});
  ASSERT_EQ(job.status, "done") << job.error;
  EXPECT_EQ(ReadFile(job.file),
            "day,user_id,page_views,job_views,saves,applications,responses,interviews,offers,"
            "seconds_spent\r\n"
            "2024-10-01,u1,0,2,0,1,0,0,0,12.5\r\n"
            "2024-10-01,u2,0,2,0,1,0,0,0,12.5\r\n");
  // Without a range: every day up to the end of today; by user.
  job = Run(*service, {{"dataset", "daily_user_metrics"}, {"user_id", "u1"}});
  ASSERT_EQ(job.status, "done") << job.error;
  std::vector<json> rows = Rows(job);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["day"], "2024-11-10");
  EXPECT_EQ(rows[1]["seconds_spent"], 12.5);
}

TEST_F(ExportServiceTest, ExportsMarketTrends) {
  ASSERT_TRUE(state_
                  ->UpsertMarketTrends("acme", {{At("2024-10-02T00:00:00Z") / 86'400'000,
                                                 "Software", "Berlin", 70000, 12, 3.5}})
                  .ok());
  auto service = Service();
  ASSERT_TRUE(service->Start().ok());
  state::ExportJobRow job = Run(*service, {{"dataset", "job_market_trends"}});
  ASSERT_EQ(job.status, "done") << job.error;
  EXPECT_EQ(ReadFile(job.file),
            R"({"day":"2024-10-02","industry":"Software","location":"Berlin","postings":12,)"
            R"("average_salary":70000.0,"competition":3.5})"
            "\n");
}

TEST_F(ExportServiceTest, ExportsATrendsQuery) {
  auto service = Service();
  ASSERT_TRUE(service->Start().ok());
  const json spec = {{"kind", "trends"},
                     {"from", "2024-10-01T00:00:00Z"},
                     {"to", "2024-10-04T00:00:00Z"},
                     {"interval", "day"},
                     {"series", {{{"event", "job_view"}}, {{"event", "job_apply"}}}}};
  state::ExportJobRow job = Run(*service, {{"query", spec}, {"format", "csv"}});
  ASSERT_EQ(job.status, "done") << job.error;
  EXPECT_EQ(job.rows, 6);
  EXPECT_EQ(ReadFile(job.file),
            "series,event,math,breakdown,other,bucket,value\r\n"
            "0,job_view,count,,false,2024-10-01T00:00:00+00:00,1\r\n"
            "0,job_view,count,,false,2024-10-02T00:00:00+00:00,1\r\n"
            "0,job_view,count,,false,2024-10-03T00:00:00+00:00,0\r\n"
            "1,job_apply,count,,false,2024-10-01T00:00:00+00:00,1\r\n"
            "1,job_apply,count,,false,2024-10-02T00:00:00+00:00,0\r\n"
            "1,job_apply,count,,false,2024-10-03T00:00:00+00:00,1\r\n");

  const json funnel = {{"kind", "funnel"},
                       {"from", "2024-10-01T00:00:00Z"},
                       {"to", "2024-10-10T00:00:00Z"},
                       {"window_ms", 86400000 * 7},
                       {"steps", {{{"event", "job_view"}}, {{"event", "job_apply"}}}}};
  job = Run(*service, {{"query", funnel}});
  ASSERT_EQ(job.status, "done") << job.error;
  std::vector<json> rows = Rows(job);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["step"], 1);
  EXPECT_EQ(rows[0]["count"], 2);
  EXPECT_EQ(rows[1]["event"], "job_apply");
}

TEST_F(ExportServiceTest, InvalidRequestsAreRefused) {
  auto service = Service();
  const std::vector<std::pair<std::string, ErrorCode>> cases = {
      {"not json", ErrorCode::kMalformedJson},
      {"[1]", ErrorCode::kInvalidArgument},
      {R"({"dataset":"events","from":0,"to":1,"format":"xml"})", ErrorCode::kInvalidArgument},
      {R"({"dataset":"events","from":0,"to":1,"gzip":"yes"})", ErrorCode::kInvalidArgument},
      {R"({"format":"csv"})", ErrorCode::kInvalidArgument},
      {R"({"dataset":"events","from":0,"to":1,"query":{"kind":"events"}})",
       ErrorCode::kInvalidArgument},
      {R"({"dataset":"users"})", ErrorCode::kInvalidArgument},
      {R"({"dataset":"events","to":1})", ErrorCode::kInvalidArgument},
      {R"({"dataset":"events","from":"yesterday","to":1})", ErrorCode::kInvalidArgument},
      {R"({"dataset":"events","from":"2024-10-01T00:00:00","to":1})", ErrorCode::kInvalidArgument},
      {R"({"dataset":"events","from":5,"to":5})", ErrorCode::kInvalidArgument},
      {R"({"dataset":"events","from":0,"to":1,"user_id":""})", ErrorCode::kInvalidArgument},
      {R"({"dataset":"job_market_trends","user_id":"u1"})", ErrorCode::kInvalidArgument},
      {R"({"dataset":"events","from":0,"to":1,"extra":1})", ErrorCode::kInvalidArgument},
      {R"({"query":{"kind":"trends"},"from":0})", ErrorCode::kInvalidArgument},
      {R"({"query":"trends"})", ErrorCode::kInvalidArgument},
      {R"({"query":{"kind":"trends","from":0,"to":1000,"series":[]}})", ErrorCode::kInvalidQuery},
      {R"({"query":{"kind":"nope","from":0,"to":1000}})", ErrorCode::kUnknownField},
  };
  for (const auto& [request, code] : cases) {
    auto submitted = service->Submit("acme", request);
    EXPECT_EQ(submitted.status().code(), code) << request << " " << submitted.status().ToString();
  }
  auto named = service->Submit("acme", R"({"dataset":"events","from":0,"to":1,"format":"xml"})");
  EXPECT_NE(named.status().message().find("format"), std::string_view::npos);
  auto query = service->Submit("acme", R"({"query":{"kind":"trends","from":0,"to":1000}})");
  EXPECT_TRUE(query.status().message().starts_with("query: ")) << query.status().ToString();
  EXPECT_TRUE(state_->ListExportJobs("")->empty());
  // An unknown tenant.
  EXPECT_EQ(service->Submit("nobody", R"({"dataset":"job_market_trends"})").status().code(),
            ErrorCode::kNotFound);
}

TEST_F(ExportServiceTest, AnotherTenantCannotSeeTheJob) {
  auto service = Service();
  ASSERT_TRUE(service->Start().ok());
  const state::ExportJobRow job = Run(*service, {{"dataset", "job_market_trends"}});
  ASSERT_EQ(job.status, "done");
  EXPECT_EQ(service->Get("globex", job.id).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(service->FilePath("globex", job.id).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(service->Get("acme", "exp_0000000000000000").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(*service->Get("acme", job.id), job);
}

TEST_F(ExportServiceTest, AJobThatCannotWriteFails) {
  // The tenant's directory is taken by a file.
  std::filesystem::create_directories(options_.dir);
  std::ofstream(options_.dir + "/acme") << "in the way";
  auto service = Service();
  ASSERT_TRUE(service->Start().ok());
  const state::ExportJobRow job = Run(*service, {{"dataset", "job_market_trends"}});
  EXPECT_EQ(job.status, "failed");
  EXPECT_FALSE(job.error.empty());
  EXPECT_TRUE(job.file.empty());
  EXPECT_EQ(job.finished_at_ms, now_ms_.load());
  auto path = service->FilePath("acme", job.id);
  EXPECT_EQ(path.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(path.status().message().find("failed"), std::string_view::npos);
}

TEST_F(ExportServiceTest, TooManyRowsFailAndLeaveNoFile) {
  options_.max_rows = 2;
  auto service = Service();
  ASSERT_TRUE(service->Start().ok());
  const state::ExportJobRow job =
      Run(*service, {{"dataset", "events"}, {"from", 0}, {"to", "2025-01-01T00:00:00Z"}});
  EXPECT_EQ(job.status, "failed");
  EXPECT_NE(job.error.find("more than 2 rows"), std::string::npos) << job.error;
  EXPECT_TRUE(std::filesystem::is_empty(options_.dir + "/acme"));
}

TEST_F(ExportServiceTest, JobsLeftRunningOrQueuedAreRunAfterARestart) {
  const std::string request =
      R"({"dataset":"events","format":"jsonl","from":0,"gzip":false,"to":1800000000000})";
  ASSERT_TRUE(
      state_->CreateExportJob({"exp_running", "acme", request, "running", 0, 0, "", "", 1}).ok());
  ASSERT_TRUE(
      state_->CreateExportJob({"exp_queued", "acme", request, "queued", 0, 0, "", "", 2}).ok());
  std::filesystem::create_directories(options_.dir + "/acme");
  const std::string partial = options_.dir + "/acme/exp_running.jsonl.tmp";
  std::ofstream(partial) << "{\"event_id\":\"ev-0\"";

  auto service = Service();
  ASSERT_TRUE(service->Start().ok());
  for (const char* id : {"exp_running", "exp_queued"}) {
    auto job = service->WaitFinished("acme", id, kWaitMs);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ(job->status, "done") << job->error;
    EXPECT_EQ(job->rows, 6);
    EXPECT_EQ(Rows(*job).size(), 6u);
  }
  EXPECT_FALSE(std::filesystem::exists(partial));
}

TEST_F(ExportServiceTest, CleanUpDeletesOldFilesAndTheirJobs) {
  auto service = Service();
  ASSERT_TRUE(service->Start().ok());
  const state::ExportJobRow old_job = Run(*service, {{"dataset", "job_market_trends"}});
  ASSERT_EQ(old_job.status, "done");
  now_ms_ += 3600 * 1000;
  const state::ExportJobRow new_job = Run(*service, {{"dataset", "job_market_trends"}});
  ASSERT_EQ(new_job.status, "done");
  ASSERT_TRUE(std::filesystem::exists(old_job.file));

  ASSERT_TRUE(service->CleanUp().ok());  // nothing is old enough yet
  EXPECT_TRUE(service->Get("acme", old_job.id).ok());

  now_ms_ += options_.keep_ms - 1000;
  ASSERT_TRUE(service->CleanUp().ok());
  EXPECT_EQ(service->Get("acme", old_job.id).status().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(old_job.file));
  EXPECT_TRUE(service->Get("acme", new_job.id).ok());
  EXPECT_TRUE(std::filesystem::exists(new_job.file));
}

TEST_F(ExportServiceTest, StopIsIdempotentAndQueuedJobsWaitForTheNextStart) {
  auto service = Service();
  service->Stop();
  auto job = service->Submit("acme", R"({"dataset":"job_market_trends"})");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(service->Get("acme", job->id)->status, "queued");
  service.reset();

  service = Service();
  ASSERT_TRUE(service->Start().ok());
  auto finished = service->WaitFinished("acme", job->id, kWaitMs);
  ASSERT_TRUE(finished.ok()) << finished.status().ToString();
  EXPECT_EQ(finished->status, "done");
}

}  // namespace
}  // namespace ca::services
