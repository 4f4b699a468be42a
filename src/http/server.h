#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/router.h"

namespace ca::http {

/// Listening and limit settings of a `Server`.
struct ServerOptions {
  std::string host = "127.0.0.1";
  /// 0 = let the OS pick a free port (see `Server::port()`).
  uint16_t port = 8080;
  /// I/O threads running handlers.
  int threads = 2;
  /// Largest body accepted, both as sent and after decoding; larger answers 413 body_too_large
  /// and closes the connection.
  size_t max_body_bytes = 1 << 20;
  /// Largest request line + header fields; larger answers 400 and closes.
  uint32_t max_header_bytes = 16 * 1024;
  /// Time a keep-alive connection may wait for the first byte of its next request.
  int idle_timeout_ms = 60000;
  /// Time to receive one whole request once its first byte arrived.
  int read_timeout_ms = 30000;
  /// Time to write one response, or one message of a stream (`Response::stream`).
  int write_timeout_ms = 30000;
  /// Streams: an SSE keep-alive comment after this long without a message; a WebSocket ping after
  /// this long without a frame from the client (closed when still silent after twice as long).
  int stream_keepalive_ms = 15000;
  /// Content-Encodings decoded for handlers; any other answers 415 unsupported_encoding.
  std::vector<std::string> decoded_encodings = {"identity", "gzip", "deflate"};
  /// One structured log line per answered request (request id, method, path, status, time).
  bool access_log = true;
  /// Open connections (streams included) at most. Past it a new connection is answered 503
  /// `overloaded` with Retry-After and closed, so that memory stays bounded under a flood.
  size_t max_connections = 10'000;
};

/// An asynchronous, multi-threaded HTTP/1.0 and 1.1 server (Boost.Beast): keep-alive, one request
/// at a time per connection (pipelining-safe), bodies decoded per Content-Encoding, limits and
/// timeouts, JSON error bodies (`ErrorResponse`), `Server: career-analytics` on every response.
/// A handler that throws or drops its `Responder` gets a 500; the server keeps serving.
/// Public methods are thread-safe.
class Server {
 public:
  /// Counters since `Start`.
  struct Stats {
    /// Requests handed to the router.
    uint64_t requests = 0;
    /// Requests refused before routing (malformed, too large, bad encoding).
    uint64_t rejected_requests = 0;
    /// Handler exceptions caught.
    uint64_t handler_errors = 0;
    uint64_t accepted_connections = 0;
    uint64_t active_connections = 0;
    /// Connections turned away at `max_connections`.
    uint64_t refused_connections = 0;
  };

  Server(ServerOptions options, Router router);
  /// Shuts down (no grace) if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds, listens and starts the I/O threads. kIoError when the address cannot be bound (e.g.
  /// "address 127.0.0.1:8080 in use"), kInvalidArgument for a bad host, kUnavailable when called
  /// twice.
  Status Start();
  /// The bound port (after a successful `Start`), 0 before.
  uint16_t port() const;

  /// Graceful stop: stops accepting, closes idle connections, lets requests in flight finish and
  /// their responses be written (with Connection: close), waits up to `grace` for every
  /// connection to close, then closes the rest and stops the threads. Blocks until done, except
  /// when called from a handler (I/O thread): then it only starts the shutdown. Idempotent.
  void Shutdown(std::chrono::milliseconds grace);
  /// Blocks until a shutdown has completed.
  void Wait();

  Stats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ca::http
