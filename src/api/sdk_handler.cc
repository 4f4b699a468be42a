#include "api/sdk_handler.h"

#include <memory>
#include <string>
#include <utility>

#include "api/cors.h"
#include "base/clock.h"
#include "http/body_decoder.h"
#include "http/errors.h"

namespace ca::api {
namespace {

// posthog-js compresses bodies itself and says so in the query (`?compression=gzip-js`), not in
// Content-Encoding; a gzip body is recognised by its magic bytes too.
Status InflatePostHogBody(const http::Request& request, size_t max_bytes, std::string* body) {
  const bool gzip_magic = body->size() >= 2 && static_cast<unsigned char>((*body)[0]) == 0x1f &&
                          static_cast<unsigned char>((*body)[1]) == 0x8b;
  if (request.QueryParam("compression") != "gzip-js" && !gzip_magic) return Status::Ok();
  std::string inflated;
  CA_RETURN_IF_ERROR(http::DecodeBody("gzip", *body, max_bytes, &inflated));
  *body = std::move(inflated);
  return Status::Ok();
}

}  // namespace

void SdkHandler::Handle(ingest::SdkFormat format, std::string_view call, http::Request& request,
                        http::Responder respond) {
  const int64_t received_at = NowMillis();
  respond = WithCorsHeaders(request, std::move(respond));
  if (format == ingest::SdkFormat::kPostHog) {
    if (Status s = InflatePostHogBody(request, max_body_bytes_, &request.body); !s.ok()) {
      respond(http::ErrorResponse(s));
      return;
    }
  }
  auto parsed = ingest::SdkBody::Parse(format, call, request.body, ingest::kSdkMaxDepth,
                                       ingest_->limits().max_batch_events);
  if (!parsed.ok()) {
    respond(http::ErrorResponse(parsed.status()));
    return;
  }
  std::string presented = HeaderWriteKey(request);
  if (presented.empty()) presented = parsed->write_key();
  auto tenant = ingest_->Authenticate(
      request, presented,
      format == ingest::SdkFormat::kSegment
          ? "Authorization: Basic base64(KEY:), X-Write-Key, or body field writeKey"
          : "body field api_key, X-Write-Key, or Authorization: Bearer");
  if (!tenant.ok()) {
    respond(http::ErrorResponse(tenant.status()));
    return;
  }
  DeadLetterSource source;
  source.format = parsed->DeadLetterFormat();
  source.raw_of = [&parsed](uint32_t index) { return parsed->RawEvent(index); };
  ingest_->Commit(
      *tenant, received_at,
      [&parsed](const event::Catalogue& catalogue) { return parsed->ToNative(catalogue); },
      std::move(respond), source, RequestContextOf(request));
}

}  // namespace ca::api
