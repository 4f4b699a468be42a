#pragma once

#include "api/auth.h"
#include "api/ingest_handler.h"
#include "http/request.h"
#include "http/server.h"
#include "state/state_store.h"

namespace ca::api {

/// The dead-letter endpoints (docs/api/dead-letters.md), for the tenant's secret key or an admin:
/// `GET /analytics/dead-letters` lists the rejected events kept by ingestion, and
/// `POST /analytics/dead-letters/replay` sends them through ingestion again (after a custom type
/// was added, say), deleting those now accepted or already stored.
class DeadLetterHandler {
 public:
  /// At most this many dead letters are listed or replayed per request.
  static constexpr size_t kMaxPerRequest = 1000;

  DeadLetterHandler(IngestHandler* ingest, state::StateStore* state, const Authenticator* auth)
      : ingest_(ingest), state_(state), auth_(auth) {}

  void HandleList(http::Request& request, http::Responder respond);
  void HandleReplay(http::Request& request, http::Responder respond);

 private:
  IngestHandler* const ingest_;
  state::StateStore* const state_;
  const Authenticator* const auth_;
};

}  // namespace ca::api
