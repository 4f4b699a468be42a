#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace ca::state {

/// How ingestion treats one tenant's events (docs/privacy.md, docs/api/ingest.md).
struct IngestPolicy {
  /// What happens to an event whose sender withheld consent (`context.consent`) or asked not to
  /// be tracked (Do-Not-Track, Global Privacy Control): "drop" it, or "anonymize": keep it
  /// without its user id, anonymous id, session id, IP and user traits.
  std::string consent = "drop";
  /// How many days old an event may be when it arrives (1..3650); older ones are rejected.
  int late_days = 7;
  /// Keep `context.ip` whole; nullopt: the server's `privacy.ip` setting.
  std::optional<bool> keep_raw_ip;
  /// Property and context keys never scrubbed, besides the server's `privacy.pii_allowed_keys`.
  std::vector<std::string> pii_allowed_keys;

  friend bool operator==(const IngestPolicy&, const IngestPolicy&) = default;
};

/// A tenant: one customer platform whose events and keys are kept apart from every other.
struct Tenant {
  int64_t id = 0;
  std::string name;
  int64_t created_at_ms = 0;
  /// Days of raw events the event store keeps; 0 = forever.
  int retention_days = 0;
  IngestPolicy policy;
};

/// What an API key allows. Write keys may only send events (safe to embed in a browser);
/// secret keys are for servers and may read.
enum class KeyKind { kWrite, kSecret };

/// "write" or "secret".
std::string_view KeyKindName(KeyKind kind);

/// The keys returned once by `StateStore::CreateKeys`. They are not stored anywhere and cannot be
/// recovered later: show them to the operator and forget them.
struct CreatedKeys {
  std::string tenant;
  std::string write_key;
  std::string secret_key;
};

/// The owner of a presented key.
struct KeyMatch {
  int64_t tenant_id = 0;
  std::string tenant;
  KeyKind kind = KeyKind::kWrite;
  /// Browser origins (`https://host[:port]`) this write key accepts events from; empty: any.
  std::vector<std::string> allowed_origins;

  friend bool operator==(const KeyMatch&, const KeyMatch&) = default;
};

/// A tenant-defined event type and the properties it requires, as a JSON object mapping property
/// name to type name, e.g. {"plan":"string"}.
struct CustomEventTypeRow {
  std::string name;
  std::string required_properties_json;

  friend bool operator==(const CustomEventTypeRow&, const CustomEventTypeRow&) = default;
};

/// An event ingestion rejected, kept so that it can be inspected and replayed
/// (docs/api/dead-letters.md).
struct DeadLetter {
  int64_t id = 0;  ///< assigned by the store, increasing
  int64_t received_at_ms = 0;
  std::string code;     ///< the stable error code, e.g. "unknown_event_type"
  std::string message;  ///< names the offending field
  /// How `raw` is to be read: "native", "posthog", "segment" (an element of a Segment batch) or
  /// "segment:CALL" (a single Segment call, e.g. "segment:track").
  std::string format;
  std::string raw;  ///< the event as received, minified JSON

  friend bool operator==(const DeadLetter&, const DeadLetter&) = default;
};

/// Dead letters of one tenant in brief (StateStore::OverviewDeadLetters).
struct DeadLetterOverview {
  uint64_t total = 0;
  /// (code, dead letters with that code), by count descending, then code ascending.
  std::vector<std::pair<std::string, uint64_t>> by_code;
  std::vector<DeadLetter> recent;  ///< newest first; `raw` empty
};

/// One user's activity on one UTC day: the counters of a `daily_user_metrics` row
/// (docs/rollups.md).
struct UserDayMetrics {
  int64_t page_views = 0;
  int64_t job_views = 0;
  int64_t saves = 0;
  int64_t applications = 0;
  int64_t responses = 0;  ///< employer responses (screening, interview, offer, rejected)
  int64_t interviews = 0;
  int64_t offers = 0;
  double seconds_spent = 0;

