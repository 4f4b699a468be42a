#pragma once

#include <string_view>

#include "api/ingest_handler.h"
#include "http/request.h"
#include "http/server.h"
#include "ingest/sdk_formats.h"

namespace ca::api {

/// The ingest endpoints of analytics SDKs (docs/api/sdk-compat.md): Segment's (`/v1/track`,
/// `/v1/batch`, ...; RudderStack's too) and PostHog's (`/batch/`, `/capture/`, `/e/`,
/// `/i/v0/e/`). The body is read whatever its Content-Type says (the HTTP layer has already
/// undone its Content-Encoding), translated into a native batch and committed like one, so it
/// gets the same validation, deduplication and receipt.
class SdkHandler {
 public:
  SdkHandler(IngestHandler* ingest, size_t max_body_bytes)
      : ingest_(ingest), max_body_bytes_(max_body_bytes) {}

  /// `call`: for Segment, the call the path names ("track", ..., or "batch"); unused for PostHog.
  void Handle(ingest::SdkFormat format, std::string_view call, http::Request& request,
              http::Responder respond);

 private:
  IngestHandler* const ingest_;
  const size_t max_body_bytes_;
};

}  // namespace ca::api
