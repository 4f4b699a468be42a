// libFuzzer target for ca::http::DecodeBody (Content-Encoding decoding of request bodies).
// Input: byte 0 picks the encoding, byte 1 the output limit, the rest is the raw body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/body_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr std::string_view kEncodings[] = {
      "gzip", "deflate", "identity", "x-gzip", "gzip, deflate", "deflate, gzip", "br", ""};
  if (size < 2) return 0;
  std::string_view encoding = kEncodings[data[0] % std::size(kEncodings)];
  size_t max_bytes = size_t{1} << (data[1] % 21);
  std::string_view raw(reinterpret_cast<const char*>(data + 2), size - 2);
  std::string out;
  ca::Status status = ca::http::DecodeBody(encoding, raw, max_bytes, &out);
  if (out.size() > max_bytes) std::abort();
  if (!status.ok() && !out.empty()) std::abort();
  return 0;
}
