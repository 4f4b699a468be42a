#include "base/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace ca::metrics {
namespace {

constexpr std::memory_order kRelaxed = std::memory_order_relaxed;

// Adds `v` to the double whose bits `bits` holds.
void AtomicAddDouble(std::atomic<uint64_t>* bits, double v) {
  uint64_t old = bits->load(kRelaxed);
  while (!bits->compare_exchange_weak(old, std::bit_cast<uint64_t>(std::bit_cast<double>(old) + v),
                                      kRelaxed, kRelaxed)) {
  }
}

[[noreturn]] void Fail(std::string_view name, std::string_view what) {
  throw std::logic_error("metric " + std::string(name) + ": " + std::string(what));
}

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || s.starts_with("__")) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// The length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong
// forms, no surrogates, at most U+10FFFF), or 0.
size_t Utf8SequenceLength(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Replaces every byte of `*s` that is not part of well-formed UTF-8 with U+FFFD (Prometheus
// rejects an exposition with invalid UTF-8).
void SanitizeUtf8(std::string* s) {
  std::string_view in = *s;
  size_t i = 0;
  while (i < in.size()) {
    const size_t len = Utf8SequenceLength(in.substr(i));
    if (len == 0) break;
    i += len;
  }
  if (i == in.size()) return;
  std::string out(in.substr(0, i));
  while (i < in.size()) {
    const size_t len = Utf8SequenceLength(in.substr(i));
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(in.substr(i, len));
      i += len;
    }
  }
  *s = std::move(out);
}

void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

// A float as Prometheus parses it: integral values without exponent (when they fit an int64),
// others in the shortest form that reads back exactly, and +Inf, -Inf, NaN.
void AppendValue(double v, std::string* out) {
  if (std::isnan(v)) {
    *out += "NaN";
  } else if (std::isinf(v)) {
    *out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::trunc(v) && std::fabs(v) < 9.0e18) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
    out->append(buf, r.ptr);
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, r.ptr);
  }
}

// HELP text: backslash and newline escaped.
void AppendHelp(std::string_view help, std::string* out) {
  for (const char c : help) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      out->push_back(c);
    }
  }
}

// A label value: backslash, double quote and newline escaped.
void AppendLabelValue(std::string_view value, std::string* out) {
  for (const char c : value) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '"') {
      *out += "\\\"";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      out->push_back(c);
    }
  }
}

// `name{a="x",b="y"}` (or `name` without labels), with an optional `le` label last.
void AppendSeries(std::string_view name, std::string_view suffix,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values, const std::string* le,
                  std::string* out) {
  *out += name;
  *out += suffix;
  if (label_names.empty() && le == nullptr) return;
  out->push_back('{');
  for (size_t i = 0; i < label_names.size(); ++i) {
    if (i > 0) out->push_back(',');
    *out += label_names[i];
    *out += "=\"";
    AppendLabelValue(label_values[i], out);
    out->push_back('"');
  }
  if (le != nullptr) {
    if (!label_names.empty()) out->push_back(',');
    *out += "le=\"";
    *out += *le;
    out->push_back('"');
  }
  out->push_back('}');
}

std::string_view TypeName(detail::Kind kind) {
  switch (kind) {
    case detail::Kind::kCounter:
    case detail::Kind::kCounterFunction:
      return "counter";
    case detail::Kind::kGauge:
    case detail::Kind::kGaugeFunction:
      return "gauge";
    case detail::Kind::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// A family whose samples a callback returns at scrape time.
class CallbackFamily final : public detail::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, detail::Kind kind,
                 std::vector<std::string> label_names, std::function<std::vector<Sample>()> collect)
      : FamilyBase(std::move(name), std::move(help), kind, std::move(label_names)),
        collect_(std::move(collect)) {}

  void RenderSamples(std::string* out) const override {
    std::vector<Sample> samples = collect_();
    std::erase_if(
        samples, [this](const Sample& s) { return s.label_values.size() != label_names().size(); });
    for (Sample& s : samples) {
      for (std::string& v : s.label_values) SanitizeUtf8(&v);
    }
    std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
      return a.label_values < b.label_values;
    });
    for (const Sample& s : samples) {
      AppendSeries(name(), "", label_names(), s.label_values, nullptr, out);
      out->push_back(' ');
      AppendValue(s.value, out);
      out->push_back('\n');
    }
  }

 private:
  const std::function<std::vector<Sample>()> collect_;
};

}  // namespace

void Counter::Add(double v) {
  if (!(v > 0)) return;
  if (v < 9007199254740992.0 && v == std::trunc(v)) {  // an integer below 2^53: kept exactly
    Inc(static_cast<uint64_t>(v));
    return;
  }
  AtomicAddDouble(&fraction_bits_, v);
}

double Counter::Value() const {
  return static_cast<double>(count_.load(kRelaxed)) +
         std::bit_cast<double>(fraction_bits_.load(kRelaxed));
}

void Gauge::Add(double v) { AtomicAddDouble(&bits_, v); }

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_->size() + 1)) {}

