#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ca::metrics {

// Prometheus metrics: counters, gauges, histograms and callback families in a `Registry`,
// rendered in the text exposition format. docs/metrics.md has the naming rules and the list of
// metrics the server exports.

template <typename T>
class Family;

/// A monotonically increasing count. Integer increments are kept exactly in a uint64; fractional
/// ones (`Add`) in a double beside it. Thread-safe, lock-free.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Inc(uint64_t n = 1) { count_.fetch_add(n, std::memory_order_relaxed); }
  /// Adds `v`; negative and NaN values are ignored (a counter never goes down).
  void Add(double v);
  /// The current value (the integer part is exact up to 2^53).
  double Value() const;

 private:
  friend class Family<Counter>;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> fraction_bits_{0};  // bit pattern of a double; 0 is +0.0
};

/// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double v) { bits_.store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed); }
  void Add(double v);
  double Value() const { return std::bit_cast<double>(bits_.load(std::memory_order_relaxed)); }

 private:
  std::atomic<uint64_t> bits_{0};
};

/// Observations counted in fixed buckets (upper bounds, inclusive), plus their sum and count.
/// Thread-safe, lock-free. Created by `HistogramFamily::With`.
class Histogram {
 public:
  /// `bounds`: strictly increasing finite upper bounds (the +Inf bucket is implicit).
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  /// Counts `v` in the first bucket whose bound is >= v (NaN: the +Inf bucket) and adds it to the
  /// sum.
  void Observe(double v);

  struct Snapshot {
    /// Cumulative counts, one per bound, then the +Inf bucket (== count).
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  /// The current counts. Taken without a lock: under concurrent `Observe`s the sum may miss or
  /// include an observation the buckets do not; the buckets and count always agree.
  Snapshot Collect() const;
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_->size() + 1, not cumulative
  std::atomic<uint64_t> sum_bits_{0};
};

/// `count` bucket bounds: start, start * factor, start * factor^2, ... Requires start > 0,
/// factor > 1 and count >= 1 (else throws std::logic_error).
std::vector<double> ExponentialBuckets(double start, double factor, size_t count);

/// Latency buckets in seconds, 100 µs to 10 s in 1-2.5-5 steps (16 bounds).
std::vector<double> DefaultLatencyBuckets();

/// A sample of a callback family: one value per label set.
struct Sample {
  /// One value per label name of the family, in the same order.
  std::vector<std::string> label_values;
  double value = 0;
};

namespace detail {

enum class Kind { kCounter, kGauge, kHistogram, kCounterFunction, kGaugeFunction };

/// What the registry keeps of every family. Internal.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Kind kind, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  Kind kind() const { return kind_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  /// Appends the family's samples (no HELP/TYPE lines) to `*out`; nothing when it has none.
  virtual void RenderSamples(std::string* out) const = 0;

 private:
  std::string name_;
  std::string help_;
  Kind kind_;
  std::vector<std::string> label_names_;
};

}  // namespace detail

/// A metric family of children of type T (Counter, Gauge or Histogram), one per label set.
/// Thread-safe.
template <typename T>
class Family final : public detail::FamilyBase {
 public:
  /// The child for `label_values` (one per label name, in order), created on first use; the
  /// reference stays valid for the registry's life. Takes a mutex: look up once, keep the
  /// reference. Values that are not valid UTF-8 have the bad bytes replaced with U+FFFD.
  ///
  /// Cardinality guard: once the family holds the registry's `max_children_per_family` label
  /// sets, a new label set gets the overflow child whose every label value is "other" (so a
  /// family holds at most max_children_per_family + 1 children and memory stays bounded when a
  /// label value comes from input).
  ///
  /// Throws std::logic_error when the number of values differs from the number of label names.
  T& With(std::vector<std::string> label_values);

  /// The number of label sets (children) held.
  size_t size() const;
  /// The bucket bounds of a histogram family (without +Inf); empty for other types.
  const std::vector<double>& bounds() const;

