#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/rate_limiter.h"
#include "http/request.h"
#include "http/response.h"
#include "http/server.h"
#include "ingest/enricher.h"
#include "ingest/ingest_pipeline.h"
#include "ingest/request_context.h"
#include "services/catalogue_service.h"
#include "services/ingest_rules_service.h"
#include "state/key_cache.h"
#include "state/state_store.h"

namespace ca::api {

struct IngestLimits {
  size_t max_event_bytes = 32 * 1024;
  size_t max_batch_events = 1000;
};

/// What may turn a request away before its body is read: a per-key rate limit (429
/// `rate_limited`) and consumers lagging past their bound (503 `overloaded`). Both Retry-After.
struct IngestGuards {
  RateLimiter* rate_limiter = nullptr;  ///< null: no limit
  /// Why ingest must wait ("" when it need not): the WAL's consumers are too far behind.
  std::function<std::string()> overloaded;
};

/// Where the rejected events of a request came from, for their dead letters.
struct DeadLetterSource {
  std::string format = "native";  ///< state::DeadLetter::format
  /// The raw event at a request index; empty: the decoder's minified copy of the native event.
  std::function<std::string(uint32_t index)> raw_of;
};

/// The write key of a request's headers: `X-Write-Key`, `Authorization: Bearer KEY`, or
/// `Authorization: Basic base64(KEY:)` (Segment's SDKs: the key as user name, empty password);
/// "" when none.
std::string HeaderWriteKey(const http::Request& request);

/// What `request` says about its sender: `DNT: 1` or `Sec-GPC: 1`, the peer address and the
/// User-Agent header.
ingest::RequestContext RequestContextOf(const http::Request& request);

/// `POST /api/analytics/events`: the native batch API. Authenticates the write key (a header of
/// HeaderWriteKey, or body field `write_key`), decodes and validates the batch, commits it through
/// the pipeline and answers with a receipt once the accepted events are durable.
class IngestHandler {
 public:
  /// `state` keeps every rejected event as a dead letter and the days late events touch (null:
  /// neither is kept); `rules` gives each tenant's consent, suppression, late-event and privacy
  /// rules (null: the pipeline's privacy stage, no other rule); `enricher` the enrichment stage
  /// (null: none).
  IngestHandler(ingest::IngestPipeline* pipeline, state::KeyCache* keys,
                services::CatalogueService* catalogues, IngestLimits limits,
                state::StateStore* state = nullptr, services::IngestRulesService* rules = nullptr,
                ingest::Enricher* enricher = nullptr, IngestGuards guards = IngestGuards())
      : pipeline_(pipeline),
        keys_(keys),
        catalogues_(catalogues),
        limits_(limits),
        state_(state),
        rules_(rules),
        enricher_(enricher),
        guards_(std::move(guards)) {}

  /// Dead letters kept per tenant; the oldest go beyond it.
  static constexpr uint64_t kMaxDeadLettersPerTenant = 100'000;

  using ReceiptCallback = std::function<void(Result<ingest::Receipt>)>;

  void Handle(http::Request& request, http::Responder respond);

  /// The tenant of a presented write key (or secret key). kOverloaded when the consumers lag
  /// (IngestGuards); kUnauthorized when `presented` is empty or unknown (`where` says where a key
  /// may be sent, for the message); kOriginNotAllowed when `request` comes from a browser origin
  /// the key does not allow; kRateLimited past the key's rate.
  Result<std::string> Authenticate(const http::Request& request, std::string_view presented,
                                   std::string_view where);
  /// Decodes a native batch body for `tenant`, applies the tenant's rules, commits it through
  /// the pipeline and answers with a receipt once the accepted events are durable; keeps the
  /// rejected events as dead letters (except those refused for privacy, see
  /// ingest::IsPrivacyRejection). `body` is produced by `make_body` from the tenant's catalogue
  /// (SDK formats translate event names with it).
  void Commit(const std::string& tenant, int64_t received_at,
              const std::function<std::string(const event::Catalogue&)>& make_body,
              http::Responder respond, const DeadLetterSource& source,
              const ingest::RequestContext& request);
  /// The same without HTTP: `on_rejected` (may be empty) sees the rejections to keep, with their
  /// raw text, before anything is written; `done` gets the receipt or the error. For replays.
  void CommitBody(const std::string& tenant, int64_t received_at,
                  const std::function<std::string(const event::Catalogue&)>& make_body,
                  const std::function<void(const std::vector<ingest::Rejection>&)>& on_rejected,
                  ReceiptCallback done,
                  const ingest::RequestContext& request = ingest::RequestContext());
  const IngestLimits& limits() const { return limits_; }

 private:
  void KeepDeadLetters(const std::string& tenant, int64_t received_at,
                       const DeadLetterSource& source,
                       const std::vector<ingest::Rejection>& rejected);

  ingest::IngestPipeline* const pipeline_;
  state::KeyCache* const keys_;
  services::CatalogueService* const catalogues_;
  const IngestLimits limits_;
  state::StateStore* const state_;
  services::IngestRulesService* const rules_;
  ingest::Enricher* const enricher_;
  const IngestGuards guards_;
};

/// Renders a receipt as `{"accepted":N,"duplicates":M,"rejected":[{"index","code","message"}]}`
/// with its status: 200 when anything was accepted or already stored, else 413 when every rejection
/// was `event_too_large`, else 400.
http::Response ReceiptResponse(const ingest::Receipt& receipt);

}  // namespace ca::api
