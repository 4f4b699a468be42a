#include "batch/daily_metrics.h"

#include <cmath>
#include <limits>
#include <optional>

#include "store/json_fields.h"

namespace ca::batch {

bool CountEvent(std::string_view type, std::string_view status, double seconds,
                state::UserDayMetrics* m) {
  if (type == "page_view") {
    ++m->page_views;
  } else if (type == "job_view") {
    ++m->job_views;
  } else if (type == "job_save") {
    ++m->saves;
  } else if (type == "job_apply") {
    ++m->applications;
  } else if (type == "application_status_changed") {
    // An employer's answer: any move past "applied" that the employer makes. Withdrawn and
    // ghosted are the job seeker's and the platform's words, not the employer's.
    if (status != "screening" && status != "interview" && status != "offer" &&
        status != "rejected") {
      return false;
    }
    ++m->responses;
  } else if (type == "interview_scheduled") {
    ++m->interviews;
  } else if (type == "offer_received") {
    ++m->offers;
  } else if (type == "time_spent") {
    if (!std::isfinite(seconds)) return false;
    m->seconds_spent += seconds;
  } else {
    return false;
  }
  return true;
}

bool CountEvent(const event::Event& e, state::UserDayMetrics* m) {
  std::string status;
  double seconds = std::numeric_limits<double>::quiet_NaN();
  if (e.type == "application_status_changed") {
    if (auto raw = store::FindMember(e.properties_json, "status")) {
      if (std::optional<std::string> s = store::AsString(*raw)) status = std::move(*s);
    }
  } else if (e.type == "time_spent") {
    // As the store's value column: properties.value, else properties.seconds.
    for (std::string_view key : {"value", "seconds"}) {
      auto raw = store::FindMember(e.properties_json, key);
      std::optional<double> v = raw ? store::AsNumber(*raw) : std::nullopt;
      if (v) {
        seconds = *v;
        break;
      }
    }
  }
  return CountEvent(e.type, status, seconds, m);
}

int64_t UtcDay(int64_t ms) {
  constexpr int64_t kDayMs = 24LL * 3600 * 1000;
  return ms >= 0 ? ms / kDayMs : -((-ms + kDayMs - 1) / kDayMs);
}

}  // namespace ca::batch
