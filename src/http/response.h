#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "http/stream.h"

namespace ca::http {

/// An HTTP response produced by a handler. The server adds Content-Length, Connection and
/// `Server: career-analytics`. In `headers`, Content-Length, Transfer-Encoding and Connection are
/// ignored, Server and Content-Type replace the defaults, other names may repeat (Set-Cookie).
struct Response {
  int status = 200;
  /// Content-Type header; omitted when empty.
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// When set, the body is this file instead, streamed from disk in chunks (large downloads are
  /// never held in memory); a file that cannot be opened is answered 500.
  std::string file_path;
  /// When set, the response is a long-lived stream of this source's messages (stream.h): a
  /// WebSocket when the request asked to upgrade, else `200 text/event-stream`. `status`, `body`
  /// and `content_type` are then ignored; `headers` are sent (SSE only).
  std::shared_ptr<StreamSource> stream;

  /// A response with `body` as application/json.
  static Response Json(int status, std::string body);
  /// A response with `body` as text/plain; charset=utf-8.
  static Response Text(int status, std::string body);
};

}  // namespace ca::http