void Histogram::Observe(double v) {
  const std::vector<double>& b = *bounds_;
  const size_t i = std::isnan(v)
                       ? b.size()
                       : static_cast<size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
  buckets_[i].fetch_add(1, kRelaxed);
  AtomicAddDouble(&sum_bits_, v);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot snapshot;
  const size_t n = bounds_->size() + 1;
  snapshot.cumulative.resize(n);
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    total += buckets_[i].load(kRelaxed);
    snapshot.cumulative[i] = total;
  }
  snapshot.count = total;
  snapshot.sum = std::bit_cast<double>(sum_bits_.load(kRelaxed));
  return snapshot;
}

std::vector<double> ExponentialBuckets(double start, double factor, size_t count) {
  if (!(start > 0) || !(factor > 1) || count == 0 || !std::isfinite(start) ||
      !std::isfinite(factor)) {
    throw std::logic_error("ExponentialBuckets needs start > 0, factor > 1 and count >= 1");
  }
  std::vector<double> bounds;
  bounds.reserve(count);
  double bound = start;
  for (size_t i = 0; i < count; ++i) {
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

namespace detail {

FamilyBase::FamilyBase(std::string name, std::string help, Kind kind,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      kind_(kind),
      label_names_(std::move(label_names)) {}

}  // namespace detail

template <typename T>
Family<T>::Family(std::string name, std::string help, detail::Kind kind,
                  std::vector<std::string> label_names, size_t max_children,
                  std::shared_ptr<const std::vector<double>> bounds)
    : FamilyBase(std::move(name), std::move(help), kind, std::move(label_names)),
      max_children_(max_children),
      bounds_(std::move(bounds)) {
  if (this->label_names().empty()) With({});  // renders its zero from the start
}

template <typename T>
T& Family<T>::With(std::vector<std::string> label_values) {
  if (label_values.size() != label_names().size()) {
    Fail(name(), std::to_string(label_names().size()) + " label values expected, got " +
                     std::to_string(label_values.size()));
  }
  for (std::string& v : label_values) SanitizeUtf8(&v);
  std::lock_guard lock(mu_);
  auto it = children_.find(label_values);
  if (it != children_.end()) return *it->second;
  if (children_.size() >= max_children_) {
    label_values.assign(label_values.size(), "other");
    it = children_.find(label_values);
    if (it != children_.end()) return *it->second;
  }
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<T>();
  }
  T& ref = *child;
  children_.emplace(std::move(label_values), std::move(child));
  return ref;
}

template <typename T>
size_t Family<T>::size() const {
  std::lock_guard lock(mu_);
  return children_.size();
}

template <typename T>
const std::vector<double>& Family<T>::bounds() const {
  static const std::vector<double> kNone;
  return bounds_ ? *bounds_ : kNone;
}

template <typename T>
void Family<T>::RenderSamples(std::string* out) const {
  // Children and their keys are never removed or moved: render them outside the lock.
  std::vector<std::pair<const std::vector<std::string>*, const T*>> children;
  {
    std::lock_guard lock(mu_);
    children.reserve(children_.size());
    for (const auto& [labels, child] : children_) children.emplace_back(&labels, child.get());
  }
  for (const auto& [labels, child] : children) {
    if constexpr (std::is_same_v<T, Histogram>) {
      const Histogram::Snapshot s = child->Collect();
      std::string le;
      for (size_t i = 0; i < s.cumulative.size(); ++i) {
        le.clear();
        if (i < bounds_->size()) {
          AppendValue((*bounds_)[i], &le);
        } else {
          le = "+Inf";
        }
        AppendSeries(name(), "_bucket", label_names(), *labels, &le, out);
        out->push_back(' ');
        AppendUint(s.cumulative[i], out);
        out->push_back('\n');
      }
      AppendSeries(name(), "_sum", label_names(), *labels, nullptr, out);
      out->push_back(' ');
      AppendValue(s.sum, out);
      out->push_back('\n');
      AppendSeries(name(), "_count", label_names(), *labels, nullptr, out);
      out->push_back(' ');
      AppendUint(s.count, out);
      out->push_back('\n');
    } else {
      AppendSeries(name(), "", label_names(), *labels, nullptr, out);
      out->push_back(' ');
      if constexpr (std::is_same_v<T, Counter>) {
        const uint64_t fraction_bits = child->fraction_bits_.load(kRelaxed);
        if (fraction_bits == 0) {
          AppendUint(child->count_.load(kRelaxed), out);
        } else {
          AppendValue(child->Value(), out);
        }
      } else {
        AppendValue(child->Value(), out);
      }
      out->push_back('\n');
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Registry(size_t max_children_per_family) : max_children_(max_children_per_family) {}

Registry::~Registry() = default;

detail::FamilyBase& Registry::Register(std::string_view name, std::string_view help,
                                       detail::Kind kind, std::vector<std::string> label_names,
                                       std::vector<double> bounds,
                                       std::function<std::vector<Sample>()> collect) {
  using detail::Kind;
  if (!IsMetricName(name)) Fail(name, "invalid metric name");
  if (help.empty()) Fail(name, "help text required");
  for (size_t i = 0; i < label_names.size(); ++i) {
    if (!IsLabelName(label_names[i])) Fail(name, "invalid label name \"" + label_names[i] + "\"");
    if (kind == Kind::kHistogram && label_names[i] == "le") {
      Fail(name, "a histogram cannot have a label named \"le\"");
    }
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == label_names[i]) Fail(name, "label \"" + label_names[i] + "\" twice");
    }
  }
  if (kind == Kind::kHistogram) {
    if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
      bounds.pop_back();
    }
    for (size_t i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i])) Fail(name, "bucket bounds must be finite");
      if (i > 0 && !(bounds[i - 1] < bounds[i])) {
        Fail(name, "bucket bounds must be strictly increasing");
      }
    }
  }

  std::lock_guard lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    detail::FamilyBase& existing = *it->second;
    if (kind == Kind::kCounterFunction || kind == Kind::kGaugeFunction) {
      Fail(name, "a callback family is registered once");
    }
    if (existing.kind() != kind) Fail(name, "registered before with another type");
    if (existing.label_names() != label_names) {
      Fail(name, "registered before with other label names");
    }
    if (kind == Kind::kHistogram &&
        static_cast<const HistogramFamily&>(existing).bounds() != bounds) {
      Fail(name, "registered before with other bucket bounds");
    }
    return existing;
  }
  // A histogram's series are name_bucket, name_sum and name_count: no other family may use them.
  for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (kind == Kind::kHistogram && families_.contains(std::string(name) + std::string(suffix))) {
      Fail(name, "clashes with the family " + std::string(name) + std::string(suffix));
    }
    if (name.ends_with(suffix)) {
      const auto stem = families_.find(name.substr(0, name.size() - suffix.size()));
      if (stem != families_.end() && stem->second->kind() == Kind::kHistogram) {
        Fail(name, "clashes with the series of the histogram " + stem->first);
      }
    }
  }

  std::string help_text(help);
  SanitizeUtf8(&help_text);
  std::unique_ptr<detail::FamilyBase> family;
  switch (kind) {
    case Kind::kCounter:
      family = std::make_unique<CounterFamily>(std::string(name), std::move(help_text), kind,
                                               std::move(label_names), max_children_, nullptr);
      break;
    case Kind::kGauge:
      family = std::make_unique<GaugeFamily>(std::string(name), std::move(help_text), kind,
                                             std::move(label_names), max_children_, nullptr);
      break;
    case Kind::kHistogram:
      family = std::make_unique<HistogramFamily>(
          std::string(name), std::move(help_text), kind, std::move(label_names), max_children_,
          std::make_shared<const std::vector<double>>(std::move(bounds)));
      break;
    case Kind::kCounterFunction:
    case Kind::kGaugeFunction:
      if (!collect) Fail(name, "no callback");
      family = std::make_unique<CallbackFamily>(std::string(name), std::move(help_text), kind,
                                                std::move(label_names), std::move(collect));
      break;
  }
  detail::FamilyBase& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

