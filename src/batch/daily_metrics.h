#pragma once

#include <string_view>

#include "event/event.h"
#include "state/state_store.h"

namespace ca::batch {

/// Adds to `m` what one event contributes to its user's day in `daily_user_metrics`
/// (docs/rollups.md): `type` is the event type, `status` its properties.status, `seconds` the
/// time a time_spent event reports (the store's value column: properties.value, else
/// properties.seconds; NaN when absent). The counts match GET /analytics/metrics. Returns false
/// when the event counts for nothing.
bool CountEvent(std::string_view type, std::string_view status, double seconds,
                state::UserDayMetrics* m);

/// CountEvent for a decoded event (reads status and seconds from its properties).
bool CountEvent(const event::Event& e, state::UserDayMetrics* m);

/// The UTC day (days since 1970-01-01) of epoch milliseconds `ms`.
int64_t UtcDay(int64_t ms);

}  // namespace ca::batch
