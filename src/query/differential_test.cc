// The differential test of docs/api/query.md: random specs over random data, each run by the SQL
// compiler on SQLite, by the embedded executor over an in-memory TestSnapshot and by the executor
// over the real EventStore (WAL, several flushes into small-granule parts, a memtable
// remainder); all three must return identical JSON.
//
// CA_DIFF_SEED=<n> reproduces a run (the seed is printed on failure); CA_DIFF_SPECS=<n> changes
// the number of valid specs (default 1000; events specs add follow-up pages on top).

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "event/event_codec.h"
#include "query/executor.h"
#include "query/random_query.h"
#include "query/sqlite_engine.h"
#include "query/test_snapshot.h"
#include "store/event_store.h"
#include "wal/wal.h"
#include "wal/wal_test_util.h"

namespace ca::query {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kDefaultSeed = 20250215;
constexpr int kDefaultSpecs = 1000;
constexpr int kMaxFollowUpPages = 3;
constexpr size_t kMaxReportedMismatches = 25;

uint64_t EnvU64(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return def;
  return std::strtoull(v, nullptr, 10);
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

/// Up to `max` lines "path: left != right" describing where `a` and `b` differ; a number printed
/// differently (3 vs 3.0) counts as a difference.
void Diff(const Json& a, const Json& b, const std::string& path, std::vector<std::string>* out,
          size_t max) {
  if (out->size() >= max) return;
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      auto it = b.find(k);
      if (it == b.end()) {
        out->push_back(path + "." + k + ": only left: " + v.dump());
      } else {
        Diff(v, *it, path + "." + k, out, max);
      }
      if (out->size() >= max) return;
    }
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k)) out->push_back(path + "." + k + ": only right: " + v.dump());
      if (out->size() >= max) return;
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) {
      out->push_back(path + ": array sizes " + std::to_string(a.size()) +
                     " != " + std::to_string(b.size()));
    }
    for (size_t i = 0; i < std::min(a.size(), b.size()) && out->size() < max; ++i) {
      Diff(a[i], b[i], path + "[" + std::to_string(i) + "]", out, max);
    }
    return;
  }
  std::string da = a.dump(), db = b.dump();
  if (a != b || da != db) {
    if (da.size() > 300) da = da.substr(0, 300) + "...";
    if (db.size() > 300) db = db.substr(0, 300) + "...";
    out->push_back(path + ": " + da + " != " + db);
  }
}

std::string Outcome(const Result<Json>& r) {
  if (!r.ok()) return "error " + r.status().ToString();
  std::string s = r->dump();
  return s.size() > 600 ? s.substr(0, 600) + "..." : s;
}

