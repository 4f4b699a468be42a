#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace ca::app {

/// 2025-01-01T00:00:00Z: the default end of the generated history, so that a default-constructed
/// generator is fully reproducible. `career-analytics demo` passes the current time instead.
inline constexpr int64_t kDefaultDemoEndMs = 1735689600000;

/// Parameters of the synthetic "Career Copilot" platform. The same options always produce the same
/// users, jobs and byte-identical batches. See docs/demo-data.md for the model.
struct DemoOptions {
  uint64_t seed = 42;
  /// Number of job seekers (0 is allowed: only system events are generated).
  int users = 200;
  /// Length of the history in days; events lie in [end_ms - days * 86400000, end_ms].
  int days = 90;
  /// End of the generated history ("now"), milliseconds since the Unix epoch, UTC.
  int64_t end_ms = kDefaultDemoEndMs;
  /// Size of the jobs catalogue.
  int jobs = 500;
};

/// A job seeker. `timezone` is an IANA name; the model uses its fixed standard offset (no DST).
struct DemoUser {
  std::string user_id;
  std::string industry;
  std::string location;
  std::string seniority;
  int weekly_application_goal = 0;
  std::string timezone;
  /// Sign-up time; before the window for existing users, inside it for new ones.
  int64_t signup_ms = 0;
};

/// A job in the catalogue. Salaries are yearly, in USD, rounded to 1000.
struct DemoJob {
  std::string job_id;
  std::string title;
  std::string company;
  std::string industry;
  /// A city, or "Remote".
  std::string location;
  std::string seniority;
  int salary_min = 0;
  int salary_max = 0;
};

/// Ground truth for one user, counted over the events actually emitted.
struct DemoUserTruth {
  uint64_t sessions = 0;
  uint64_t applications = 0;
  uint64_t employer_responses = 0;
  uint64_t interviews = 0;
  uint64_t offers = 0;
  uint64_t offers_accepted = 0;
};

/// Ground truth of the generated history, counted as events are emitted by `NextBatch`; complete
/// once `NextBatch` has returned false. Definitions (docs/demo-data.md):
/// - `applications`: `job_apply` events (one application each).
/// - `employer_responses`: applications whose first status change after "applied" is neither
///   "ghosted" nor "withdrawn" (i.e. screening, interview, offer or rejected).
/// - `interviews`: applications that reached the "interview" stage (rounds are counted in
///   `events_by_type["interview_scheduled"]`).
/// - `offers`: `offer_received` events (at most one per application).
/// - `sessions`: `login` events (every session starts with one).
struct DemoTruth {
  std::map<std::string, uint64_t> events_by_type;
  uint64_t events = 0;
  uint64_t sessions = 0;
  uint64_t applications = 0;
  uint64_t employer_responses = 0;
  uint64_t interviews = 0;
  uint64_t offers = 0;
  uint64_t offers_accepted = 0;
  /// Current stage of every application at end_ms (open ones stay "applied", "screening", ...).
  std::map<std::string, std::string> application_status;
  /// Number of applications per current stage.
  std::map<std::string, uint64_t> applications_by_status;
  /// Keyed by user_id; only users with at least one event appear.
  std::map<std::string, DemoUserTruth> per_user;
};

/// The user id of system events (`error`, `perf_metric`, `task_run`).
inline constexpr char kDemoSystemUserId[] = "system";

/// The application stages of `application_status_changed.properties.status`.
const std::vector<std::string>& DemoApplicationStatuses();

/// Generates the synthetic platform's history as native ingest bodies, deterministically from
/// `DemoOptions`. Events come out in global timestamp order (ties broken by generation order), so
/// every user's and every application's events are chronological. Not thread-safe; movable.
class DemoGenerator {
 public:
  /// Out-of-range options are clamped (see `Validate` for the accepted ranges).
  explicit DemoGenerator(DemoOptions options);
  ~DemoGenerator();
  DemoGenerator(DemoGenerator&&) noexcept;
  DemoGenerator& operator=(DemoGenerator&&) noexcept;
  DemoGenerator(const DemoGenerator&) = delete;
  DemoGenerator& operator=(const DemoGenerator&) = delete;

  /// kInvalidArgument unless 0 <= users <= 100000, 1 <= days <= 3650, 1 <= jobs <= 1000000 and
  /// end_ms - days is after the Unix epoch.
  static Status Validate(const DemoOptions& options);

  const DemoOptions& options() const { return options_; }
  const std::vector<DemoUser>& users() const { return users_; }
  const std::vector<DemoJob>& jobs() const { return jobs_; }

  /// Writes the next batch to `*body` as `{"events":[...]}` (no `sent_at`: the history's timestamps
  /// are exact, not a skewed client clock's) with between 1 and
  /// `max_events` events (a `max_events` of 0 is treated as 1) and returns true; returns false and
  /// clears `*body` once the whole history has been produced.
  bool NextBatch(size_t max_events, std::string* body);
  /// The same events as NextBatch, as JSON lines (one event object and '\n' each) for
  /// `import events`: up to `max_events` lines into `*out`; false once everything was produced.
  bool NextLines(size_t max_events, std::string* out);

  /// Ground truth of the events produced so far; complete after `NextBatch` returned false.
  const DemoTruth& truth() const { return truth_; }
  /// Number of events produced so far by `NextBatch`.
  uint64_t events_generated() const { return truth_.events; }

 private:
  struct State;

  DemoOptions options_;
  std::vector<DemoUser> users_;
  std::vector<DemoJob> jobs_;
  DemoTruth truth_;
  std::unique_ptr<State> state_;
};

/// JSON forms, for seeding user profiles and the jobs catalogue and for printing the ground truth.
nlohmann::json ToJson(const DemoUser& user);
nlohmann::json ToJson(const DemoJob& job);
nlohmann::json ToJson(const DemoTruth& truth);

/// Formats `ms` as ISO-8601 UTC with milliseconds, e.g. "2025-01-01T00:00:00.000Z".
std::string FormatIsoMillis(int64_t ms);

}  // namespace ca::app
