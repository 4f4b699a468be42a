#pragma once

#include <string>
#include <string_view>

#include <zlib.h>

namespace ca::http::testing {

enum class Wrapper { kGzip, kZlib, kRaw };

/// Compresses `data` with zlib in the given container (test helper).
inline std::string Compress(std::string_view data, Wrapper wrapper) {
  z_stream strm{};
  int window_bits = wrapper == Wrapper::kGzip ? 15 + 16 : wrapper == Wrapper::kZlib ? 15 : -15;
  deflateInit2(&strm, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&strm, data.size()), '\0');
  strm.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  strm.avail_in = static_cast<uInt>(data.size());
  strm.next_out = reinterpret_cast<Bytef*>(out.data());
  strm.avail_out = static_cast<uInt>(out.size());
  deflate(&strm, Z_FINISH);
  out.resize(strm.total_out);
  deflateEnd(&strm);
  return out;
}

}  // namespace ca::http::testing