/// Empty when both outcomes agree (same JSON text, or errors with the same code).
std::string Compare(const Result<Json>& a, const Result<Json>& b) {
  if (!a.ok() || !b.ok()) {
    if (!a.ok() && !b.ok() && a.status().code() == b.status().code()) return "";
    return "  left:  " + Outcome(a) + "\n  right: " + Outcome(b) + "\n";
  }
  if (*a == *b && a->dump() == b->dump()) return "";
  std::vector<std::string> lines;
  Diff(*a, *b, "$", &lines, 12);
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

/// The real store, fed through the WAL, with most data in parts and the rest in the memtable.
class RealStore {
 public:
  Status Open(const std::vector<event::Event>& events, uint64_t seed) {
    if (dir_.path().empty()) return Status(ErrorCode::kIoError, "no temporary directory");
    wal_options_.dir = dir_.path() + "/wal";
    wal_options_.sync = wal::SyncMode::kNone;
    store_options_.dir = dir_.path() + "/store";
    store_options_.granule_rows = 64;
    store_options_.poll_interval_ms = 2;
    store_options_.merge_min_parts = 1000;  // keep many parts per (tenant, day)
    store_options_.memtable_max_rows = size_t{1} << 30;
    store_options_.flush_interval_ms = int64_t{1} << 50;
    CA_ASSIGN_OR_RETURN(wal_, wal::Wal::Open(wal_options_));
    CA_ASSIGN_OR_RETURN(store_, store::EventStore::Open(store_options_, wal_options_, wal_.get()));
    CA_RETURN_IF_ERROR(store_->Start());

    // A random order, so that every flush holds rows of every day: several parts per day.
    std::vector<const event::Event*> order;
    for (const auto& e : events) order.push_back(&e);
    TestRng rng(seed ^ 0x5eed);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
    constexpr int kChunks = 5;  // flushed after chunks 1..4; the last one stays in the memtable
    size_t per_chunk = (order.size() + kChunks - 1) / kChunks;
    for (int c = 0; c < kChunks; ++c) {
      size_t begin = std::min(order.size(), c * per_chunk);
      size_t end = std::min(order.size(), begin + per_chunk);
      for (size_t i = begin; i < end; i += 256) {
        std::vector<std::string> payloads;
        for (size_t k = i; k < std::min(end, i + 256); ++k) {
          payloads.emplace_back();
          event::EncodeEvent(*order[k], &payloads.back());
        }
        std::vector<std::string_view> views(payloads.begin(), payloads.end());
        wal::Lsn lsn = 0;
        CA_RETURN_IF_ERROR(wal::testing::AppendAndWait(wal_.get(), views, &lsn));
        CA_RETURN_IF_ERROR(store_->WaitApplied(lsn, 30000));
      }
      if (c + 1 < kChunks) CA_RETURN_IF_ERROR(store_->Flush());
    }
    return Status::Ok();
  }

  ~RealStore() {
    if (store_) store_->Close().IgnoreError();
    store_.reset();
    if (wal_) wal_->Close().IgnoreError();
  }

  store::EventStore& store() { return *store_; }
  wal::Wal& wal() { return *wal_; }

 private:
  /// A fresh directory on tmpfs when there is one (flushes fsync every part), else in the
  /// GoogleTest temporary directory; removed at the end.
  class ScratchDir {
   public:
    ScratchDir() {
      std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : ::testing::TempDir();
      std::string tmpl = base + "ca_diff_test_XXXXXX";
      if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
    }
    ~ScratchDir() {
      std::error_code ec;
      if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

   private:
    std::string path_;
  };

  ScratchDir dir_;
  wal::Options wal_options_;
  store::StoreOptions store_options_;
  std::unique_ptr<wal::Wal> wal_;
  std::unique_ptr<store::EventStore> store_;
};

struct KindStats {
  int generated = 0;
  int rejected = 0;
  int compared = 0;  ///< including follow-up pages
  int errors = 0;    ///< compared runs where all three failed with the same code
  int mismatches = 0;
  int non_empty = 0;  ///< compared results with some data
  double seconds[3] = {0, 0, 0};
};

/// True when a result carries rows (so the test is not comparing empty answers only).
bool HasData(const Json& r) {
  const std::string kind = r.value("kind", "");
  if (kind == "trends") {
    for (const auto& s : r["series"]) {
      if (!s["values"].empty()) return true;
    }
    return false;
  }
  if (kind == "funnel") return r["steps"][0]["count"].get<int64_t>() > 0;
  if (kind == "retention") return !r["cohorts"].empty();
  if (kind == "paths") return !r["paths"].empty();
  return !r["events"].empty();
}

/// Counts the features a result exercises (an "other" row, drop-offs...) into `out`.
void CountFeatures(const Json& r, std::map<std::string, int>* out) {
  const std::string kind = r.value("kind", "");
  if (kind == "trends") {
    for (const auto& s : r["series"]) {
      if (s["other"].get<bool>()) ++(*out)["trends.other_row"];
      if (!s["breakdown"].is_null()) ++(*out)["trends.breakdown_value"];
      if (s["total"].is_null()) ++(*out)["trends.null_total"];
    }
  } else if (kind == "funnel") {
    bool dropped = false, in_progress = false, last = false;
    for (const auto& s : r["steps"]) {
      dropped = dropped || s["dropped"].get<int64_t>() > 0;
      in_progress = in_progress || s["in_progress"].get<int64_t>() > 0;
    }
    last = r["steps"].back()["count"].get<int64_t>() > 0;
    (*out)["funnel.dropped"] += dropped;
    (*out)["funnel.in_progress"] += in_progress;
    (*out)["funnel.reached_last_step"] += last;
  } else if (kind == "retention") {
    for (const auto& c : r["cohorts"]) {
      for (size_t i = 1; i < c["values"].size(); ++i) {
        if (c["values"][i].get<int64_t>() > 0) {
          ++(*out)["retention.returning_cells"];
          break;
        }
      }
    }
  } else if (kind == "paths") {
    for (const auto& p : r["paths"]) {
      if (p["depth"].get<int>() >= 3) {
        ++(*out)["paths.depth3plus"];
        break;
      }
    }
  } else if (kind == "events") {
    (*out)["events.full_pages"] += r["next_cursor"].is_string();
  }
}

TEST(QueryDifferentialTest, SqliteExecutorAndStoreAgree) {
  const uint64_t seed = EnvU64("CA_DIFF_SEED", kDefaultSeed);
  const int specs = static_cast<int>(EnvU64("CA_DIFF_SPECS", kDefaultSpecs));
  SCOPED_TRACE("CA_DIFF_SEED=" + std::to_string(seed));
  auto t0 = Clock::now();

  RandomDataset data = GenerateRandomDataset(seed);
  auto sqlite = SqliteEngine::Open(":memory:");
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
  ASSERT_TRUE((*sqlite)->Insert(data.events).ok());

  std::map<std::string, std::unique_ptr<TestSnapshot>> test_snapshots;
  for (const auto& tenant : data.tenants) {
    std::vector<event::Event> mine;
    for (const auto& e : data.events) {
      if (e.tenant == tenant) mine.push_back(e);
    }
    TestSnapshotOptions options;
    options.seed = seed;
    options.max_block_rows = 97;
    test_snapshots[tenant] = std::make_unique<TestSnapshot>(mine, options);
  }

  RealStore real;
  Status opened = real.Open(data.events, seed);
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  store::StoreStats stats = real.store().stats();
  ASSERT_GT(stats.parts, 0u);
  ASSERT_GT(stats.memtable_rows, 0u);
  std::map<std::string, std::shared_ptr<const store::TenantSnapshot>> store_snapshots;
  for (const auto& tenant : data.tenants) store_snapshots[tenant] = real.store().Snapshot(tenant);
  double setup_seconds = Seconds(t0);

  RandomSpecGenerator gen(data, seed * 31 + 7);
  std::map<std::string, KindStats> by_kind;
  std::vector<std::string> reports;
  std::map<std::string, int> features;
  int total_mismatches = 0;
  auto t1 = Clock::now();

  // Runs one parsed spec three ways; returns the SQLite result for follow-up pages.
  auto run = [&](const std::string& kind, const std::string& tenant, const std::string& text,
                 const QuerySpec& spec) -> Result<Json> {
    KindStats& ks = by_kind[kind];
    ++ks.compared;
    auto s0 = Clock::now();
    Result<Json> a = (*sqlite)->Run(tenant, spec);
    ks.seconds[0] += Seconds(s0);
    s0 = Clock::now();
    Result<Json> b = Execute(*test_snapshots[tenant], spec, ExecOptions{});
    ks.seconds[1] += Seconds(s0);
    s0 = Clock::now();
    Result<Json> c = Execute(*store_snapshots[tenant], spec, ExecOptions{});
    ks.seconds[2] += Seconds(s0);
    std::string ab = Compare(a, b);
    std::string bc = Compare(b, c);
    if (!ab.empty() || !bc.empty()) {
      ++ks.mismatches;
      ++total_mismatches;
      if (reports.size() < kMaxReportedMismatches) {
        std::string r = "MISMATCH seed=" + std::to_string(seed) + " tenant=" + tenant +
                        "\n spec: " + text + "\n";
        if (!ab.empty()) r += " sqlite (left) vs executor/TestSnapshot (right):\n" + ab;
        if (!bc.empty())
          r += " executor/TestSnapshot (left) vs executor/EventStore (right):\n" + bc;
        reports.push_back(r);
      }
    } else if (!a.ok()) {
      ++ks.errors;
    } else if (HasData(*a)) {
      ++ks.non_empty;
      CountFeatures(*a, &features);
    }
    return a;
  };

  int valid = 0;
  for (int i = 0; valid < specs && i < 2 * specs; ++i) {
    uint64_t r = gen.rng().Below(100);
    std::string kind = r < 30   ? "trends"
                       : r < 50 ? "funnel"
                       : r < 65 ? "retention"
                       : r < 80 ? "paths"
                                : "events";
    const std::string& tenant = gen.rng().Pick(data.tenants);
    OJson spec_json = gen.Spec(kind);
    std::string text = spec_json.dump();
    KindStats& ks = by_kind[kind];
    ++ks.generated;
    auto spec = ParseQuerySpec(text);
    if (!spec.ok()) {
      ++ks.rejected;
      continue;
    }
    ++valid;
    Result<Json> first = run(kind, tenant, text, *spec);
    if (kind != "events") continue;
    // Follow the pages (the cursor of the SQLite result; the three agreed or a mismatch is
    // already reported).
    for (int page = 0; page < kMaxFollowUpPages && first.ok(); ++page) {
      const Json& cursor = (*first)["next_cursor"];
      if (!cursor.is_string()) break;
      spec_json["cursor"] = cursor.get<std::string>();
      text = spec_json.dump();
      auto next = ParseQuerySpec(text);
      if (!next.ok()) {
        ADD_FAILURE() << "a next_cursor does not parse: " << text << ": "
                      << next.status().ToString();
        break;
      }
      first = run(kind, tenant, text, *next);
    }
  }
  double run_seconds = Seconds(t1);

  int generated = 0, rejected = 0, compared = 0;
  std::printf(
      "differential: seed=%llu events=%zu tenants=%zu parts=%llu memtable_rows=%llu "
      "setup=%.2fs run=%.2fs\n",
      static_cast<unsigned long long>(seed), data.events.size(), data.tenants.size(),
      static_cast<unsigned long long>(stats.parts),
      static_cast<unsigned long long>(stats.memtable_rows), setup_seconds, run_seconds);
  for (const auto& [kind, ks] : by_kind) {
    std::printf(
        "  %-9s generated=%d rejected=%d compared=%d non_empty=%d errors=%d "
        "mismatches=%d time sqlite=%.2fs snapshot=%.2fs store=%.2fs\n",
        kind.c_str(), ks.generated, ks.rejected, ks.compared, ks.non_empty, ks.errors,
        ks.mismatches, ks.seconds[0], ks.seconds[1], ks.seconds[2]);
    generated += ks.generated;
    rejected += ks.rejected;
    compared += ks.compared;
  }
  std::printf("  features:");
  for (const auto& [name, n] : features) std::printf(" %s=%d", name.c_str(), n);
  std::printf("\n");
  for (const auto& r : reports) std::printf("%s", r.c_str());
  std::fflush(stdout);

  EXPECT_LE(rejected * 20, generated) << "more than 5% of the specs were rejected";
  EXPECT_EQ(valid, specs);
  EXPECT_EQ(total_mismatches, 0) << total_mismatches << " of " << compared
                                 << " runs disagree; reproduce with CA_DIFF_SEED=" << seed;
}

// The comparison and the generated specs are sensitive: with 10% of the events missing from the
// executor's snapshot, many specs must disagree.
TEST(QueryDifferentialTest, DetectsMissingEvents) {
  const uint64_t seed = EnvU64("CA_DIFF_SEED", kDefaultSeed);
  SCOPED_TRACE("CA_DIFF_SEED=" + std::to_string(seed));
  RandomDataOptions options;
  options.tenants = 1;
  RandomDataset data = GenerateRandomDataset(seed, options);
  auto sqlite = SqliteEngine::Open(":memory:");
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
  ASSERT_TRUE((*sqlite)->Insert(data.events).ok());
  std::vector<event::Event> kept;
  TestRng rng(seed);
  for (const auto& e : data.events) {
    if (!rng.Chance(0.1)) kept.push_back(e);
  }
  ASSERT_LT(kept.size(), data.events.size());
  TestSnapshot snapshot(kept);
  RandomSpecGenerator gen(data, seed + 1);
  int compared = 0, differ = 0;
  for (int i = 0; i < 200; ++i) {
    std::string kind(kRandomSpecKinds[i % std::size(kRandomSpecKinds)]);
    auto spec = ParseQuerySpec(gen.Spec(kind).dump());
    if (!spec.ok()) continue;
    ++compared;
    Result<Json> a = (*sqlite)->Run(data.tenants[0], *spec);
    Result<Json> b = Execute(snapshot, *spec, ExecOptions{});
    differ += !Compare(a, b).empty();
  }
  EXPECT_GE(differ * 5, compared) << differ << " of " << compared << " specs noticed";
}

}  // namespace
}  // namespace ca::query

