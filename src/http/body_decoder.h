#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ca::http {

/// Decodes `raw` per the Content-Encoding header value `content_encoding` into `*out` (replacing
/// its contents). Accepts "" / "identity", "gzip" / "x-gzip" (also concatenated members) and
/// "deflate" (zlib-wrapped, or raw deflate as some clients send), case-insensitive, and
/// comma-separated lists of them (decoded last first). Inflates in bounded chunks and never makes
/// `*out` larger than `max_bytes`, so a compression bomb is cut off at the limit, never inflated
/// whole. Errors: kUnsupportedEncoding (e.g. "br"), kBodyTooLarge (output would exceed
/// `max_bytes`), kBadRequest (corrupt, truncated or trailing data). On error `*out` is cleared.
/// Thread-safe (no shared state).
Status DecodeBody(std::string_view content_encoding, std::string_view raw, size_t max_bytes,
                  std::string* out);

/// Lower-cased, trimmed tokens of a Content-Encoding value, in header order ("identity" kept).
std::vector<std::string> ContentEncodingTokens(std::string_view content_encoding);

}  // namespace ca::http
