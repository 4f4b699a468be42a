#include "api/ingest_handler.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <utility>

#include "base/clock.h"
#include "http/errors.h"
#include "ingest/body_key.h"

namespace ca::api {
namespace {

// Media types accepted for a JSON body. text/plain is what browsers' sendBeacon sends.
bool AcceptedContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  std::string lower(media);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower.empty() || lower == "application/json" || lower == "text/plain";
}

// The key from `X-Write-Key` or `Authorization: Bearer`; empty when neither is present.
std::string_view HeaderKey(const http::Request& request) {
  std::string_view key = request.Header("x-write-key");
  if (!key.empty()) return key;
  std::string_view auth = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && auth.substr(0, kBearer.size()) == kBearer) {
    return auth.substr(kBearer.size());
  }
  return {};
}

}  // namespace

http::Response ReceiptResponse(const ingest::Receipt& receipt) {
  nlohmann::ordered_json rejected = nlohmann::ordered_json::array();
  bool all_too_large = !receipt.rejected.empty();
  for (const auto& r : receipt.rejected) {
    rejected.push_back(
        {{"index", r.index}, {"code", ErrorCodeName(r.code)}, {"message", r.message}});
    all_too_large = all_too_large && r.code == ErrorCode::kEventTooLarge;
  }
  nlohmann::ordered_json body = {{"accepted", receipt.accepted},
                                 {"duplicates", receipt.duplicates},
                                 {"rejected", std::move(rejected)}};
  int status = 200;
  if (receipt.accepted + receipt.duplicates == 0) status = all_too_large ? 413 : 400;
  return http::Response::Json(status, body.dump());
}

void IngestHandler::Handle(http::Request& request, http::Responder respond) {
  const int64_t received_at = NowMillis();
  if (!AcceptedContentType(request.Header("content-type"))) {
    respond(http::ErrorResponse(Status(ErrorCode::kUnsupportedMediaType,
                                       "content type must be application/json or text/plain")));
    return;
  }

  // Authenticate before decoding, so that unauthenticated bodies cost little.
  std::string presented(HeaderKey(request));
  if (presented.empty()) presented = ingest::ExtractBodyWriteKey(request.body);
  if (presented.empty()) {
    respond(http::ErrorResponse(Status(
        ErrorCode::kUnauthorized,
        "missing write key: send X-Write-Key, Authorization: Bearer, or body field write_key")));
    return;
  }
  auto match = keys_->Lookup(presented);
  if (!match.ok()) {
    respond(http::ErrorResponse(match.status()));
    return;
  }
  if (!match->has_value()) {
    respond(http::ErrorResponse(Status(ErrorCode::kUnauthorized, "unknown write key")));
    return;
  }

  auto catalogue = catalogues_->ForTenant((*match)->tenant);
  if (!catalogue.ok()) {
    respond(http::ErrorResponse(catalogue.status()));
    return;
  }

  ingest::DecodeOptions options;
  options.max_event_bytes = limits_.max_event_bytes;
  options.max_events = limits_.max_batch_events;
  options.received_at_ms = received_at;
  options.tenant = (*match)->tenant;
  options.catalogue = &catalogue.value();
  auto batch = ingest::DecodeBatch(request.body, options);
  if (!batch.ok()) {
    respond(http::ErrorResponse(batch.status()));
    return;
  }
  for (auto& e : batch->events) e.tenant = (*match)->tenant;

  pipeline_->Commit(std::move(batch).value(), [respond = std::move(respond)](
                                                  Result<ingest::Receipt> receipt) mutable {
    respond(receipt.ok() ? ReceiptResponse(*receipt) : http::ErrorResponse(receipt.status()));
  });
}

}  // namespace ca::api
