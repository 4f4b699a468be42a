#include "query/buckets.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include "base/time_zone.h"

namespace ca::query {
namespace {

using Seconds = cctz::time_point<cctz::seconds>;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Seconds ToSeconds(int64_t ms) { return Seconds(cctz::seconds(FloorDiv(ms, 1000))); }

int64_t ToMillis(Seconds s) { return static_cast<int64_t>(s.time_since_epoch().count()) * 1000; }

Result<cctz::time_zone> LoadZone(const std::string& name) {
  cctz::time_zone tz;
  if (!LoadTimeZone(name, &tz)) {
    return Status(ErrorCode::kInvalidQuery, "unknown time zone \"" + name + "\"");
  }
  return tz;
}

/// Walks the interval's civil units (hours, days, Mondays, months) of a zone and yields the
/// instants at which they start.
class UnitWalker {
 public:
  UnitWalker(const cctz::time_zone& tz, Interval interval) : tz_(tz), interval_(interval) {}

  /// The civil start of the unit containing local time `cs`.
  cctz::civil_second Floor(const cctz::civil_second& cs) const {
    switch (interval_) {
      case Interval::kHour:
        return cctz::civil_hour(cs);
      case Interval::kDay:
        return cctz::civil_day(cs);
      case Interval::kWeek: {
        cctz::civil_day d(cs);
        // cctz::weekday counts from Monday = 0.
        return d - static_cast<int>(cctz::get_weekday(d));
      }
      case Interval::kMonth:
        return cctz::civil_month(cs);
    }
    return cs;
  }

  cctz::civil_second Step(const cctz::civil_second& unit, int n) const {
    switch (interval_) {
      case Interval::kHour:
        return cctz::civil_hour(unit) + n;
      case Interval::kDay:
        return cctz::civil_day(unit) + n;
      case Interval::kWeek:
        return cctz::civil_day(unit) + 7 * n;
      case Interval::kMonth:
        return cctz::civil_month(unit) + n;
    }
    return unit;
  }

  /// The instants at which local time reads `unit`'s start, ascending. A skipped start (a
  /// transition jumps over it) begins at the transition. A repeated start counts once (its first
  /// occurrence) except for hours, where both occurrences are hour starts.
  void Starts(const cctz::civil_second& unit, std::vector<int64_t>* out) const {
    out->clear();
    cctz::time_zone::civil_lookup cl = tz_.lookup(unit);
    switch (cl.kind) {
      case cctz::time_zone::civil_lookup::UNIQUE:
        out->push_back(ToMillis(cl.pre));
        break;
      case cctz::time_zone::civil_lookup::SKIPPED:
        out->push_back(ToMillis(cl.trans));
        break;
      case cctz::time_zone::civil_lookup::REPEATED:
        out->push_back(ToMillis(cl.pre));
        if (interval_ == Interval::kHour) out->push_back(ToMillis(cl.post));
        break;
    }
  }

  /// The largest bucket boundary <= t.
  Result<int64_t> FloorInstant(int64_t t) const {
    cctz::civil_second unit = Floor(cctz::convert(ToSeconds(t), tz_));
    std::vector<int64_t> starts;
    for (int back = 0; back < 4; ++back) {
      Starts(Step(unit, -back), &starts);
      for (auto it = starts.rbegin(); it != starts.rend(); ++it) {
        if (*it <= t) return *it;
      }
    }
    return Status(ErrorCode::kInternal, "no bucket boundary before " + std::to_string(t));
  }

  /// The smallest bucket boundary > t.
  Result<int64_t> NextInstant(int64_t t) const {
    cctz::civil_second unit = Floor(cctz::convert(ToSeconds(t), tz_));
    std::vector<int64_t> starts;
    for (int ahead = -1; ahead < 8; ++ahead) {
      Starts(Step(unit, ahead), &starts);
      for (int64_t s : starts) {
        if (s > t) return s;
      }
    }
    return Status(ErrorCode::kInternal, "no bucket boundary after " + std::to_string(t));
  }

 private:
  const cctz::time_zone& tz_;
  Interval interval_;
};

Status TooMany(size_t max_buckets) {
  return Status(ErrorCode::kRangeTooLarge,
                "more than " + std::to_string(max_buckets) + " buckets in the range");
}

}  // namespace

Result<Buckets> Buckets::Make(int64_t from_ms, int64_t to_ms, Interval interval,
                              const std::string& timezone, size_t max_buckets) {
  if (to_ms <= from_ms) return Status(ErrorCode::kInvalidQuery, "to must be after from");
  CA_ASSIGN_OR_RETURN(cctz::time_zone tz, LoadZone(timezone));
  UnitWalker walker(tz, interval);
  Buckets b;
  b.interval_ = interval;
  b.timezone_ = timezone;
  CA_ASSIGN_OR_RETURN(int64_t start, walker.FloorInstant(from_ms));
  b.starts_.push_back(start);
  while (true) {
    CA_ASSIGN_OR_RETURN(int64_t next, walker.NextInstant(b.starts_.back()));
    if (next > to_ms - 1) {
      b.last_end_ = next;
      break;
    }
    if (b.starts_.size() >= max_buckets) return TooMany(max_buckets);
    b.starts_.push_back(next);
  }
  return b;
}

Status Buckets::Extend(size_t n, size_t max_buckets) {
  if (n == 0) return Status::Ok();
  if (starts_.size() + n > max_buckets) return TooMany(max_buckets);
  CA_ASSIGN_OR_RETURN(cctz::time_zone tz, LoadZone(timezone_));
  UnitWalker walker(tz, interval_);
  for (size_t i = 0; i < n; ++i) {
    CA_ASSIGN_OR_RETURN(int64_t next, walker.NextInstant(last_end_));
    starts_.push_back(last_end_);
    last_end_ = next;
  }
  return Status::Ok();
}

int64_t Buckets::IndexOf(int64_t ts_ms) const {
  if (starts_.empty() || ts_ms < starts_.front() || ts_ms >= last_end_) return -1;
  auto it = std::upper_bound(starts_.begin(), starts_.end(), ts_ms);
  return static_cast<int64_t>(it - starts_.begin()) - 1;
}

std::string Buckets::Label(size_t i) const {
  auto tz = LoadZone(timezone_);
  if (!tz.ok()) return "";
  Seconds tp = ToSeconds(starts_[i]);
  cctz::civil_second cs = cctz::convert(tp, *tz);
  int offset = tz->lookup(tp).offset;
  char sign = offset < 0 ? '-' : '+';
  int abs_offset = offset < 0 ? -offset : offset;
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
                        static_cast<long long>(cs.year()), cs.month(), cs.day(), cs.hour(),
                        cs.minute(), cs.second(), sign, abs_offset / 3600, (abs_offset / 60) % 60);
  std::string out(buf, static_cast<size_t>(n));
  if (abs_offset % 60 != 0) {
    std::snprintf(buf, sizeof(buf), ":%02d", abs_offset % 60);
    out += buf;
  }
  return out;
}

}  // namespace ca::query
