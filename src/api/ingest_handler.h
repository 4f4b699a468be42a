#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

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

/// The write key of a request's headers: `X-Write-Key`, `Authorization: Bearer KEY`, or
/// `Authorization: Basic base64(KEY:)` (Segment's SDKs: the key as user name, empty password);
/// "" when none.
std::string HeaderWriteKey(const http::Request& request);

/// `POST /api/analytics/events`: the native batch API. Authenticates the write key (a header of
/// HeaderWriteKey, or body field `write_key`), decodes and validates the batch, commits it through
/// the pipeline and answers with a receipt once the accepted events are durable.
class IngestHandler {
 public:
  IngestHandler(ingest::IngestPipeline* pipeline, state::KeyCache* keys,
                services::CatalogueService* catalogues, IngestLimits limits)
      : pipeline_(pipeline), keys_(keys), catalogues_(catalogues), limits_(limits) {}

  void Handle(http::Request& request, http::Responder respond);

  /// The tenant of a presented write key (or secret key). kUnauthorized when `presented` is
  /// empty or unknown (`where` says where a key may be sent, for the message);
  /// kOriginNotAllowed when `request` comes from a browser origin the key does not allow.
  Result<std::string> Authenticate(const http::Request& request, std::string_view presented,
                                   std::string_view where);
  /// Decodes a native batch body for `tenant`, commits it through the pipeline and answers with
  /// a receipt once the accepted events are durable. `body` is produced by `make_body` from the
  /// tenant's catalogue (SDK formats translate event names with it).
  void Commit(const std::string& tenant, int64_t received_at,
              const std::function<std::string(const event::Catalogue&)>& make_body,
              http::Responder respond);
  const IngestLimits& limits() const { return limits_; }

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
