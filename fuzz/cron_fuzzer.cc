// libFuzzer target for cron expressions (batch/cron.h): CronSchedule::Parse on arbitrary bytes,
// the first line being the expression and the second the time zone name (none: "UTC"). When it
// parses, NextAfter is called from a few instants and the results are checked: strictly later,
// within the search bound, increasing along a chain; the normalised expression parses again to a
// schedule with the same next runs.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "batch/cron.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

// Instants to start from: the epoch, a spring-forward day in Europe, a fall-back day in North
// America, a leap day, before 1970, and the end of the supported range.
constexpr int64_t kStarts[] = {0,
                               1'711'846'800'000,
                               1'730'613'600'000,
                               1'709'164'800'000,
                               -1'000'000'000'000,
                               253'402'300'000'000};
// More than ten years (CronSchedule::kSearchYears) in milliseconds, with leap days.
constexpr int64_t kSearchBoundMs = int64_t{3'654} * 86'400'000 + 86'400'000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view expression = input.substr(0, newline);
  std::string_view zone = "UTC";
  if (newline != std::string_view::npos) {
    zone = input.substr(newline + 1);
    zone = zone.substr(0, zone.find('\n'));
  }

  ca::Result<ca::batch::CronSchedule> schedule = ca::batch::CronSchedule::Parse(expression, zone);
  if (!schedule.ok()) {
    Check(schedule.status().code() == ca::ErrorCode::kInvalidArgument,
          "errors are invalid_argument");
    Check(!schedule.status().message().empty(), "errors have a message");
    return 0;
  }
  const ca::Result<ca::batch::CronSchedule> again =
      ca::batch::CronSchedule::Parse(schedule->expression(), schedule->time_zone());
  Check(again.ok(), "the normalised expression parses");
  Check(again->expression() == schedule->expression(), "normalising is stable");

  for (const int64_t start : kStarts) {
    std::optional<int64_t> t = start;
    for (int i = 0; i < 4 && t; ++i) {
      const std::optional<int64_t> next = schedule->NextAfter(*t);
      Check(next == again->NextAfter(*t), "the normalised expression has the same runs");
      if (next) {
        Check(*next > *t, "strictly after");
        Check(*next - *t <= kSearchBoundMs, "within the search bound");
        Check(*next % 1000 == 0, "whole seconds");
      }
      t = next;
    }
  }
  return 0;
}
