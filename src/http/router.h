#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/request.h"
#include "http/responder.h"

namespace ca::http {

/// Handles one request. Runs on a server I/O thread: must not block for long; slow work answers
/// later through the `Responder` (from any thread). `request` is valid only during the call: move
/// out what later work needs. Exceptions are caught by the server (500 `internal`).
using Handler = std::function<void(Request&, Responder)>;

/// Maps (method, path) to handlers. A path is matched exactly, or by a pattern whose segments
/// may be `{name}` (one non-empty segment, e.g. "/analytics/exports/{id}"; the values land in
/// Request::path_params). Exact paths win over patterns; patterns are tried in the order they
/// were added. Populate before giving it to the `Server`; `Dispatch` is const and safe to call
/// concurrently.
class Router {
 public:
  /// Registers `h` for `method` (e.g. "GET") on `path` (decoded, e.g. "/healthz", or a pattern).
  /// A later registration of the same pair replaces the earlier one.
  void Add(std::string method, std::string path, Handler h);

  /// Calls the matching handler. HEAD falls back to the GET handler (the server drops the body).
  /// Unknown path: 404 `route_not_found`; known path, other method: 405 `method_not_allowed` with
  /// an Allow header.
  void Dispatch(Request& request, Responder responder) const;

  /// Every registered (method, path or pattern), sorted: for API descriptions and their tests.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  using Methods = std::map<std::string, Handler>;
  struct Pattern {
    std::string path;
    std::vector<std::string> segments;  // "{name}" for a parameter
    Methods methods;
  };
  /// The methods of the pattern matching `path` (percent-encoded when `encoded`: its segments
  /// are decoded after the split), filling `params`; null when none matches.
  const Methods* MatchPattern(std::string_view path, bool encoded,
                              std::vector<std::pair<std::string, std::string>>* params) const;

  // path -> method -> handler
  std::map<std::string, Methods, std::less<>> routes_;
  std::vector<Pattern> patterns_;
};

}  // namespace ca::http
