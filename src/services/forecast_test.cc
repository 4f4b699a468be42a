#include "services/forecast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace ca::services {
namespace {

using Series = std::vector<std::pair<int64_t, double>>;

Series Line(int n, double intercept, double slope, int64_t first_day = 19700, int64_t step = 1) {
  Series s;
  for (int i = 0; i < n; ++i) s.emplace_back(first_day + i * step, intercept + slope * i);
  return s;
}

ErrorCode Error(const Series& s, int horizon, double level = 0.8) {
  return ForecastSeries(s, horizon, level).status().code();
}

TEST(ForecastTest, StraightLineIsExtrapolatedExactly) {
  const Series s = Line(20, 100, 2.5, 19700, 7);
  const Result<Forecast> f = ForecastSeries(s, 5);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->method, "holt");
  EXPECT_EQ(f->step_days, 7);
  EXPECT_EQ(f->level, 0.8);
  ASSERT_EQ(f->points.size(), 5u);
  for (int h = 1; h <= 5; ++h) {
    const ForecastPoint& p = f->points[h - 1];
    EXPECT_EQ(p.day, 19700 + (19 + h) * 7);
    EXPECT_NEAR(p.value, 100 + 2.5 * (19 + h), 1e-9);
    EXPECT_LE(p.upper - p.lower, 1e-6);
    EXPECT_LE(p.lower, p.value);
    EXPECT_GE(p.upper, p.value);
  }
}

TEST(ForecastTest, ConstantSeriesForecastsTheConstant) {
  const Result<Forecast> f = ForecastSeries(Line(10, 42, 0), 3);
  ASSERT_TRUE(f.ok());
  for (const ForecastPoint& p : f->points) {
    EXPECT_DOUBLE_EQ(p.value, 42);
    EXPECT_DOUBLE_EQ(p.lower, 42);
    EXPECT_DOUBLE_EQ(p.upper, 42);
  }
  EXPECT_EQ(f->residual_stddev, 0);
}

TEST(ForecastTest, NoisyLineNextValueFallsInTheIntervalMostOfTheTime) {
  std::mt19937_64 rng(20240601);
  std::normal_distribution<double> noise(0, 5);
  constexpr int kTrials = 200;
  constexpr int kPoints = 30;
  int covered = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    Series s;
    for (int i = 0; i < kPoints; ++i) s.emplace_back(i, 1000 + 3 * i + noise(rng));
    const double truth = 1000 + 3 * kPoints + noise(rng);
    const Result<Forecast> f = ForecastSeries(s, 1, 0.8);
    ASSERT_TRUE(f.ok());
    const ForecastPoint& p = f->points[0];
    if (truth >= p.lower && truth <= p.upper) ++covered;
  }
  EXPECT_GE(covered, kTrials * 70 / 100) << covered << " of " << kTrials;
  EXPECT_LE(covered, kTrials * 95 / 100) << "intervals far too wide: " << covered;
}

TEST(ForecastTest, IntervalWidensWithHorizon) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 10);
  Series s;
  for (int i = 0; i < 40; ++i) s.emplace_back(i, 500 + 2 * i + noise(rng));
  const Result<Forecast> f = ForecastSeries(s, 30);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->points.size(), 30u);
  EXPECT_GT(f->residual_stddev, 0);
  for (size_t h = 1; h < f->points.size(); ++h) {
    EXPECT_GT(f->points[h].upper - f->points[h].lower,
              f->points[h - 1].upper - f->points[h - 1].lower);
  }
  EXPECT_GT(f->alpha, 0);
  EXPECT_LE(f->alpha, 1);
  EXPECT_GT(f->beta, 0);
  EXPECT_LE(f->beta, 1);
}

TEST(ForecastTest, WiderLevelWiderInterval) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0, 3);
  Series s;
  for (int i = 0; i < 20; ++i) s.emplace_back(i, 50 + noise(rng));
  const Result<Forecast> f80 = ForecastSeries(s, 1, 0.8);
  const Result<Forecast> f95 = ForecastSeries(s, 1, 0.95);
  ASSERT_TRUE(f80.ok() && f95.ok());
  const double w80 = f80->points[0].upper - f80->points[0].lower;
  const double w95 = f95->points[0].upper - f95->points[0].lower;
  // z(0.975) / z(0.9) = 1.95996 / 1.28155.
  EXPECT_NEAR(w95 / w80, 1.959964 / 1.281552, 1e-4);
}

