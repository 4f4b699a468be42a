#pragma once

#include <cstdint>
#include <string>

#include "http/request.h"
#include "http/response.h"
#include "http/server.h"
#include "ingest/ingest_pipeline.h"
#include "services/catalogue_service.h"
#include "state/key_cache.h"

namespace ca::api {

struct IngestLimits {
  size_t max_event_bytes = 32 * 1024;
  size_t max_batch_events = 1000;
};

/// `POST /api/analytics/events`: the native batch API. Authenticates the write key (header
/// `X-Write-Key`, `Authorization: Bearer`, or body field `write_key`), decodes and validates the
/// batch, commits it through the pipeline and answers with a receipt once the accepted events are
/// durable.
class IngestHandler {
 public:
  IngestHandler(ingest::IngestPipeline* pipeline, state::KeyCache* keys,
                services::CatalogueService* catalogues, IngestLimits limits)
      : pipeline_(pipeline), keys_(keys), catalogues_(catalogues), limits_(limits) {}

  void Handle(http::Request& request, http::Responder respond);

 private:
  ingest::IngestPipeline* const pipeline_;
  state::KeyCache* const keys_;
  services::CatalogueService* const catalogues_;
  const IngestLimits limits_;
};

/// Renders a receipt as `{"accepted":N,"duplicates":M,"rejected":[{"index","code","message"}]}`
/// with its status: 200 when anything was accepted or already stored, else 413 when every rejection
/// was `event_too_large`, else 400.
http::Response ReceiptResponse(const ingest::Receipt& receipt);

}  // namespace ca::api
