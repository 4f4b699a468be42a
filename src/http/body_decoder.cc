#include "http/body_decoder.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>

#include <zlib.h>

namespace ca::http {
namespace {

constexpr size_t kChunkBytes = 16 * 1024;
constexpr size_t kMaxEncodings = 4;

enum class Format { kGzip, kZlib, kRawDeflate };

// Owns an inflate stream; inflateEnd on destruction.
class Inflater {
 public:
  Inflater() { std::memset(&strm_, 0, sizeof(strm_)); }
  ~Inflater() {
    if (initialised_) inflateEnd(&strm_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  bool Init(Format format) {
    int window_bits = format == Format::kGzip ? 15 + 16 : format == Format::kZlib ? 15 : -15;
    initialised_ = inflateInit2(&strm_, window_bits) == Z_OK;
    return initialised_;
  }
  z_stream* strm() { return &strm_; }

 private:
  z_stream strm_;
  bool initialised_ = false;
};

bool LooksLikeZlibHeader(std::string_view raw) {
  if (raw.size() < 2) return false;
  auto b0 = static_cast<unsigned char>(raw[0]);
  auto b1 = static_cast<unsigned char>(raw[1]);
  return (b0 & 0x0f) == Z_DEFLATED && (b0 >> 4) <= 7 && (b0 * 256 + b1) % 31 == 0;
}

bool LooksLikeGzipHeader(std::string_view raw) {
  return raw.size() >= 2 && static_cast<unsigned char>(raw[0]) == 0x1f &&
         static_cast<unsigned char>(raw[1]) == 0x8b;
}

Status Inflate(Format format, std::string_view raw, size_t max_bytes, std::string* out) {
  out->clear();
  if (raw.empty()) return Status::Ok();
  Inflater inflater;
  if (!inflater.Init(format)) return Internal("zlib inflateInit2 failed");
  z_stream* strm = inflater.strm();
  const char* next = raw.data();
  size_t remaining = raw.size();
  unsigned char chunk[kChunkBytes];
  for (;;) {
    if (strm->avail_in == 0 && remaining > 0) {
      uInt feed = static_cast<uInt>(std::min<size_t>(remaining, UINT_MAX));
      strm->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(next));
      strm->avail_in = feed;
      next += feed;
      remaining -= feed;
    }
    strm->next_out = chunk;
    strm->avail_out = sizeof(chunk);
    int rc = inflate(strm, Z_NO_FLUSH);
    size_t produced = sizeof(chunk) - strm->avail_out;
    if (produced > max_bytes - out->size()) {
      return {ErrorCode::kBodyTooLarge,
              "decoded body exceeds " + std::to_string(max_bytes) + " bytes"};
    }
    out->append(reinterpret_cast<const char*>(chunk), produced);
    switch (rc) {
      case Z_OK:
        continue;
      case Z_STREAM_END: {
        size_t left = strm->avail_in + remaining;
        if (left == 0) return Status::Ok();
        std::string_view rest(reinterpret_cast<const char*>(strm->next_in), strm->avail_in);
        if (format == Format::kGzip && LooksLikeGzipHeader(rest) && inflateReset(strm) == Z_OK) {
          continue;
        }
        return {ErrorCode::kBadRequest, "unexpected data after the end of the compressed body"};
      }
      case Z_BUF_ERROR:
        if (produced > 0 || strm->avail_in > 0 || remaining > 0) continue;
        return {ErrorCode::kBadRequest, "truncated compressed body"};
      case Z_MEM_ERROR:
        return Internal("zlib out of memory");
      default:
        return {ErrorCode::kBadRequest,
                std::string("corrupt compressed body: ") + (strm->msg ? strm->msg : "bad data")};
    }
  }
}

Status DecodeOne(std::string_view encoding, std::string_view raw, size_t max_bytes,
                 std::string* out) {
  if (encoding.empty() || encoding == "identity") {
    if (raw.size() > max_bytes) {
      return {ErrorCode::kBodyTooLarge, "body exceeds " + std::to_string(max_bytes) + " bytes"};
    }
    out->assign(raw);
    return Status::Ok();
  }
  if (encoding == "gzip" || encoding == "x-gzip")
    return Inflate(Format::kGzip, raw, max_bytes, out);
  if (encoding == "deflate") {
    Format format = LooksLikeZlibHeader(raw) ? Format::kZlib : Format::kRawDeflate;
    return Inflate(format, raw, max_bytes, out);
  }
  return {ErrorCode::kUnsupportedEncoding,
          "unsupported Content-Encoding: " + std::string(encoding)};
}

}  // namespace

std::vector<std::string> ContentEncodingTokens(std::string_view content_encoding) {
  std::vector<std::string> tokens;
  std::string_view rest = content_encoding;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view token = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (token.empty()) continue;
    std::string lower(token);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    tokens.push_back(std::move(lower));
  }
  return tokens;
}

Status DecodeBody(std::string_view content_encoding, std::string_view raw, size_t max_bytes,
                  std::string* out) {
  std::vector<std::string> tokens = ContentEncodingTokens(content_encoding);
  tokens.erase(std::remove(tokens.begin(), tokens.end(), "identity"), tokens.end());
  if (tokens.size() > kMaxEncodings) {
    out->clear();
    return {ErrorCode::kUnsupportedEncoding, "too many Content-Encoding layers"};
  }
  if (tokens.empty()) tokens.emplace_back("identity");
  Status status;
  std::string decoded;
  std::string_view input = raw;
  for (size_t i = tokens.size(); i-- > 0;) {
    std::string next;
    status = DecodeOne(tokens[i], input, max_bytes, &next);
    if (!status.ok()) break;
    decoded = std::move(next);
    input = decoded;
  }
  if (status.ok()) *out = std::move(decoded);
  if (!status.ok()) out->clear();
  return status;
}

}  // namespace ca::http
