#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "event/event.h"

namespace ca::query {

/// Random events and random query specs for the differential tests of the query engines (the
/// embedded executor against the SQL compiler on SQLite, PostgreSQL, ClickHouse). Everything is
/// a pure function of the seed, on every platform (no std distributions).

/// A small deterministic PRNG (SplitMix64).
class TestRng {
 public:
  explicit TestRng(uint64_t seed) : state_(seed) {}

  uint64_t Next();
  /// Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }
  /// Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  /// True with probability `p` (0..1).
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }

 private:
  uint64_t state_;
};

struct RandomDataOptions {
  int tenants = 3;
  int min_users = 20;
  int max_users = 200;
  /// Events per tenant, drawn from [min_events, max_events].
  int min_events = 400;
  int max_events = 1500;
  /// Share of events with no user_id (anonymous_id only).
  double anonymous_share = 0.08;
  /// First instant of the data (epoch ms) and its span in days.
  int64_t start_ms = 1739577600000;  // 2025-02-15T00:00:00Z: spans the 2025 DST changes
  int days = 60;
  /// Share of events that repeat the previous event's timestamp exactly.
  double tie_share = 0.12;
};

/// A generated data set plus the vocabulary a spec generator draws literals from.
struct RandomDataset {
  std::vector<std::string> tenants;
  /// Every event, of every tenant; unique (tenant, event_id); in no particular order.
  std::vector<event::Event> events;
  int64_t start_ms = 0;
  int64_t end_ms = 0;  ///< exclusive
  /// Values seen per core string field name ("job_id", "path", "user_id"...), across tenants.
  std::map<std::string, std::vector<std::string>> strings;
  /// Scalar values (strings, numbers, booleans) seen per top-level property name.
  std::map<std::string, std::vector<nlohmann::json>> property_values;
  std::vector<double> numbers;  ///< values of the `value` field seen
};

/// Event types the generator writes: the built-in catalogue plus the custom "resume_upload".
const std::vector<std::string>& RandomEventTypes();

/// A reproducible data set: `options.tenants` tenants with 20..200 users each, anonymous events,
/// every event type, properties with missing, empty and wrong-kind ids, numbers that are
/// integers or multiples of 0.25, nested objects, timestamps over `options.days` days with
/// ties; no JSON object repeats a key.
RandomDataset GenerateRandomDataset(uint64_t seed, const RandomDataOptions& options = {});

/// The kinds of docs/api/query.md.
inline constexpr std::string_view kRandomSpecKinds[] = {"trends", "funnel", "retention", "paths",
                                                        "events"};

struct RandomSpecOptions {
  /// Chance that a spec deliberately breaks a rule (an invalid filter literal, a zero limit...):
  /// the parser must reject it.
  double invalid_share = 0.01;
};

/// Random specs of every kind over a data set's range and vocabulary, as JSON (to be serialised
/// and fed through ParseQuerySpec).
class RandomSpecGenerator {
 public:
  RandomSpecGenerator(const RandomDataset& data, uint64_t seed, RandomSpecOptions options = {});

  /// A spec of `kind` (one of kRandomSpecKinds).
  nlohmann::ordered_json Spec(std::string_view kind);

  /// A random filter list of 0..max entries.
  nlohmann::ordered_json Filters(size_t max);
  /// One random filter on a core field or a property.
  nlohmann::ordered_json Filter();

  TestRng& rng() { return rng_; }

 private:
  void Common(nlohmann::ordered_json* spec, bool short_range);
  nlohmann::ordered_json Matcher(size_t max_filters);
  std::string EventType();
  std::string FieldValue(const std::string& field);
  nlohmann::ordered_json Number();

  const RandomDataset& data_;
  TestRng rng_;
  RandomSpecOptions options_;
};

}  // namespace ca::query