  UserDayMetrics& operator+=(const UserDayMetrics& o) {
    page_views += o.page_views;
    job_views += o.job_views;
    saves += o.saves;
    applications += o.applications;
    responses += o.responses;
    interviews += o.interviews;
    offers += o.offers;
    seconds_spent += o.seconds_spent;
    return *this;
  }
  friend bool operator==(const UserDayMetrics&, const UserDayMetrics&) = default;
};

/// A row of `daily_user_metrics`.
struct DailyUserMetricsRow {
  std::string tenant;
  std::string user_id;
  int64_t day = 0;  ///< days since 1970-01-01 UTC
  UserDayMetrics metrics;

  friend bool operator==(const DailyUserMetricsRow&, const DailyUserMetricsRow&) = default;
};

/// A row of `user_activity`: one event of a job seeker's search and application activity
/// (docs/rollups.md), kept by the rollups so that a dashboard reads a user's applications,
/// responses, searches and recent activity by key instead of scanning the event store. Keyed by
/// (tenant, user, timestamp, event id): adding a row twice keeps one.
struct UserActivityRow {
  std::string tenant;
  std::string user_id;
  int64_t timestamp_ms = 0;
  std::string event_id;
  std::string type;
  std::string application_id;  ///< properties.application_id ("" when none)
  std::string status;          ///< properties.status ("" when none)
  std::string
      properties_json;  ///< the event's scalar properties, strings shortened (a JSON object)

  friend bool operator==(const UserActivityRow&, const UserActivityRow&) = default;
};

/// A row of `job_market_trends`: the job market of one industry and location on one day
/// (imported: docs/api/market-data.md).
struct MarketTrendRow {
  int64_t day = 0;  ///< days since 1970-01-01 UTC
  std::string industry;
  std::string location;
  double average_salary = 0;
  int64_t postings = 0;
  double competition = 0;  ///< applicants per posting

  friend bool operator==(const MarketTrendRow&, const MarketTrendRow&) = default;
};

/// The other imported series: industry benchmarks (scope = industry, name = metric) and
/// economic indicators (scope = location, name = indicator).
enum class ExternalSeries { kBenchmarks, kIndicators };

/// A row of `industry_benchmarks` or `economic_indicators`.
struct ExternalValueRow {
  int64_t day = 0;
  std::string scope;
  std::string name;
  double value = 0;

  friend bool operator==(const ExternalValueRow&, const ExternalValueRow&) = default;
};

/// One run of a scheduled job (docs/scheduler.md).
struct JobRunRow {
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  bool ok = false;
  std::string message;  ///< empty on success

  friend bool operator==(const JobRunRow&, const JobRunRow&) = default;
};

/// A row of `export_jobs`: one export (docs/api/export.md) and where it got to.
struct ExportJobRow {
  std::string id;  ///< e.g. "exp_0123456789abcdef", unique across tenants
  std::string tenant;
  std::string request_json;  ///< the request as submitted
  std::string status;        ///< "queued", "running", "done" or "failed"
  int64_t rows = 0;          ///< rows written
  int64_t bytes = 0;         ///< bytes of the finished file
  std::string file;          ///< the finished file's path; empty until done
  std::string error;         ///< why it failed; empty otherwise
  int64_t created_at_ms = 0;
  std::optional<int64_t> finished_at_ms;  ///< set when done or failed

  friend bool operator==(const ExportJobRow&, const ExportJobRow&) = default;
};

/// The form in which industries, locations and other imported names are compared: ASCII letters
/// in lower case, spaces and tabs trimmed, each inner run of them collapsed to one space.
std::string NormaliseKey(std::string_view text);

/// True when `name` is a valid tenant name: [a-z0-9][a-z0-9_-]{0,63}.
bool IsValidTenantName(std::string_view name);

/// kInvalidArgument when a row of `rows` has an invalid tenant name or an empty user id, type or
/// event id.
Status CheckUserActivityRows(const std::vector<UserActivityRow>& rows);

/// True when `origin` is a browser origin as the Origin header sends it, in lower case:
/// `http://` or `https://`, a host of [a-z0-9.-], an optional `:port`, no path.
bool IsValidOrigin(std::string_view origin);

