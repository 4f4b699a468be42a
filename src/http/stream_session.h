#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/server_context.h"
#include "http/stream.h"

namespace ca::http {

/// A connection after its handler answered with `Response::stream`: writes the source's messages
/// one at a time as WebSocket text frames or Server-Sent Events, with keep-alives, until the
/// client leaves, a write times out or the server stops. Internal to the server (Connection owns
/// it). Every member function runs on the socket's strand.
class StreamSession : public std::enable_shared_from_this<StreamSession> {
 public:
  /// What both kinds of stream need.
  struct Params {
    std::shared_ptr<StreamSource> source;
    /// Wakes reach the strand only while the gate is open (the I/O context exists).
    std::shared_ptr<ResponseGate> gate;
    /// Called once when the stream ended (on the strand).
    std::function<void()> on_end;
    /// A message (or keep-alive) not written within this time ends the stream.
    std::chrono::milliseconds write_timeout{30000};
    /// SSE keep-alive comment interval; WebSocket pings when the client was silent this long.
    std::chrono::milliseconds keepalive{15000};
    std::string request_id;
    unsigned http_version = 11;
    /// Extra response header fields (SSE only).
    std::vector<std::pair<std::string, std::string>> headers;
  };
  using UpgradeRequest = boost::beast::http::request<boost::beast::http::empty_body>;

  /// Answers `200 text/event-stream` on `stream` and starts the stream.
  static std::shared_ptr<StreamSession> StartSse(boost::beast::tcp_stream stream, Params params);
  /// Accepts the WebSocket `upgrade` on `stream` and starts the stream.
  static std::shared_ptr<StreamSession> StartWebSocket(boost::beast::tcp_stream stream,
                                                       const UpgradeRequest& upgrade,
                                                       Params params);

  virtual ~StreamSession() = default;

  /// Server shutdown: ends the stream promptly (a WebSocket close frame `going away`).
  virtual void Stop() = 0;
  /// Closes the socket now.
  void Close() { End(); }

 protected:
  explicit StreamSession(Params params, boost::asio::any_io_executor executor);

  /// Writes one message; calls OnWritten when done.
  virtual void WriteMessage(std::string message) = 0;
  /// Writes a keep-alive (SSE comment); false when the kind has none of its own (WebSocket).
  virtual bool WriteKeepalive() = 0;
  /// Closes the socket (cancels pending operations).
  virtual void CloseSocket() = 0;

  /// The stream is open: hands the waker to the source and starts pumping.
  void Opened();
  void OnWritten(boost::beast::error_code ec);
  /// Ends the stream once: closes the socket, tells the source and the connection.
  void End();
  bool ended() const { return ended_; }
  bool opened() const { return opened_; }

  Params params_;
  boost::asio::any_io_executor executor_;

 private:
  void Pump();
  void ArmKeepalive();

  boost::asio::steady_timer keepalive_timer_;
  std::shared_ptr<std::atomic<bool>> wake_pending_ = std::make_shared<std::atomic<bool>>(false);
  bool opened_ = false;
  bool writing_ = false;
  bool keepalive_due_ = false;
  bool ended_ = false;
  std::chrono::steady_clock::time_point write_started_;
  std::chrono::steady_clock::time_point last_write_;
};

}  // namespace ca::http
