#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ca::ingest {

/// Where a session came from, taken from its first event.
struct SessionContext {
  std::string id;
  std::string entry_path;     ///< path of the first page
  std::string referrer_host;  ///< lower case, without `www.`
  std::string channel;        ///< search, social, email, referral or direct
  std::string utm_source, utm_medium, utm_campaign;
};

/// What a new session takes from the event that opens it (views into the caller's text).
struct SessionSeed {
  std::string_view entry_path, referrer_host, channel, utm_source, utm_medium, utm_campaign;
  bool has_page() const { return !entry_path.empty(); }
};

/// Assigns session ids to events that arrive without one: the events of one sender (user id, else
/// anonymous id) of one tenant belong to one session until `gap_ms` (30 minutes) pass between two
/// of them by event time. A session's id ("s_" and 16 letters) is derived from the tenant, the
/// sender and its first event time, so the same history gives the same ids. Its context (entry
/// page, referrer, channel, UTM) is its first page's: the first event's, unless that one had no
/// page.
///
/// Memory is bounded: at most `max_senders` open sessions are kept; past that, sessions idle
/// longer than the gap (by receive time) are dropped first, then the oldest half of a shard.
/// Events arriving out of order within a session's reach (up to `gap_ms` before its start) join
/// it. After a restart, a sender's next event starts a new session. Thread-safe.
class Sessionizer {
 public:
  struct Options {
    int64_t gap_ms = 30 * 60 * 1000;
    size_t max_senders = 1'000'000;
  };
  Sessionizer();
  explicit Sessionizer(Options options);

  /// The session of an event of `sender` (tenant + id) at `timestamp_ms`, received at
  /// `received_at_ms`. `first` is the context a new session takes (its id is filled in here).
  SessionContext Assign(std::string_view tenant, std::string_view sender, int64_t timestamp_ms,
                        int64_t received_at_ms, SessionContext first);
  /// What enrichment needs of a session, rendered once per session.
  struct Rendered {
    std::string id;
    /// The members of `context.session` after its id, each with its leading comma
    /// (`,"entry_path":"/jobs","channel":"search"`; empty values left out).
    std::string members_after_id;
  };
  /// The same session, as enrichment wants it (Rendered), without allocating on the way of a
  /// known session (`*out`'s strings keep their capacity).
  void Assign(std::string_view tenant, std::string_view sender, int64_t timestamp_ms,
              int64_t received_at_ms, const SessionSeed& first, Rendered* out);

  size_t open_sessions() const;

 private:
  struct Open {
    std::string tenant_and_sender;  // TenantKey: the map is keyed by its TenantKeyHash
    SessionContext context;
    std::string members_after_id;  // RenderMembersAfterId(context)
    int64_t start_ms = 0;
    int64_t last_ms = 0;
    int64_t touched_at_ms = 0;  // receive time of its last event
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, Open> open;  // by TenantKeyHash; guarded by mu
  };
  static constexpr size_t kShards = 16;
  static std::string SessionIdFor(uint64_t sender_hash, int64_t start_ms);
  static void Seed(const SessionSeed& seed, SessionContext* context);
  static std::string RenderMembersAfterId(const SessionContext& context);
  // Finds or opens the session and calls `use(context, members_after_id)` under its lock.
  template <typename Use>
  void Visit(std::string_view tenant, std::string_view sender, int64_t timestamp_ms,
             int64_t received_at_ms, const SessionSeed& first, Use use);
  void MakeRoom(Shard& shard, int64_t now_ms);  // requires shard.mu

  const Options options_;
  std::array<Shard, kShards> shards_;
};

}  // namespace ca::ingest
