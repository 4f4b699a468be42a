#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ca::realtime {

/// One tenant's figures at a moment (`WindowCounters::Snapshot`).
struct WindowSnapshot {
  int64_t now_ms = 0;
  /// Events per second over the last `kRateSeconds` whole seconds.
  double events_per_second = 0;
  /// Events in the last 60 seconds (the current second included).
  uint64_t events_last_minute = 0;
  /// Events per second of the last 60 seconds, oldest first; the last entry is the current,
  /// still running second.
  std::vector<uint64_t> per_second;
  /// Distinct users (by user id) with an event in the last 5 minutes. A lower bound when
  /// `active_users_capped` (more users than the tracked set holds).
  uint64_t active_users = 0;
  bool active_users_capped = false;
  /// Events by type in the last 60 seconds, most frequent first (at most `max_types` types; the
  /// rest are counted under "other").
  std::vector<std::pair<std::string, uint64_t>> types_last_minute;
};

/// Per-tenant sliding windows over the events the server receives: events per second (60
/// one-second buckets), events by type over the last minute, and users active in the last five
/// minutes. Time is the caller's clock (receive time), not the events' own timestamps: the
/// windows say what arrives now.
///
/// Memory is bounded: per tenant 60 buckets, at most `max_types` per-type rings, and at most
/// `max_users` tracked users. Users are tracked exactly (a 64-bit hash of the id and the time
/// last seen) rather than approximately: dashboards show small numbers that must be right; past
/// the cap new users are not tracked until old ones expire, and the count is flagged as a lower
/// bound. At most `max_tenants` tenants are tracked (more are ignored).
///
/// Thread-safe: one mutex; `Record` is a few hash-map operations.
class WindowCounters {
 public:
  struct Options {
    size_t max_users = 100'000;
    size_t max_types = 64;
    size_t max_tenants = 10'000;
    int64_t active_window_ms = 5 * 60 * 1000;
  };
  static constexpr int kSeconds = 60;
  static constexpr int kRateSeconds = 10;

  WindowCounters() : WindowCounters(Options()) {}
  explicit WindowCounters(Options options);
  ~WindowCounters();
  WindowCounters(const WindowCounters&) = delete;
  WindowCounters& operator=(const WindowCounters&) = delete;

  /// Counts one event of `type` by `user_id` (empty: anonymous, not an active user) at `now_ms`.
  void Record(std::string_view tenant, std::string_view type, std::string_view user_id,
              int64_t now_ms);
  /// `tenant`'s figures at `now_ms` (zeros for a tenant without events). Also forgets users
  /// older than the active window.
  WindowSnapshot Snapshot(std::string_view tenant, int64_t now_ms);

 private:
  struct Tenant;

  const Options options_;
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Tenant>> tenants_;  // guarded by mu_
};

}  // namespace ca::realtime
