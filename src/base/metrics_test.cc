#include "base/metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ca::metrics {
namespace {

TEST(Metrics, CounterRendersExactly) {
  Registry registry;
  CounterFamily& requests =
      registry.Counter("ca_http_requests_total", "HTTP requests answered.", {"route", "status"});
  requests.With({"/analytics/query", "200"}).Inc(3);
  requests.With({"/analytics/query", "400"}).Inc();
  Counter& plain = registry.Counter("ca_events_total", "Events.").With({});
  plain.Inc(2);
  plain.Add(0.5);
  plain.Add(-1);  // ignored
  plain.Add(std::nan(""));
  EXPECT_DOUBLE_EQ(plain.Value(), 2.5);

  EXPECT_EQ(registry.Render(),
            "# HELP ca_events_total Events.\n"
            "# TYPE ca_events_total counter\n"
            "ca_events_total 2.5\n"
            "# HELP ca_http_requests_total HTTP requests answered.\n"
            "# TYPE ca_http_requests_total counter\n"
            "ca_http_requests_total{route=\"/analytics/query\",status=\"200\"} 3\n"
            "ca_http_requests_total{route=\"/analytics/query\",status=\"400\"} 1\n");
}

TEST(Metrics, UnlabelledFamiliesRenderZeroAndLabelledOnesNothingUntilUsed) {
  Registry registry;
  registry.Counter("ca_a_total", "A.");
  registry.Counter("ca_b_total", "B.", {"kind"});
  registry.Histogram("ca_c_seconds", "C.", {"kind"});
  EXPECT_EQ(registry.Render(),
            "# HELP ca_a_total A.\n"
            "# TYPE ca_a_total counter\n"
            "ca_a_total 0\n");
}

TEST(Metrics, LargeIntegerCountsStayExact) {
  Registry registry;
  Counter& c = registry.Counter("ca_big_total", "Big.").With({});
  c.Inc(std::numeric_limits<uint64_t>::max() - 1);
  EXPECT_EQ(registry.Render(),
            "# HELP ca_big_total Big.\n"
            "# TYPE ca_big_total counter\n"
            "ca_big_total 18446744073709551614\n");
}

TEST(Metrics, GaugeAndFloatFormatting) {
  Registry registry;
  GaugeFamily& g = registry.Gauge("ca_values", "Values.", {"v"});
  g.With({"a_int"}).Set(1e6);
  g.With({"b_frac"}).Set(0.1);
  g.With({"c_big"}).Set(1e20);
  g.With({"d_neg"}).Set(-42);
  g.With({"e_inf"}).Set(std::numeric_limits<double>::infinity());
  g.With({"f_ninf"}).Set(-std::numeric_limits<double>::infinity());
  g.With({"g_nan"}).Set(std::nan(""));
  g.With({"h_small"}).Set(1e-7);
  Gauge& added = g.With({"i_added"});
  added.Set(2);
  added.Add(0.5);
  added.Add(-5);
  EXPECT_DOUBLE_EQ(added.Value(), -2.5);

  EXPECT_EQ(registry.Render(),
            "# HELP ca_values Values.\n"
            "# TYPE ca_values gauge\n"
            "ca_values{v=\"a_int\"} 1000000\n"
            "ca_values{v=\"b_frac\"} 0.1\n"
            "ca_values{v=\"c_big\"} 1e+20\n"
            "ca_values{v=\"d_neg\"} -42\n"
            "ca_values{v=\"e_inf\"} +Inf\n"
            "ca_values{v=\"f_ninf\"} -Inf\n"
            "ca_values{v=\"g_nan\"} NaN\n"
            "ca_values{v=\"h_small\"} 1e-07\n"
            "ca_values{v=\"i_added\"} -2.5\n");
}

TEST(Metrics, HistogramCumulativeBucketsSumCountAndInf) {
  Registry registry;
  Histogram& h =
      registry.Histogram("ca_sync_seconds", "Sync latency.", {}, {0.125, 1, 10}).With({});
  h.Observe(0.0625);
  h.Observe(0.125);  // bounds are inclusive
  h.Observe(0.5);
  h.Observe(100);  // only in +Inf
  EXPECT_EQ(registry.Render(),
            "# HELP ca_sync_seconds Sync latency.\n"
            "# TYPE ca_sync_seconds histogram\n"
            "ca_sync_seconds_bucket{le=\"0.125\"} 2\n"
            "ca_sync_seconds_bucket{le=\"1\"} 3\n"
            "ca_sync_seconds_bucket{le=\"10\"} 3\n"
            "ca_sync_seconds_bucket{le=\"+Inf\"} 4\n"
            "ca_sync_seconds_sum 100.6875\n"
            "ca_sync_seconds_count 4\n");

  const Histogram::Snapshot s = h.Collect();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 3, 3, 4}));
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.sum, 100.6875);
}