CounterFamily& Registry::Counter(std::string_view name, std::string_view help,
                                 std::vector<std::string> label_names) {
  return static_cast<CounterFamily&>(
      Register(name, help, detail::Kind::kCounter, std::move(label_names), {}, nullptr));
}

GaugeFamily& Registry::Gauge(std::string_view name, std::string_view help,
                             std::vector<std::string> label_names) {
  return static_cast<GaugeFamily&>(
      Register(name, help, detail::Kind::kGauge, std::move(label_names), {}, nullptr));
}

HistogramFamily& Registry::Histogram(std::string_view name, std::string_view help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bounds) {
  return static_cast<HistogramFamily&>(Register(
      name, help, detail::Kind::kHistogram, std::move(label_names), std::move(bounds), nullptr));
}

void Registry::GaugeFunction(std::string_view name, std::string_view help,
                             std::vector<std::string> label_names,
                             std::function<std::vector<Sample>()> collect) {
  Register(name, help, detail::Kind::kGaugeFunction, std::move(label_names), {},
           std::move(collect));
}

void Registry::CounterFunction(std::string_view name, std::string_view help,
                               std::vector<std::string> label_names,
                               std::function<std::vector<Sample>()> collect) {
  Register(name, help, detail::Kind::kCounterFunction, std::move(label_names), {},
           std::move(collect));
}

std::string Registry::Render() const {
  // Families are never removed: render them outside the registry's lock, so callbacks may take
  // their own locks without ordering constraints against registration.
  std::vector<const detail::FamilyBase*> families;
  {
    std::lock_guard lock(mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  std::string out;
  std::string samples;
  for (const detail::FamilyBase* family : families) {
    samples.clear();
    family->RenderSamples(&samples);
    if (samples.empty()) continue;
    out += "# HELP ";
    out += family->name();
    out.push_back(' ');
    AppendHelp(family->help(), &out);
    out += "\n# TYPE ";
    out += family->name();
    out.push_back(' ');
    out += TypeName(family->kind());
    out.push_back('\n');
    out += samples;
  }
  return out;
}

}  // namespace ca::metrics
