#include "http/static_files.h"

#include <zlib.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "base/crc32c.h"
#include "http/errors.h"

namespace ca::http {
namespace {

constexpr uintmax_t kMaxTotalBytes = 64u << 20;

std::string_view Extension(std::string_view name) {
  const size_t slash = name.rfind('/');
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
  return name.substr(dot + 1);
}

std::string ContentTypeFor(std::string_view name) {
  const std::string_view ext = Extension(name);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// "app-3F2A9C1B.js": a dash, then at least 8 letters or digits, then the extension. esbuild's
// [hash] is 8 base32 characters; a plain name such as "tracker.js" never matches.
bool HasContentHash(std::string_view name) {
  const size_t slash = name.rfind('/');
  std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == std::string_view::npos) return false;
  base = base.substr(0, dot);
  const size_t dash = base.rfind('-');
  if (dash == std::string_view::npos || base.size() - dash - 1 < 8) return false;
  for (char c : base.substr(dash + 1)) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool Compressible(std::string_view content_type) {
  return content_type.starts_with("text/") || content_type.starts_with("application/json") ||
         content_type.starts_with("image/svg");
}

std::string Gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return {};
  }
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

// True when the Accept-Encoding value lists gzip without q=0.
bool AcceptsGzip(std::string_view accept) {
  size_t pos = 0;
  while (pos < accept.size()) {
    size_t end = accept.find(',', pos);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view item = accept.substr(pos, end - pos);
    pos = end + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const size_t semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding != "gzip" && coding != "x-gzip" && coding != "*") continue;
    if (semi != std::string_view::npos) {
      const std::string_view params = item.substr(semi + 1);
      const size_t q = params.find("q=");
      if (q != std::string_view::npos &&
          std::strtod(std::string(params.substr(q + 2)).c_str(), nullptr) <= 0.0) {
        continue;  // q=0: refused
      }
    }
    return true;
  }
  return false;
}

// True when If-None-Match lists `etag` (or is "*").
bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match == "*") return true;
  size_t pos = 0;
  while (pos < if_none_match.size()) {
    size_t end = if_none_match.find(',', pos);
    if (end == std::string_view::npos) end = if_none_match.size();
    std::string_view item = if_none_match.substr(pos, end - pos);
    pos = end + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) return true;
  }
  return false;
}

}  // namespace

const char* StaticFiles::ContentSecurityPolicy() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
         "form-action 'self'; frame-ancestors 'none'; object-src 'none'";
}

Result<std::unique_ptr<StaticFiles>> StaticFiles::Load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status(ErrorCode::kNotFound, "no directory " + dir);
  }
  auto files = std::make_unique<StaticFiles>();
  files->dir_ = dir;
  uintmax_t total = 0;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot list " + dir + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status(ErrorCode::kIoError, "cannot list " + dir + ": " + ec.message());
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().lexically_relative(dir).generic_string();
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return Status(ErrorCode::kIoError, "cannot read " + it->path().string());
    }
    File file;
    file.body = std::move(body).str();
    total += file.body.size();
    if (total > kMaxTotalBytes) {
      return Status(ErrorCode::kInvalidArgument, dir + " holds more than 64 MiB of files");
    }
    file.content_type = ContentTypeFor(name);
    if (Compressible(file.content_type) && file.body.size() > 256) {
      std::string gz = Gzip(file.body);
      if (!gz.empty() && gz.size() < file.body.size()) file.gzip_body = std::move(gz);
    }
    char etag[32];
    std::snprintf(etag, sizeof etag, "\"%08x-%zx\"", crc32c::Value(file.body), file.body.size());
    file.etag = etag;
    file.immutable = HasContentHash(name);
    files->files_.emplace(name, std::move(file));
  }
  return files;
}

Response StaticFiles::Serve(const Request& request, std::string_view name) const {
  const auto it = files_.find(name);
  if (it == files_.end()) {
    return ErrorResponse(Status(ErrorCode::kNotFound, "no such file: " + std::string(name)));
  }
  const File& file = it->second;
  Response r;
  r.content_type = file.content_type;
  r.headers.emplace_back("ETag", file.etag);
  r.headers.emplace_back("Cache-Control",
                         file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (file.content_type.starts_with("text/html")) {
    r.headers.emplace_back("Content-Security-Policy", ContentSecurityPolicy());
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("X-Frame-Options", "DENY");
  }
  if (!file.gzip_body.empty()) r.headers.emplace_back("Vary", "Accept-Encoding");
  if (EtagMatches(request.Header("if-none-match"), file.etag)) {
    r.status = 304;
    return r;
  }
  if (!file.gzip_body.empty() && AcceptsGzip(request.Header("accept-encoding"))) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = file.gzip_body;
  } else {
    r.body = file.body;
  }
  return r;
}

}  // namespace ca::http