TEST(Metrics, HistogramWithLabelsPutsLeLast) {
  Registry registry;
  HistogramFamily& f =
      registry.Histogram("ca_query_duration_seconds", "Query latency.", {"kind"}, {0.5});
  f.With({"trends"}).Observe(0.25);
  f.With({"funnels"}).Observe(std::nan(""));  // NaN counts in +Inf
  EXPECT_EQ(registry.Render(),
            "# HELP ca_query_duration_seconds Query latency.\n"
            "# TYPE ca_query_duration_seconds histogram\n"
            "ca_query_duration_seconds_bucket{kind=\"funnels\",le=\"0.5\"} 0\n"
            "ca_query_duration_seconds_bucket{kind=\"funnels\",le=\"+Inf\"} 1\n"
            "ca_query_duration_seconds_sum{kind=\"funnels\"} NaN\n"
            "ca_query_duration_seconds_count{kind=\"funnels\"} 1\n"
            "ca_query_duration_seconds_bucket{kind=\"trends\",le=\"0.5\"} 1\n"
            "ca_query_duration_seconds_bucket{kind=\"trends\",le=\"+Inf\"} 1\n"
            "ca_query_duration_seconds_sum{kind=\"trends\"} 0.25\n"
            "ca_query_duration_seconds_count{kind=\"trends\"} 1\n");
}