TEST(ForecastTest, IrregularStepsUseTheMedianStep) {
  // Weekly data with two missing weeks and one extra mid-week point, on a straight line.
  Series s;
  for (int64_t day : {0, 7, 14, 28, 35, 38, 42, 56, 63}) s.emplace_back(1000 + day, 10 + day);
  const Result<Forecast> f = ForecastSeries(s, 4);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->step_days, 7);
  EXPECT_EQ(f->method, "holt");
  for (int h = 1; h <= 4; ++h) {
    EXPECT_EQ(f->points[h - 1].day, 1063 + 7 * h);
    EXPECT_NEAR(f->points[h - 1].value, 10 + 63 + 7 * h, 1e-9);
  }
}

TEST(ForecastTest, FarOutlyingGapTakesPointsAsEvenlySpaced) {
  // A 10^6-day gap would make a huge grid: the points are used as they are.
  Series s = Line(6, 1, 1);
  s.emplace_back(s.back().first + 1'000'000, 7);
  const Result<Forecast> f = ForecastSeries(s, 2);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->step_days, 1);
  EXPECT_NEAR(f->points[0].value, 8, 1e-9);
  EXPECT_EQ(f->points[0].day, s.back().first + 1);
}

TEST(ForecastTest, FewPointsGiveAFlatMeanForecast) {
  const Result<Forecast> one = ForecastSeries(Series{{100, 5}}, 3);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->method, "mean");
  EXPECT_EQ(one->step_days, 1);
  ASSERT_EQ(one->points.size(), 3u);
  EXPECT_EQ(one->points[2], (ForecastPoint{103, 5, 5, 5}));

  const Result<Forecast> three = ForecastSeries(Series{{0, 10}, {7, 20}, {21, 30}}, 2);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->method, "mean");
  EXPECT_EQ(three->step_days, 7);
  EXPECT_DOUBLE_EQ(three->points[0].value, 20);
  EXPECT_EQ(three->points[1].day, 35);
  // stdev 10, half width z(0.9) * 10 * sqrt(1 + 1/3).
  EXPECT_NEAR(three->points[0].upper - 20, 1.281552 * 10 * std::sqrt(4.0 / 3), 1e-4);
  EXPECT_NEAR(20 - three->points[0].lower, three->points[0].upper - 20, 1e-9);

  const Result<Forecast> four = ForecastSeries(Line(4, 1, 1), 1);
  ASSERT_TRUE(four.ok());
  EXPECT_EQ(four->method, "holt");
  EXPECT_NEAR(four->points[0].value, 5, 1e-9);
}

TEST(ForecastTest, Errors) {
  EXPECT_EQ(Error({}, 1), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(Line(5, 1, 1), 0), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(Line(5, 1, 1), 91), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(ForecastSeries(Line(5, 1, 1), 90).ok());
  EXPECT_EQ(Error(Line(5, 1, 1), 1, 0), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(Line(5, 1, 1), 1, 1), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(Line(5, 1, 1), 1, std::nan("")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(Series{{2, 1}, {1, 2}, {3, 3}, {4, 4}}, 1), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(Series{{1, 1}, {1, 2}}, 1), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(Series{{1, 1}, {2, std::nan("")}}, 1), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(Series{{1, std::numeric_limits<double>::infinity()}}, 1),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(Series{{1, 1e101}}, 1), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error(Series{{std::numeric_limits<int64_t>::max(), 1}}, 1),
            ErrorCode::kInvalidArgument);
}

TEST(ForecastTest, ExtremeInputsStayFinite) {
  const Series s = {{-kMaxForecastDay, -1e100}, {0, 1e100}, {1, -1e100}, {kMaxForecastDay, 1e100}};
  const Result<Forecast> f = ForecastSeries(s, kMaxForecastHorizon, 0.99);
  ASSERT_TRUE(f.ok());
  for (const ForecastPoint& p : f->points) {
    EXPECT_TRUE(std::isfinite(p.value) && std::isfinite(p.lower) && std::isfinite(p.upper));
    EXPECT_LE(p.lower, p.value);
    EXPECT_LE(p.value, p.upper);
  }
}

TEST(ChangePercentTest, Values) {
  EXPECT_EQ(ChangePercent(100, 125), 25.0);
  EXPECT_EQ(ChangePercent(200, 100), -50.0);
  EXPECT_EQ(ChangePercent(-10, -5), 50.0);
  EXPECT_EQ(ChangePercent(5, 5), 0.0);
  EXPECT_EQ(ChangePercent(0, 5), std::nullopt);
  EXPECT_EQ(ChangePercent(0, 0), std::nullopt);
  EXPECT_EQ(ChangePercent(std::nan(""), 1), std::nullopt);
  EXPECT_EQ(ChangePercent(1, std::numeric_limits<double>::infinity()), std::nullopt);
  EXPECT_EQ(ChangePercent(1e-320, 1e300), std::nullopt);
}

}  // namespace
}  // namespace ca::services
