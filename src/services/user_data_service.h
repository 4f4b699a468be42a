#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "batch/rollup_updater.h"
#include "cache/cache.h"
#include "state/state_store.h"
#include "store/event_store.h"
#include "wal/wal.h"

namespace ca::services {

/// The deletion receipt of the event store as JSON (docs/privacy.md).
nlohmann::ordered_json DeletionReceiptJson(const store::DeletionReceipt& receipt);

/// A person's data (GDPR access and erasure, docs/privacy.md): everything held on one user, and
/// its deletion from events, rollups, traits, caches and dead letters. Thread-safe.
class UserDataService {
 public:
  struct Parts {
    store::EventStore* store = nullptr;
    state::StateStore* state = nullptr;
    cache::Cache* cache = nullptr;            // may be null
    batch::RollupUpdater* rollups = nullptr;  // may be null
    const wal::Wal* wal = nullptr;            // with rollups: their position is awaited
    /// Called after the user joins the suppression list: drops the cached ingest rules and
    /// waits for the requests that may have checked events against the old ones
    /// (IngestRulesService::InvalidateAndDrain). An error stops the deletion.
    std::function<Status(const std::string& tenant)> on_suppressed;
    /// The clock (default NowMillis): events received up to its reading after on_suppressed
    /// are masked.
    std::function<int64_t()> now_ms;
  };
  explicit UserDataService(Parts parts) : parts_(std::move(parts)) {}

  /// Everything held on `user_id` of `tenant`: traits, daily and weekly metrics, every stored
  /// event (time order), dead letters naming them, whether they are suppressed, and deletion
  /// receipts. kInvalidArgument for an empty user id.
  Result<nlohmann::ordered_json> Export(const std::string& tenant, const std::string& user_id);

  /// Deletes `user_id`'s data: the id joins the suppression list first (their events are no
  /// longer taken in) and the requests already past the old list are awaited (on_suppressed);
  /// their events are masked at once (removed physically at the next rewrite), also those
  /// received while the deletion ran; their traits and rollups and the dead letters naming them
  /// are deleted, their cache entries dropped. Returns the receipt. kInvalidArgument for an
  /// empty user id.
  Result<nlohmann::ordered_json> Delete(const std::string& tenant, const std::string& user_id,
                                        int64_t now_ms);

 private:
  Parts parts_;
};

}  // namespace ca::services
