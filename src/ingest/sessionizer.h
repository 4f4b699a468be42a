#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "base/flat_hash_map.h"
#include "base/status.h"
#include "io/env.h"

namespace ca::ingest {

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

  /// What enrichment needs of a session, rendered once per session.
  struct Rendered {
    std::string id;
    /// The members of `context.session` after its id, each with its leading comma
    /// (`,"entry_path":"/jobs","channel":"search"`; empty values left out).
    std::string members_after_id;
  };
  /// Who sent an event: the tenant and the sender's id, hashed (KeyOf).
  struct SenderKey {
    uint64_t hash = 0;   // TenantKeyHash: picks the slot and seeds the session id
    uint64_t check = 0;  // TenantKeyCheck: tells two senders with one `hash` apart
  };
  static SenderKey KeyOf(std::string_view tenant, std::string_view sender);

  /// The session of an event of `sender` at `timestamp_ms`, received at `received_at_ms`, as
  /// enrichment wants it; `first` is the context a new session takes. A known session costs no
  /// allocation (`*out`'s strings keep their capacity).
  void Assign(const SenderKey& sender, int64_t timestamp_ms, int64_t received_at_ms,
              const SessionSeed& first, Rendered* out);
  Rendered Assign(std::string_view tenant, std::string_view sender, int64_t timestamp_ms,
                  int64_t received_at_ms, const SessionSeed& first = SessionSeed());

  /// Starts loading the slot of `sender` into the cache: a caller with a batch of events calls
  /// this for the ones it will Assign next, so that their cache misses overlap.
  void Prefetch(const SenderKey& sender) const;

  size_t open_sessions() const;

  /// Writes the sessions that may still be going on (their last event received within the gap
  /// of `now_ms`) to `path` (docs/formats/sessions.md), atomically: a server stopping keeps them
  /// for its next start, so that a restart does not cut its users' visits in two.
  Status Save(io::Env* env, const std::string& path, int64_t now_ms) const;
  /// Takes in the sessions of a file Save wrote, leaving out those idle for longer than the gap
  /// by `now_ms`. A missing file is no error; a damaged one is kCorruption naming it (nothing is
  /// taken in).
  Status Load(io::Env* env, const std::string& path, int64_t now_ms);

 private:
  struct Open {
    uint64_t check = 0;  // SenderKey::check of its sender
    int64_t start_ms = 0;
    int64_t last_ms = 0;
    int64_t touched_at_ms = 0;  // receive time of its last event
    std::array<char, 18> id{};  // "s_" and 16 letters
    bool has_page = false;      // its context was seeded from a page
    std::string members_after_id;
  };
  struct Shard {
    mutable std::mutex mu;
    FlatHashMap<Open> open;  // by SenderKey::hash; guarded by mu
  };
  static constexpr size_t kShards = 16;
  static void SetId(uint64_t sender_hash, int64_t start_ms, std::array<char, 18>* id);
  static void RenderMembersAfterId(const SessionSeed& seed, std::string* out);
  void MakeRoom(Shard& shard, int64_t now_ms);  // requires shard.mu

  const Options options_;
  std::array<Shard, kShards> shards_;
};

}  // namespace ca::ingest