/// Relational state (tenants, API keys, custom event types). The interface is backend-neutral:
/// SQLite now, PostgreSQL later. Implementations are thread-safe, and several processes may open
/// the same store (a server and the CLI); each sees the other's committed writes.
///
/// Errors: kInvalidArgument for bad input (named in each method), kUnavailable when the store
/// stayed locked by another process for too long, kDiskFull, kIoError, kCorruption, kInternal.
class StateStore {
 public:
  virtual ~StateStore() = default;

  /// Returns the tenant called `name`, creating it if needed. kInvalidArgument when `name` is not
  /// a valid tenant name (see IsValidTenantName).
  virtual Result<Tenant> GetOrCreateTenant(std::string_view name) = 0;
  /// The tenant called `name`, or nullopt. kInvalidArgument for an invalid name.
  virtual Result<std::optional<Tenant>> FindTenant(std::string_view name) = 0;
  /// All tenants, ordered by name.
  virtual Result<std::vector<Tenant>> ListTenants() = 0;
  /// Sets how many days of raw events `tenant` keeps (0 = forever, else 1..36500). kNotFound for
  /// an unknown tenant, kInvalidArgument for a value out of range.
  virtual Status SetTenantRetention(std::string_view tenant, int days) = 0;

  /// Creates the tenant if needed and a new write key and secret key for it, atomically. Only a
  /// hash of each key is stored. kInvalidArgument for an invalid tenant name.
  virtual Result<CreatedKeys> CreateKeys(std::string_view tenant) = 0;

  /// The owner of `presented_key`, or nullopt when the key is malformed, unknown or revoked.
  /// The stored hash is compared in constant time. Never logs the key.
  virtual Result<std::optional<KeyMatch>> LookupKey(std::string_view presented_key) = 0;

  /// Sets the browser origins the write key `presented_key` accepts events from (CORS); empty:
  /// any origin. kNotFound when it is not a live write key; kInvalidArgument for an origin that
  /// is not IsValidOrigin or more than 100 origins.
  virtual Status SetAllowedOrigins(std::string_view presented_key,
                                   const std::vector<std::string>& origins) = 0;

  /// Adds the custom event type `row.name` to `tenant`, replacing its required properties when it
  /// already exists. kNotFound when the tenant does not exist; kInvalidArgument when the name is
  /// empty, longer than 128 bytes or holds control characters, or when
  /// `row.required_properties_json` is not a JSON object.
  virtual Status AddCustomEventType(std::string_view tenant, const CustomEventTypeRow& row) = 0;
  /// The custom event types of `tenant`, ordered by name; empty for an unknown tenant.
  virtual Result<std::vector<CustomEventTypeRow>> ListCustomEventTypes(std::string_view tenant) = 0;

  /// Adds `letters` (ids ignored) to `tenant`'s dead letters in one transaction, then deletes its
  /// oldest beyond `keep_at_most`. kNotFound for an unknown tenant.
  virtual Status AddDeadLetters(std::string_view tenant, const std::vector<DeadLetter>& letters,
                                uint64_t keep_at_most) = 0;
  /// Up to `limit` dead letters of `tenant` with id > `after_id`, oldest first; empty for an
  /// unknown tenant.
  virtual Result<std::vector<DeadLetter>> ListDeadLetters(std::string_view tenant, int64_t after_id,
                                                          size_t limit) = 0;
  /// How many dead letters `tenant` has.
  virtual Result<uint64_t> CountDeadLetters(std::string_view tenant) = 0;
  /// The admin dashboard's view of `tenant`'s dead letters: how many there are of each code, and
  /// the `recent` newest (id descending) without their raw events (`raw` left empty). Empty for
  /// an unknown tenant. The default answers kUnavailable (a store that does not keep them).
  virtual Result<DeadLetterOverview> OverviewDeadLetters(std::string_view tenant, size_t recent);
  /// Deletes the listed dead letters of `tenant` (ids it does not have are ignored).
  virtual Status DeleteDeadLetters(std::string_view tenant, const std::vector<int64_t>& ids) = 0;

