#pragma once

#include "api/ingest_handler.h"
#include "http/request.h"
#include "http/server.h"
#include "state/key_cache.h"
#include "state/state_store.h"

namespace ca::api {

/// The dead-letter endpoints (docs/api/dead-letters.md), authorised by the tenant's secret key:
/// `GET /analytics/dead-letters` lists the rejected events kept by ingestion, and
/// `POST /analytics/dead-letters/replay` sends them through ingestion again (after a custom type
/// was added, say), deleting those now accepted or already stored.
class DeadLetterHandler {
 public:
  /// At most this many dead letters are listed or replayed per request.
  static constexpr size_t kMaxPerRequest = 1000;

  DeadLetterHandler(IngestHandler* ingest, state::StateStore* state, state::KeyCache* keys)
      : ingest_(ingest), state_(state), keys_(keys) {}

  void HandleList(http::Request& request, http::Responder respond);
  void HandleReplay(http::Request& request, http::Responder respond);

 private:
  IngestHandler* const ingest_;
  state::StateStore* const state_;
  state::KeyCache* const keys_;
};

}  // namespace ca::api
