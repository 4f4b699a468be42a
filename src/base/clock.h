#pragma once

#include <chrono>
#include <cstdint>

namespace ca {

/// Milliseconds since the Unix epoch, UTC (wall clock).
inline int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A monotonic timestamp in nanoseconds, for measuring durations.
inline int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace ca
