#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace ca::services {

/// One forecast step.
struct ForecastPoint {
  int64_t day = 0;   ///< epoch day (or whatever unit the history's days are in)
  double value = 0;  ///< the point forecast
  double lower = 0;  ///< the prediction interval at Forecast::level; lower <= value <= upper
  double upper = 0;
  bool operator==(const ForecastPoint&) const = default;
};

/// A short forecast of a series with prediction intervals.
struct Forecast {
  std::vector<ForecastPoint> points;  ///< one per step, days ascending
  /// "holt" (Holt's linear exponential smoothing) or "mean" (too little history for a trend).
  std::string method;
  double level = 0.8;          ///< coverage of the intervals, in (0, 1)
  int64_t step_days = 1;       ///< the spacing of `points`: the median spacing of the history
  double alpha = 0;            ///< Holt's level smoothing parameter (0 for "mean")
  double beta = 0;             ///< Holt's trend smoothing parameter (0 for "mean")
  double residual_stddev = 0;  ///< of the one-step-ahead errors ("holt") or of the values ("mean")
};

/// Fewest points for the "holt" method; shorter histories get a flat "mean" forecast.
inline constexpr size_t kMinHoltPoints = 4;
inline constexpr int kMaxForecastHorizon = 90;
/// Bounds on the inputs that keep every computation finite.
inline constexpr int64_t kMaxForecastDay = 1'000'000'000;
inline constexpr double kMaxForecastMagnitude = 1e100;

/// Forecasts `horizon` steps after the last point of `history` ((day, value) pairs, days strictly
/// ascending, possibly irregular, e.g. weekly with gaps). Steps are the median spacing of the
/// history. Values are not clamped (a caller forecasting counts may clamp at 0).
///
/// With at least kMinHoltPoints points: Holt's linear method (level + trend), its parameters chosen
/// on a grid by the smallest sum of squared one-step-ahead errors; irregular histories are first
/// interpolated linearly onto the median-step grid ending at the last day (unless that grid would
/// be much longer than the history, in which case the points are taken as evenly spaced).
/// Intervals use Holt's forecast-variance formula with normal quantiles. With fewer points: the
/// mean, with the interval of one new observation around it (zero width for one point).
///
/// Errors: kInvalidArgument for an empty history, days not strictly ascending or beyond
/// +-kMaxForecastDay, values not finite or beyond +-kMaxForecastMagnitude, `horizon` outside
/// 1..kMaxForecastHorizon, `level` outside (0, 1). Pure and thread-safe.
Result<Forecast> ForecastSeries(std::span<const std::pair<int64_t, double>> history, int horizon,
                                double level = 0.8);

/// The change from `from` to `to` in percent of |from| (so a rise is positive also for negative
/// values): (to - from) / |from| * 100. nullopt when `from` is 0 or either input or the result is
/// not finite; never NaN.
std::optional<double> ChangePercent(double from, double to);

}  // namespace ca::services