namespace ca::query {
namespace {

// Trends over whole UTC days without filters are answered from part footers for days that are
// one part with nothing else (TenantSnapshot::DayAggregates); they must equal SQLite's answers,
// including days that also have memtable rows, which are scanned.
TEST(QueryDifferentialTest, DayAggregatesAgreeWithSqlite) {
  const uint64_t seed = EnvU64("CA_DIFF_SEED", kDefaultSeed);
  SCOPED_TRACE("CA_DIFF_SEED=" + std::to_string(seed));
  RandomDataset data = GenerateRandomDataset(seed);
  auto sqlite = SqliteEngine::Open(":memory:");
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
  ASSERT_TRUE((*sqlite)->Insert(data.events).ok());
  RealStore real;
  ASSERT_TRUE(real.Open(data.events, seed).ok());
  // One part per day, then a few more events in the memtable: their days must be scanned.
  ASSERT_TRUE(real.store().Flush().ok());
  ASSERT_TRUE(real.store().MergeAll().ok());
  std::vector<event::Event> late;
  std::vector<std::string> payloads;
  for (size_t i = 0; i < data.events.size(); i += 97) {
    late.push_back(data.events[i]);
    late.back().event_id += "-late";
    payloads.emplace_back();
    event::EncodeEvent(late.back(), &payloads.back());
  }
  ASSERT_TRUE((*sqlite)->Insert(late).ok());
  std::vector<std::string_view> views(payloads.begin(), payloads.end());
  wal::Lsn lsn = 0;
  ASSERT_TRUE(wal::testing::AppendAndWait(&real.wal(), views, &lsn).ok());
  ASSERT_TRUE(real.store().WaitApplied(lsn, 30000).ok());

  const std::string specs[] = {
      R"({"kind":"trends","from":"2025-01-20T00:00:00Z","to":"2025-04-20T00:00:00Z","interval":"day",
          "series":[{"event":"*"}],"breakdown":{"field":"type","limit":5}})",
      R"({"kind":"trends","from":"2025-01-20T06:00:00Z","to":"2025-04-19T18:00:00Z","interval":"day",
          "series":[{"event":"*","math":"unique_users"},{"event":"page_view"},{"event":"job_view"}]})",
      R"({"kind":"trends","from":"2025-02-01T00:00:00Z","to":"2025-03-01T00:00:00Z","interval":"day",
          "series":[{"event":"job_apply"},{"event":"*"}],"breakdown":{"field":"type","limit":100}})",
  };
  size_t days_covered = 0;
  for (const auto& tenant : data.tenants) {
    auto snap = real.store().Snapshot(tenant);
    days_covered += snap->DayAggregates(0, 1 << 30).size();
    for (const std::string& text : specs) {
      auto spec = ParseQuerySpec(text);
      ASSERT_TRUE(spec.ok()) << spec.status().ToString();
      auto expected = (*sqlite)->Run(tenant, *spec);
      auto actual = Execute(*snap, *spec, ExecOptions{});
      ASSERT_EQ(Compare(expected, actual), "") << tenant << " " << text;
    }
  }
  EXPECT_GT(days_covered, 20u) << "the day aggregates were not exercised";
}

}  // namespace
}  // namespace ca::query