  /// Sets `tenant`'s ingest policy. kNotFound for an unknown tenant; kInvalidArgument for a
  /// consent other than "drop" or "anonymize", late_days outside 1..3650, or an allowed key that
  /// is empty, longer than 128 bytes, holds a space or a control character (at most 100 keys).
  virtual Status SetIngestPolicy(std::string_view tenant, const IngestPolicy& policy) = 0;

  /// Puts users on `tenant`'s suppression list (deleted users, whose events are no longer
  /// accepted). Already listed ids are kept as they are. kNotFound for an unknown tenant.
  virtual Status SuppressUsers(std::string_view tenant, const std::vector<std::string>& user_ids,
                               int64_t now_ms) = 0;
  /// `tenant`'s suppression list, ordered by user id; empty for an unknown tenant.
  virtual Result<std::vector<std::string>> ListSuppressedUsers(std::string_view tenant) = 0;

  /// Marks UTC days (days since 1970-01-01) of `tenant` whose rollups must be recomputed because
  /// late events touched them. kNotFound for an unknown tenant.
  virtual Status MarkRecomputeDays(std::string_view tenant, const std::vector<int64_t>& days,
                                   int64_t now_ms) = 0;
  /// The marked days of `tenant`, ascending.
  virtual Result<std::vector<int64_t>> ListRecomputeDays(std::string_view tenant) = 0;

  /// Merges the JSON object `traits_json` into the traits kept for `user_id` of `tenant` (keys
  /// of the new object replace the old ones). kNotFound for an unknown tenant; kInvalidArgument
  /// for an empty user id or traits that are not a JSON object.
  virtual Status MergeUserTraits(std::string_view tenant, std::string_view user_id,
                                 std::string_view traits_json, int64_t now_ms) = 0;
  /// The traits of `user_id` as a JSON object, or nullopt when none were recorded.
  virtual Result<std::optional<std::string>> GetUserTraits(std::string_view tenant,
                                                           std::string_view user_id) = 0;
  /// Deletes what is kept about `user_id` of `tenant` outside the event store (traits, daily
  /// metrics, activity).
  virtual Status ForgetUser(std::string_view tenant, std::string_view user_id) = 0;

  /// Adds `deltas` to their `daily_user_metrics` rows (creating rows, and tenants, as needed)
  /// and records `position` as consumer `consumer`'s position, in one transaction: a consumer
  /// that resumes from its recorded position counts every event exactly once. kInvalidArgument
  /// for an invalid tenant name or an empty user id.
  Status AddDailyUserMetrics(std::string_view consumer, int64_t position,
                             const std::vector<DailyUserMetricsRow>& deltas) {
    return AddRollups(consumer, position, deltas, {});
  }
  /// AddDailyUserMetrics that also adds `activity` rows (rows already there are kept as they
  /// are), in the same transaction.
  virtual Status AddRollups(std::string_view consumer, int64_t position,
                            const std::vector<DailyUserMetricsRow>& deltas,
                            const std::vector<UserActivityRow>& activity) = 0;
  /// Adds `activity` rows without moving any position (rebuilds from the event store); rows
  /// already there are kept. kInvalidArgument for an invalid tenant name or an empty user id.
  virtual Status AddUserActivity(const std::vector<UserActivityRow>& activity) = 0;
  /// `user_id`'s activity rows of `tenant` with from_ms <= timestamp < to_ms, newest first, at
  /// most `limit` (0: all). Empty for an unknown tenant.
  virtual Result<std::vector<UserActivityRow>> ListUserActivity(std::string_view tenant,
                                                                std::string_view user_id,
                                                                int64_t from_ms, int64_t to_ms,
                                                                size_t limit) = 0;
  /// Deletes every tenant's activity rows older than `before_ms`; returns how many.
  virtual Result<int64_t> PruneUserActivity(int64_t before_ms) = 0;
  /// The position AddDailyUserMetrics last recorded for `consumer`, or nullopt.
  virtual Result<std::optional<int64_t>> ConsumerPosition(std::string_view consumer) = 0;
  /// `tenant`'s rows for days first_day..last_day (inclusive), of `user_id` (every user when
  /// empty), ordered by day, then user id. Empty for an unknown tenant.
  virtual Result<std::vector<DailyUserMetricsRow>> ListDailyUserMetrics(std::string_view tenant,
                                                                        std::string_view user_id,
                                                                        int64_t first_day,
                                                                        int64_t last_day) = 0;
  /// Weekly summaries: the sums of ListDailyUserMetrics's rows by ISO week (Monday to Sunday,
  /// UTC) and user, for days first_day..last_day; each row's `day` is its week's Monday. Always
  /// as current as the days (recomputes included). Ordered by week, then user id.
  virtual Result<std::vector<DailyUserMetricsRow>> ListWeeklyUserMetrics(std::string_view tenant,
                                                                         std::string_view user_id,
                                                                         int64_t first_day,
                                                                         int64_t last_day) = 0;
  /// Replaces every row of `tenant`'s `day` by `rows` (their tenant and day must match) and
  /// clears the day's recompute mark, in one transaction. kNotFound for an unknown tenant.
  virtual Status ReplaceDailyUserMetrics(std::string_view tenant, int64_t day,
                                         const std::vector<DailyUserMetricsRow>& rows) = 0;

