#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ca::http {

/// One parsed HTTP request, as handed to a `Handler`. Plain data; the handler may modify or move
/// from it. Not thread-safe (owned by one handler at a time).
struct Request {
  /// Request method as sent, e.g. "GET", "POST".
  std::string method;
  /// Raw request target, e.g. "/a%20b?x=1".
  std::string target;
  /// Percent-decoded path without the query, e.g. "/a b".
  std::string path;
  /// The path as sent, still percent-encoded, e.g. "/a%20b": routes with `{name}` segments are
  /// matched on it, so that an encoded '/' ("%2F") stays inside its segment. Empty: `path`.
  std::string raw_path;
  /// Raw query string after '?', without the '?'; empty when absent.
  std::string query;
  /// Header fields in arrival order; names lower-cased, values as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Body, already decoded per Content-Encoding (identity, gzip, deflate).
  std::string body;
  /// Peer IP address (no port), e.g. "127.0.0.1".
  std::string remote_address;
  /// HTTP version times ten: 10 or 11.
  int version = 11;
  /// The request's id: the client's `X-Request-Id` when it is 1 to 64 characters of
  /// [A-Za-z0-9._-], else a new random one. The response carries it back (`X-Request-Id`) and
  /// the access log names it.
  std::string request_id;
  /// Values of the `{name}` segments of the route that matched (Router), in path order.
  std::vector<std::pair<std::string, std::string>> path_params;

  /// Value of the first header named `lower_name` (lower-case), or "" when absent.
  std::string_view Header(std::string_view lower_name) const;
  /// Percent-decoded value ('+' = space) of the first query parameter `name`, or "" when absent.
  std::string QueryParam(std::string_view name) const;
  /// The value of the route's `{name}` segment, or "" when the route has none.
  std::string_view PathParam(std::string_view name) const;
};

/// Decodes %XX escapes in `in` (and '+' as a space when `plus_as_space`). Returns nullopt on a
/// malformed escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space);

/// Splits a request target into its decoded path and raw query (and, when `raw_path` is given,
/// the path as sent). Accepts origin form ("/p?q"), absolute form ("http://host/p?q") and "*".
/// Returns false for anything else or a malformed escape.
bool SplitTarget(std::string_view target, std::string* path, std::string* query,
                 std::string* raw_path = nullptr);

}  // namespace ca::http