TEST(Metrics, HistogramBoundsTrailingInfIsDroppedAndDefaultsAreLatencies) {
  Registry registry;
  HistogramFamily& f =
      registry.Histogram("ca_x_seconds", "X.", {}, {1, 2, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(f.bounds(), (std::vector<double>{1, 2}));
  HistogramFamily& d = registry.Histogram("ca_y_seconds", "Y.");
  EXPECT_EQ(d.bounds(), DefaultLatencyBuckets());
  const std::vector<double> latency = DefaultLatencyBuckets();
  EXPECT_EQ(latency.size(), 16u);
  EXPECT_EQ(latency.front(), 0.0001);
  EXPECT_EQ(latency.back(), 10);
  EXPECT_TRUE(std::is_sorted(latency.begin(), latency.end()));
}

TEST(Metrics, ExponentialBuckets) {
  EXPECT_EQ(ExponentialBuckets(0.001, 2, 4), (std::vector<double>{0.001, 0.002, 0.004, 0.008}));
  EXPECT_EQ(ExponentialBuckets(1, 10, 1), (std::vector<double>{1}));
  EXPECT_THROW(ExponentialBuckets(0, 2, 3), std::logic_error);
  EXPECT_THROW(ExponentialBuckets(1, 1, 3), std::logic_error);
  EXPECT_THROW(ExponentialBuckets(1, 2, 0), std::logic_error);
}

TEST(Metrics, Escaping) {
  Registry registry;
  registry.Counter("ca_escaped_total", "Back\\slash and\nnewline \"quotes\" kept.", {"path"})
      .With({"a\\b\"c\nd"})
      .Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP ca_escaped_total Back\\\\slash and\\nnewline \"quotes\" kept.\n"
            "# TYPE ca_escaped_total counter\n"
            "ca_escaped_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(Metrics, InvalidUtf8LabelValuesAreReplaced) {
  Registry registry;
  Counter& c = registry.Counter("ca_utf8_total", "U.", {"v"}).With({"a\xff\xc3\xa9"});
  EXPECT_EQ(&c, &registry.Counter("ca_utf8_total", "U.", {"v"}).With({"a\xef\xbf\xbd\xc3\xa9"}));
  c.Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP ca_utf8_total U.\n"
            "# TYPE ca_utf8_total counter\n"
            "ca_utf8_total{v=\"a\xef\xbf\xbd\xc3\xa9\"} 1\n");
}

TEST(Metrics, FamiliesSortedByNameChildrenByLabelValues) {
  Registry registry;
  registry.Gauge("ca_zeta", "Z.").With({}).Set(1);
  GaugeFamily& a = registry.Gauge("ca_alpha", "A.", {"x", "y"});
  a.With({"b", "a"}).Set(3);
  a.With({"a", "z"}).Set(2);
  a.With({"a", "b"}).Set(1);
  registry.Gauge("ca_mid", "M.").With({}).Set(5);
  EXPECT_EQ(registry.Render(),
            "# HELP ca_alpha A.\n"
            "# TYPE ca_alpha gauge\n"
            "ca_alpha{x=\"a\",y=\"b\"} 1\n"
            "ca_alpha{x=\"a\",y=\"z\"} 2\n"
            "ca_alpha{x=\"b\",y=\"a\"} 3\n"
            "# HELP ca_mid M.\n"
            "# TYPE ca_mid gauge\n"
            "ca_mid 5\n"
            "# HELP ca_zeta Z.\n"
            "# TYPE ca_zeta gauge\n"
            "ca_zeta 1\n");
}

TEST(Metrics, CallbackFamilies) {
  Registry registry;
  int scrapes = 0;
  registry.GaugeFunction("ca_consumer_lag_bytes", "Log bytes a consumer has yet to apply.",
                         {"consumer"}, [&scrapes] {
                           ++scrapes;
                           return std::vector<Sample>{
                               {{"store"}, 4096}, {{"lanes"}, 0}, {{"too", "many"}, 1}};  // skipped
                         });
  registry.CounterFunction("ca_ingest_events_total", "Events by outcome.", {"outcome"}, [] {
    return std::vector<Sample>{{{"rejected"}, 2}, {{"accepted"}, 10}};
  });
  registry.GaugeFunction("ca_cache_hit_ratio", "Cache hits over lookups.", {}, [] {
    return std::vector<Sample>{{{}, 0.75}};
  });
  registry.GaugeFunction("ca_empty", "Nothing yet.", {"x"}, [] { return std::vector<Sample>{}; });

  const std::string expected =
      "# HELP ca_cache_hit_ratio Cache hits over lookups.\n"
      "# TYPE ca_cache_hit_ratio gauge\n"
      "ca_cache_hit_ratio 0.75\n"
      "# HELP ca_consumer_lag_bytes Log bytes a consumer has yet to apply.\n"
      "# TYPE ca_consumer_lag_bytes gauge\n"
      "ca_consumer_lag_bytes{consumer=\"lanes\"} 0\n"
      "ca_consumer_lag_bytes{consumer=\"store\"} 4096\n"
      "# HELP ca_ingest_events_total Events by outcome.\n"
      "# TYPE ca_ingest_events_total counter\n"
      "ca_ingest_events_total{outcome=\"accepted\"} 10\n"
      "ca_ingest_events_total{outcome=\"rejected\"} 2\n";
  EXPECT_EQ(registry.Render(), expected);
  EXPECT_EQ(registry.Render(), expected);
  EXPECT_EQ(scrapes, 2);
}

TEST(Metrics, ConcurrentIncrementsAreExact) {
  Registry registry;
  Counter& counter = registry.Counter("ca_concurrent_total", "C.").With({});
  Gauge& gauge = registry.Gauge("ca_concurrent", "G.").With({});
  Histogram& histogram = registry.Histogram("ca_concurrent_seconds", "H.", {}, {0.5}).With({});
  constexpr int kThreads = 4;
  constexpr int kIncrements = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrements; ++i) {
        counter.Inc();
        gauge.Add(1);
        histogram.Observe(t % 2 == 0 ? 0.25 : 1);
        if (i % 10'000 == 0) (void)registry.Render();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter.Value(), kThreads * kIncrements);
  EXPECT_EQ(gauge.Value(), kThreads * kIncrements);
  const Histogram::Snapshot s = histogram.Collect();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2 * kIncrements, 4 * kIncrements}));
  EXPECT_EQ(s.sum, 2 * kIncrements * 0.25 + 2 * kIncrements * 1.0);
}

