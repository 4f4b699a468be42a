#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "http/request.h"
#include "http/response.h"

namespace ca::http {

/// A directory of static files (the web dashboard's built assets), read into memory once: they are
/// small and served often. Each file keeps a gzip copy when that is smaller, and an ETag.
///
/// Caching: names carrying a content hash (`app-3F2A9C1B.js`: a dash and 8+ hex or base32 chars
/// before the extension) are immutable for a year; everything else (index.html, tracker.js) is
/// revalidated (`no-cache`, answered 304 on a matching If-None-Match). HTML is sent with a strict
/// Content-Security-Policy: scripts, styles and connections from this origin only, no inline
/// script, no plugins, no framing.
class StaticFiles {
 public:
  struct File {
    std::string content_type;
    std::string body;
    std::string gzip_body;  ///< empty when gzip would not be smaller
    std::string etag;       ///< quoted, e.g. "\"5d41402abc4b2a76\""
    bool immutable = false;
  };

  /// Reads every regular file under `dir` (recursively; at most 64 MiB in all). Names are served
  /// relative to `dir` with '/' separators. Fails when `dir` is not a readable directory.
  static Result<std::unique_ptr<StaticFiles>> Load(const std::string& dir);

  /// The response for file `name` (relative, e.g. "index.html" or "assets/app-1A2B3C4D.js"):
  /// gzip when the request accepts it, 304 when its If-None-Match matches, 404 `not_found` when
  /// there is no such file. `name` is only looked up, never used as a path.
  Response Serve(const Request& request, std::string_view name) const;

  bool Has(std::string_view name) const { return files_.find(name) != files_.end(); }
  size_t size() const { return files_.size(); }
  const std::string& dir() const { return dir_; }

  /// The Content-Security-Policy sent with HTML.
  static const char* ContentSecurityPolicy();

 private:
  std::string dir_;
  std::map<std::string, File, std::less<>> files_;
};

}  // namespace ca::http
