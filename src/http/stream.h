#pragma once

#include <functional>
#include <optional>
#include <string>

namespace ca::http {

/// The messages of a long-lived response (`Response::stream`). The connection becomes a WebSocket
/// (text frames) when the request asked to upgrade (`Upgrade: websocket`), else a Server-Sent
/// Events stream (`200 text/event-stream`, one `data:` frame per message). The connection pulls
/// messages one at a time, only when the previous one was written: the source owns the queue and
/// its bound, the HTTP layer holds at most one message per connection.
///
/// Thread safety: `Open`, `Next` and `Closed` are called on the connection's strand, never
/// concurrently with each other; the `wake` function may be called from any thread.
class StreamSource {
 public:
  virtual ~StreamSource() = default;

  /// Called once when the stream is open (WebSocket handshake done, or SSE header queued).
  /// Calling `wake` (any thread, any number of times, also after the stream ended, when it does
  /// nothing) makes the connection call `Next` soon.
  virtual void Open(std::function<void()> wake) = 0;
  /// The next message, or nullopt when none waits (the source then calls `wake` when one does).
  /// A message is one JSON document or other text without line breaks.
  virtual std::optional<std::string> Next() = 0;
  /// Called once when the stream ended: the client left, a write failed or timed out, the
  /// handshake failed (then without `Open` before it), or the server stops. Nothing follows.
  virtual void Closed() = 0;
};

}  // namespace ca::http