TEST(Metrics, ConcurrentLookupsReturnOneChild) {
  Registry registry;
  CounterFamily& f = registry.Counter("ca_lookups_total", "L.", {"k"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) f.With({std::to_string(i % 10)}).Inc();
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(f.size(), 10u);
  EXPECT_EQ(f.With({"3"}).Value(), 400);
}

TEST(Metrics, CardinalityGuardSendsNewLabelSetsToOther) {
  Registry registry(/*max_children_per_family=*/3);
  CounterFamily& f = registry.Counter("ca_routes_total", "R.", {"route", "method"});
  Counter& a = f.With({"/a", "GET"});
  f.With({"/b", "GET"}).Inc();
  f.With({"/c", "GET"}).Inc();
  Counter& d = f.With({"/d", "GET"});
  Counter& e = f.With({"/e", "POST"});
  EXPECT_EQ(&d, &e);
  EXPECT_EQ(&a, &f.With({"/a", "GET"}));  // existing label sets still resolve
  d.Inc();
  e.Inc();
  a.Inc();
  EXPECT_EQ(f.size(), 4u);
  for (int i = 0; i < 100; ++i) f.With({"/x" + std::to_string(i), "GET"}).Inc();
  EXPECT_EQ(f.size(), 4u);
  EXPECT_EQ(registry.Render(),
            "# HELP ca_routes_total R.\n"
            "# TYPE ca_routes_total counter\n"
            "ca_routes_total{route=\"/a\",method=\"GET\"} 1\n"
            "ca_routes_total{route=\"/b\",method=\"GET\"} 1\n"
            "ca_routes_total{route=\"/c\",method=\"GET\"} 1\n"
            "ca_routes_total{route=\"other\",method=\"other\"} 102\n");
}

TEST(Metrics, ReRegistrationReturnsTheFamilyOrThrows) {
  Registry registry;
  CounterFamily& f = registry.Counter("ca_x_total", "X.", {"a"});
  EXPECT_EQ(&f, &registry.Counter("ca_x_total", "Other help is fine.", {"a"}));
  EXPECT_THROW(registry.Counter("ca_x_total", "X.", {"b"}), std::logic_error);
  EXPECT_THROW(registry.Counter("ca_x_total", "X.", {"a", "b"}), std::logic_error);
  EXPECT_THROW(registry.Gauge("ca_x_total", "X.", {"a"}), std::logic_error);

  HistogramFamily& h = registry.Histogram("ca_h_seconds", "H.", {}, {1, 2});
  EXPECT_EQ(&h, &registry.Histogram("ca_h_seconds", "H.", {}, {1, 2}));
  EXPECT_THROW(registry.Histogram("ca_h_seconds", "H.", {}, {1, 3}), std::logic_error);
  EXPECT_THROW(registry.Counter("ca_h_seconds_count", "C."), std::logic_error);
  EXPECT_THROW(registry.Gauge("ca_h_seconds_bucket", "C."), std::logic_error);
  registry.Gauge("ca_g_sum", "S.");
  EXPECT_THROW(registry.Histogram("ca_g", "G."), std::logic_error);

  auto none = [] { return std::vector<Sample>{}; };
  registry.GaugeFunction("ca_cb", "CB.", {}, none);
  EXPECT_THROW(registry.GaugeFunction("ca_cb", "CB.", {}, none), std::logic_error);
  EXPECT_THROW(registry.Gauge("ca_cb", "CB."), std::logic_error);
  EXPECT_THROW(registry.GaugeFunction("ca_cb2", "CB.", {}, nullptr), std::logic_error);
}

TEST(Metrics, InvalidNamesAndLabelsThrow) {
  Registry registry;
  EXPECT_THROW(registry.Counter("", "H."), std::logic_error);
  EXPECT_THROW(registry.Counter("9lives_total", "H."), std::logic_error);
  EXPECT_THROW(registry.Counter("ca-dash_total", "H."), std::logic_error);
  EXPECT_THROW(registry.Counter("ca_no_help_total", ""), std::logic_error);
  EXPECT_NO_THROW(registry.Counter("ca:recorded_total", "Colons are allowed."));
  EXPECT_NO_THROW(registry.Counter("_ca_total", "H."));
  EXPECT_THROW(registry.Counter("ca_l_total", "H.", {"a:b"}), std::logic_error);
  EXPECT_THROW(registry.Counter("ca_l_total", "H.", {"1a"}), std::logic_error);
  EXPECT_THROW(registry.Counter("ca_l_total", "H.", {""}), std::logic_error);
  EXPECT_THROW(registry.Counter("ca_l_total", "H.", {"__reserved"}), std::logic_error);
  EXPECT_THROW(registry.Counter("ca_l_total", "H.", {"a", "a"}), std::logic_error);
  EXPECT_NO_THROW(registry.Counter("ca_le_total", "A counter may have le.", {"le"}));
  EXPECT_THROW(registry.Histogram("ca_h_seconds", "H.", {"le"}), std::logic_error);
  EXPECT_THROW(registry.Histogram("ca_h_seconds", "H.", {}, {2, 1}), std::logic_error);
  EXPECT_THROW(registry.Histogram("ca_h_seconds", "H.", {}, {1, 1}), std::logic_error);
  EXPECT_THROW(registry.Histogram("ca_h_seconds", "H.", {}, {std::nan("")}), std::logic_error);

  CounterFamily& f = registry.Counter("ca_arity_total", "H.", {"a", "b"});
  EXPECT_THROW(f.With({"x"}), std::logic_error);
  EXPECT_THROW(f.With({"x", "y", "z"}), std::logic_error);
  EXPECT_EQ(f.size(), 0u);
}

// Runs `promtool check metrics` on `text`; returns its exit status and output.
std::pair<int, std::string> PromtoolCheck(const std::string& text) {
  char path[] = "/tmp/ca_metrics_test_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  const std::string command = "promtool check metrics < " + std::string(path) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  size_t n;
  while (pipe != nullptr && (n = fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
  const int status = pipe != nullptr ? pclose(pipe) : -1;
  unlink(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(Metrics, PromtoolAcceptsEveryType) {
  ASSERT_EQ(std::system("command -v promtool >/dev/null 2>&1"), 0)
      << "promtool is missing: scripts/packages.sh installs Debian's `prometheus` package";

  Registry registry;
  CounterFamily& requests =
      registry.Counter("ca_http_requests_total", "HTTP requests answered.", {"route", "status"});
  requests.With({"/analytics/query", "200"}).Inc(7);
  requests.With({"/v1/batch", "503"}).Inc();
  requests.With({"a\\b\"c\nd\xff", "400"}).Inc();
  registry.Counter("ca_bytes_written_total", "Bytes written.").With({}).Add(1.5);
  GaugeFamily& open = registry.Gauge("ca_open_connections", "Open connections.", {"listener"});
  open.With({"api"}).Set(12);
  open.With({"inf"}).Set(std::numeric_limits<double>::infinity());
  open.With({"nan"}).Set(std::nan(""));
  HistogramFamily& sync =
      registry.Histogram("ca_wal_sync_duration_seconds", "WAL fsync latency.", {"device"});
  sync.With({"nvme0"}).Observe(0.0003);
  sync.With({"nvme0"}).Observe(12);
  sync.With({"sda"}).Observe(0.02);
  registry
      .Histogram("ca_query_duration_seconds", "Query latency.", {"kind"},
                 ExponentialBuckets(0.001, 4, 6))
      .With({"trends"})
      .Observe(0.2);
  registry.GaugeFunction("ca_consumer_lag_bytes", "Log bytes a consumer has yet to apply.",
                         {"consumer"}, [] {
                           return std::vector<Sample>{{{"store"}, 1 << 20}, {{"lanes"}, 0}};
                         });
  registry.GaugeFunction("ca_cache_hit_ratio", "Cache hits over lookups.", {}, [] {
    return std::vector<Sample>{{{}, 0.9}};
  });
  registry.CounterFunction("ca_ingest_events_total", "Events by outcome.", {"outcome"}, [] {
    return std::vector<Sample>{{{"accepted"}, 10}, {{"rejected"}, 1}, {{"duplicate"}, 0}};
  });

  const std::string text = registry.Render();
  const auto [status, output] = PromtoolCheck(text);
  EXPECT_EQ(status, 0) << output << "\n--- rendered:\n" << text;
  EXPECT_EQ(output, "") << "--- rendered:\n" << text;
}

TEST(Metrics, PromtoolCheckCatchesALintProblem) {
  ASSERT_EQ(std::system("command -v promtool >/dev/null 2>&1"), 0)
      << "promtool is missing: scripts/packages.sh installs Debian's `prometheus` package";
  Registry registry;
  registry.Counter("ca_latency_ms", "Not a base unit, no _total.").With({}).Inc();
  const auto [status, output] = PromtoolCheck(registry.Render());
  EXPECT_NE(status, 0);
  EXPECT_NE(output, "");
}

}  // namespace
}  // namespace ca::metrics
