#include "realtime/window_counters.h"

#include <algorithm>
#include <cstdint>
#include <functional>

namespace ca::realtime {
namespace {

constexpr const char* kOtherType = "other";

int64_t SecondOf(int64_t ms) { return ms >= 0 ? ms / 1000 : (ms - 999) / 1000; }

size_t SlotOf(int64_t sec) {
  constexpr int64_t n = WindowCounters::kSeconds;
  return static_cast<size_t>(((sec % n) + n) % n);
}

// Counts per second in a ring of `WindowCounters::kSeconds` buckets, each tagged with its second.
struct SecondRing {
  std::array<int64_t, WindowCounters::kSeconds> second{};
  std::array<uint64_t, WindowCounters::kSeconds> count{};

  SecondRing() { second.fill(INT64_MIN); }

  void Add(int64_t sec) {
    const size_t i = SlotOf(sec);
    if (second[i] != sec) {
      second[i] = sec;
      count[i] = 0;
    }
    ++count[i];
  }
  // The count of `sec` (0 when its bucket holds another second).
  uint64_t At(int64_t sec) const {
    const size_t i = SlotOf(sec);
    return second[i] == sec ? count[i] : 0;
  }
  uint64_t Sum(int64_t now_sec, int seconds) const {
    uint64_t total = 0;
    for (int k = 0; k < seconds; ++k) total += At(now_sec - k);
    return total;
  }
};

}  // namespace

struct WindowCounters::Tenant {
  SecondRing all;
  std::map<std::string, SecondRing, std::less<>> types;  // at most max_types, then "other"
  std::unordered_map<uint64_t, int64_t> users;           // hash of user id -> last seen ms
  int64_t refused_at_ms = INT64_MIN;  // when a user was last not tracked (the set was full)
  int64_t pruned_at_ms = INT64_MIN;

  void PruneUsers(int64_t now_ms, int64_t window_ms) {
    pruned_at_ms = now_ms;
    std::erase_if(users, [&](const auto& entry) { return entry.second <= now_ms - window_ms; });
  }
};

WindowCounters::WindowCounters(Options options) : options_(options) {}
WindowCounters::~WindowCounters() = default;

void WindowCounters::Record(std::string_view tenant, std::string_view type,
                            std::string_view user_id, int64_t now_ms) {
  const int64_t sec = SecondOf(now_ms);
  const uint64_t user_hash = user_id.empty() ? 0 : std::hash<std::string_view>()(user_id);
  std::lock_guard lock(mu_);
  auto it = tenants_.find(std::string(tenant));
  if (it == tenants_.end()) {
    if (tenants_.size() >= options_.max_tenants) return;
    it = tenants_.emplace(std::string(tenant), std::make_unique<Tenant>()).first;
  }
  Tenant& t = *it->second;
  t.all.Add(sec);
  auto type_it = t.types.find(type);
  if (type_it == t.types.end()) {
    const bool room = t.types.size() + 1 < options_.max_types;  // one place kept for "other"
    type_it = t.types.try_emplace(room ? std::string(type) : std::string(kOtherType)).first;
  }
  type_it->second.Add(sec);
  if (user_id.empty()) return;
  if (auto u = t.users.find(user_hash); u != t.users.end()) {
    u->second = now_ms;
    return;
  }
  if (t.users.size() >= options_.max_users &&
      (t.pruned_at_ms == INT64_MIN || now_ms - t.pruned_at_ms >= 1000)) {
    t.PruneUsers(now_ms, options_.active_window_ms);  // at most once a second when full
  }
  if (t.users.size() < options_.max_users) {
    t.users.emplace(user_hash, now_ms);
  } else {
    t.refused_at_ms = now_ms;
  }
}

WindowSnapshot WindowCounters::Snapshot(std::string_view tenant, int64_t now_ms) {
  WindowSnapshot s;
  s.now_ms = now_ms;
  s.per_second.assign(kSeconds, 0);
  const int64_t sec = SecondOf(now_ms);
  std::lock_guard lock(mu_);
  auto it = tenants_.find(std::string(tenant));
  if (it == tenants_.end()) return s;
  Tenant& t = *it->second;
  for (int k = 0; k < kSeconds; ++k)
    s.per_second[static_cast<size_t>(k)] = t.all.At(sec - (kSeconds - 1) + k);
  for (uint64_t n : s.per_second) s.events_last_minute += n;
  // Whole seconds only: the running one would make the rate dip at the start of every second.
  s.events_per_second = static_cast<double>(t.all.Sum(sec - 1, kRateSeconds)) / kRateSeconds;
  for (const auto& [type, ring] : t.types) {
    if (uint64_t n = ring.Sum(sec, kSeconds); n > 0) s.types_last_minute.emplace_back(type, n);
  }
  std::sort(s.types_last_minute.begin(), s.types_last_minute.end(),
            [](const auto& a, const auto& b) {
              return a.second != b.second ? a.second > b.second : a.first < b.first;
            });
  t.PruneUsers(now_ms, options_.active_window_ms);
  s.active_users = t.users.size();
  // A user left out within the window may still be active: the count is a lower bound.
  s.active_users_capped =
      t.refused_at_ms != INT64_MIN && now_ms - t.refused_at_ms < options_.active_window_ms;
  return s;
}

}  // namespace ca::realtime