  /// Internal: created by `Registry`.
  Family(std::string name, std::string help, detail::Kind kind,
         std::vector<std::string> label_names, size_t max_children,
         std::shared_ptr<const std::vector<double>> bounds);

  void RenderSamples(std::string* out) const override;

 private:
  const size_t max_children_;
  const std::shared_ptr<const std::vector<double>> bounds_;  // histograms only
  mutable std::mutex mu_;
  // Ordered by label values, for stable output; map nodes keep children's addresses stable.
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // guarded by mu_
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

/// The metrics of one server, rendered in the Prometheus text exposition format 0.0.4. Pass it
/// explicitly to what records metrics; there is no process-wide registry.
///
/// Register a family once at start-up, look up the child of each label set once, keep the child's
/// reference and update it on the hot path:
///
///     metrics::CounterFamily& requests = registry.Counter(
///         "ca_http_requests_total", "HTTP requests answered.", {"route", "status"});
///     metrics::Counter& ok = requests.With({"/analytics/query", "200"});  // once, then kept
///     ok.Inc();  // on the hot path: lock-free
///
/// Thread safety: updating a child (Counter::Inc, Gauge::Set, Histogram::Observe, ...) is
/// lock-free (relaxed atomics); registering a family, looking up a child and rendering take
/// mutexes. Families and children are never removed: references stay valid while the registry
/// lives.
///
/// Errors: programming errors (an invalid metric or label name, a re-registration with another
/// type, other label names or other bounds, a wrong number of label values) throw
/// std::logic_error. They happen at start-up or at a child's first lookup, never in updates.
class Registry {
 public:
  static constexpr size_t kDefaultMaxChildren = 10'000;

  /// `max_children_per_family`: the cardinality guard of every family (see `Family::With`).
  explicit Registry(size_t max_children_per_family = kDefaultMaxChildren);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Registers (or returns the already registered) family `name`. Metric names match
  /// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__".
  /// Registering an existing name again with the same type and label names (and, for histograms,
  /// the same bounds) returns the existing family; with anything else it throws std::logic_error.
  CounterFamily& Counter(std::string_view name, std::string_view help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& Gauge(std::string_view name, std::string_view help,
                     std::vector<std::string> label_names = {});
  /// `bounds`: strictly increasing upper bounds (a trailing +Inf is dropped, it is implicit);
  /// default: `DefaultLatencyBuckets()`. No label may be named "le".
  HistogramFamily& Histogram(std::string_view name, std::string_view help,
                             std::vector<std::string> label_names = {},
                             std::vector<double> bounds = DefaultLatencyBuckets());

  /// A family whose samples `collect` returns at every `Render`, for values kept elsewhere (a
  /// consumer's lag, a cache's hit ratio, a pipeline's own counters). `collect` runs on the
  /// rendering thread without the registry's lock; it must be thread-safe and everything it
  /// reads must outlive the registry. Samples whose number of label values is wrong are skipped.
  /// A callback family is registered once: registering its name again throws std::logic_error.
  void GaugeFunction(std::string_view name, std::string_view help,
                     std::vector<std::string> label_names,
                     std::function<std::vector<Sample>()> collect);
  /// As `GaugeFunction`, rendered as a counter: `collect` must return monotonic values.
  void CounterFunction(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names,
                       std::function<std::vector<Sample>()> collect);

  /// Every family with at least one sample in the Prometheus text format 0.0.4 (content type
  /// "text/plain; version=0.0.4"): families sorted by name, children by label values.
  std::string Render() const;

 private:
  // Validates, then returns the family `name` (checked to match) or adds a new one.
  detail::FamilyBase& Register(std::string_view name, std::string_view help, detail::Kind kind,
                               std::vector<std::string> label_names, std::vector<double> bounds,
                               std::function<std::vector<Sample>()> collect);

  const size_t max_children_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<detail::FamilyBase>, std::less<>> families_;  // mu_
};

}  // namespace ca::metrics