  /// Inserts `rows` into `tenant`'s job_market_trends, replacing rows with the same day,
  /// industry and location (compared by NormaliseKey), in one transaction. kNotFound for an
  /// unknown tenant; kInvalidArgument for an empty industry or location.
  virtual Status UpsertMarketTrends(std::string_view tenant,
                                    const std::vector<MarketTrendRow>& rows) = 0;
  /// `tenant`'s market rows for `industry` and `location` (by NormaliseKey; an empty one matches
  /// any) from first_day to last_day inclusive, ordered by day, industry, location.
  virtual Result<std::vector<MarketTrendRow>> ListMarketTrends(std::string_view tenant,
                                                               std::string_view industry,
                                                               std::string_view location,
                                                               int64_t first_day,
                                                               int64_t last_day) = 0;
  /// As UpsertMarketTrends for benchmarks or indicators; the key is (day, scope, name).
  virtual Status UpsertExternalValues(std::string_view tenant, ExternalSeries series,
                                      const std::vector<ExternalValueRow>& rows) = 0;
  /// Records a finished run of the scheduled job `job` (server-wide, not per tenant); the last
  /// 100 runs of each job are kept. kInvalidArgument for an empty job name.
  virtual Status RecordJobRun(std::string_view job, const JobRunRow& run) = 0;
  /// Up to `limit` most recent runs of `job`, newest first.
  virtual Result<std::vector<JobRunRow>> ListJobRuns(std::string_view job, size_t limit) = 0;

  /// As ListMarketTrends; `scope` and `name` empty match any. Ordered by day, scope, name.
  virtual Result<std::vector<ExternalValueRow>> ListExternalValues(
      std::string_view tenant, ExternalSeries series, std::string_view scope, std::string_view name,
      int64_t first_day, int64_t last_day) = 0;

  /// Stores a new export job (`row.tenant` names the tenant). kNotFound for an unknown tenant,
  /// kAlreadyExists when a job (of any tenant) has `row.id`, kInvalidArgument for an empty id.
  virtual Status CreateExportJob(const ExportJobRow& row) = 0;
  /// Sets status, rows, bytes, file, error and finished_at_ms of the job `row.id` of
  /// `row.tenant` (the other fields are kept). kNotFound when there is no such job.
  virtual Status UpdateExportJob(const ExportJobRow& row) = 0;
  /// `tenant`'s export job `id`, or nullopt (also when `id` belongs to another tenant).
  virtual Result<std::optional<ExportJobRow>> GetExportJob(std::string_view tenant,
                                                           std::string_view id) = 0;
  /// The export jobs of every tenant with `status` (every status when empty), oldest first (by
  /// created_at_ms, then id): for recovery after a restart and for clean-up.
  virtual Result<std::vector<ExportJobRow>> ListExportJobs(std::string_view status) = 0;
  /// Deletes `tenant`'s export job `id`; OK when there is none.
  virtual Status DeleteExportJob(std::string_view tenant, std::string_view id) = 0;
};

}  // namespace ca::state
