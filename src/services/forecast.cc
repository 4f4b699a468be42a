#include "services/forecast.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace ca::services {
namespace {

/// The standard normal quantile at p in (0, 1): P. J. Acklam's rational approximation (relative
/// error below 1.2e-9), plenty for interval widths.
double NormalQuantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  auto tail = [&](double q) {
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  };
  if (p < kLow) return tail(std::sqrt(-2 * std::log(p)));
  if (p > 1 - kLow) return -tail(std::sqrt(-2 * std::log(1 - p)));
  const double q = p - 0.5;
  const double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/// Holt's method on an evenly spaced series.
struct HoltFit {
  double alpha = 0;
  double beta = 0;
  double level = 0;   ///< the final level
  double trend = 0;   ///< the final trend per step
  double sse = 0;     ///< sum of squared one-step-ahead errors
  size_t errors = 0;  ///< how many one-step-ahead errors `sse` sums
};

/// Runs Holt's recursions on `y` (at least 2 points): level l0 = y0, trend b0 = the mean of the
/// first (up to) 3 differences; for t >= 1, the forecast l + b is compared with y[t], then
/// l' = a*y + (1-a)(l+b), b' = B(l'-l) + (1-B)b.
HoltFit RunHolt(const std::vector<double>& y, double alpha, double beta) {
  const size_t k = std::min<size_t>(y.size() - 1, 3);
  HoltFit fit{alpha, beta, y[0], (y[k] - y[0]) / static_cast<double>(k), 0, 0};
  for (size_t t = 1; t < y.size(); ++t) {
    const double predicted = fit.level + fit.trend;
    const double error = y[t] - predicted;
    fit.sse += error * error;
    ++fit.errors;
    const double level = alpha * y[t] + (1 - alpha) * predicted;
    fit.trend = beta * (level - fit.level) + (1 - beta) * fit.trend;
    fit.level = level;
  }
  return fit;
}

/// The Holt fit with the smallest one-step SSE over a small grid of (alpha, beta); the first
/// (smallest parameters) wins ties.
HoltFit FitHolt(const std::vector<double>& y) {
  static constexpr double kBetas[] = {0.01, 0.02, 0.05, 0.1, 0.15, 0.2,
                                      0.3,  0.4,  0.5,  0.6, 0.8,  1.0};
  HoltFit best;
  bool have = false;
  for (int i = 1; i <= 20; ++i) {
    const double alpha = i / 20.0;
    for (const double beta : kBetas) {
      HoltFit fit = RunHolt(y, alpha, beta);
      if (!have || fit.sse < best.sse) {
        best = fit;
        have = true;
      }
    }
  }
  return best;
}

/// The lower median of the (positive) spacings of `days`; 1 for a single day.
int64_t MedianStep(std::span<const std::pair<int64_t, double>> history) {
  if (history.size() < 2) return 1;
  std::vector<int64_t> steps;
  steps.reserve(history.size() - 1);
  for (size_t i = 1; i < history.size(); ++i) {
    steps.push_back(history[i].first - history[i - 1].first);
  }
  const auto mid = steps.begin() + static_cast<std::ptrdiff_t>((steps.size() - 1) / 2);
  std::nth_element(steps.begin(), mid, steps.end());
  return *mid;
}

/// The history's values on the grid last - k * step (k >= 0) covering it, linearly interpolated.
/// Evenly spaced histories are returned as they are, and so are those whose grid would be longer
/// than 4n + 100 points (a few far outliers in spacing).
std::vector<double> OnGrid(std::span<const std::pair<int64_t, double>> history, int64_t step) {
  std::vector<double> y;
  const int64_t first = history.front().first;
  const int64_t last = history.back().first;
  bool regular = true;
  for (size_t i = 1; i < history.size(); ++i) {
    regular = regular && history[i].first - history[i - 1].first == step;
  }
  const int64_t grid_points = (last - first) / step + 1;
  if (regular || grid_points > static_cast<int64_t>(4 * history.size() + 100)) {
    for (const auto& point : history) y.push_back(point.second);
    return y;
  }
  y.reserve(static_cast<size_t>(grid_points));
  size_t i = 0;  // history[i].first <= day < history[i + 1].first
  for (int64_t k = grid_points - 1; k >= 0; --k) {
    const int64_t day = last - k * step;
    while (i + 1 < history.size() && history[i + 1].first <= day) ++i;
    if (i + 1 == history.size()) {
      y.push_back(history[i].second);
      continue;
    }
    const auto& [d0, v0] = history[i];
    const auto& [d1, v1] = history[i + 1];
    const double f = static_cast<double>(day - d0) / static_cast<double>(d1 - d0);
    y.push_back(v0 + (v1 - v0) * f);
  }
  return y;
}

}  // namespace

Result<Forecast> ForecastSeries(std::span<const std::pair<int64_t, double>> history, int horizon,
                                double level) {
  if (history.empty()) return InvalidArgument("forecast: empty history");
  if (horizon < 1 || horizon > kMaxForecastHorizon) {
    return InvalidArgument("forecast: horizon must be 1.." + std::to_string(kMaxForecastHorizon));
  }
  if (!(level > 0 && level < 1)) return InvalidArgument("forecast: level must be in (0, 1)");
  for (size_t i = 0; i < history.size(); ++i) {
    const auto& [day, value] = history[i];
    if (day < -kMaxForecastDay || day > kMaxForecastDay) {
      return InvalidArgument("forecast: day " + std::to_string(day) + " out of range");
    }
    if (!std::isfinite(value) || std::fabs(value) > kMaxForecastMagnitude) {
      return InvalidArgument("forecast: value at day " + std::to_string(day) +
                             " is not a finite number within +-1e100");
    }
    if (i > 0 && day <= history[i - 1].first) {
      return InvalidArgument("forecast: days must be strictly ascending");
    }
  }

  Forecast out;
  out.level = level;
  out.step_days = MedianStep(history);
  const double z = NormalQuantile(0.5 + level / 2);
  const int64_t last = history.back().first;
  const size_t n = history.size();

  if (n < kMinHoltPoints) {
    // The mean of iid normal values; a new value lies within z * s * sqrt(1 + 1/n) of it.
    double mean = 0;
    for (const auto& point : history) mean += point.second / static_cast<double>(n);
    double ss = 0;
    for (const auto& point : history) ss += (point.second - mean) * (point.second - mean);
    out.method = "mean";
    out.residual_stddev = n > 1 ? std::sqrt(ss / static_cast<double>(n - 1)) : 0;
    const double half = z * out.residual_stddev * std::sqrt(1 + 1 / static_cast<double>(n));
    for (int h = 1; h <= horizon; ++h) {
      out.points.push_back({last + h * out.step_days, mean, mean - half, mean + half});
    }
    return out;
  }

  const std::vector<double> y = OnGrid(history, out.step_days);
  const HoltFit fit = FitHolt(y);
  out.method = "holt";
  out.alpha = fit.alpha;
  out.beta = fit.beta;
  // Two parameters were fitted to the errors: their variance with n - 2 degrees of freedom.
  const double variance = fit.sse / static_cast<double>(std::max<size_t>(fit.errors, 3) - 2);
  out.residual_stddev = std::sqrt(variance);
  // Holt's h-step forecast variance (Hyndman et al., "Forecasting with Exponential Smoothing",
  // ETS(A,A,N) with beta* = alpha * beta): sigma^2 [1 + (h-1)(a^2 + a b* h + b*^2 h(2h-1)/6)].
  const double a = fit.alpha;
  const double bs = fit.alpha * fit.beta;
  for (int h = 1; h <= horizon; ++h) {
    const double hd = h;
    const double factor = 1 + (hd - 1) * (a * a + a * bs * hd + bs * bs * hd * (2 * hd - 1) / 6);
    const double half = z * std::sqrt(variance * factor);
    const double value = fit.level + hd * fit.trend;
    out.points.push_back({last + h * out.step_days, value, value - half, value + half});
  }
  return out;
}

std::optional<double> ChangePercent(double from, double to) {
  if (!std::isfinite(from) || !std::isfinite(to) || from == 0) return std::nullopt;
  const double change = (to - from) / std::fabs(from) * 100;
  if (!std::isfinite(change)) return std::nullopt;
  return change;
}

}  // namespace ca::services
