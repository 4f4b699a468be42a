#include "http/stream_session.h"

#include <algorithm>
#include <array>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>

namespace ca::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kServerName = "career-analytics";
// Clients send nothing a stream needs: a WebSocket message larger than this is a protocol error
// (Beast closes with "message too big"), and an SSE client sending this much is closed.
constexpr size_t kMaxClientMessageBytes = 4096;
constexpr size_t kMaxSseClientBytes = 64 * 1024;
constexpr milliseconds kHandshakeTimeout{10000};

// A header value may not break the response: drops CR and LF.
std::string HeaderSafe(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

// One SSE event: every line of `message` as a `data:` line (a line break inside a message would
// otherwise end the field), then the blank line that dispatches it.
std::string SseFrame(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 8);
  size_t start = 0;
  while (true) {
    size_t end = message.find_first_of("\r\n", start);
    out += "data: ";
    out.append(message.substr(start, end == std::string_view::npos ? end : end - start));
    out += '\n';
    if (end == std::string_view::npos) break;
    start = end + 1;
    if (message[end] == '\r' && start < message.size() && message[start] == '\n') ++start;
  }
  out += '\n';
  return out;
}

class SseSession final : public StreamSession {
 public:
  SseSession(beast::tcp_stream stream, Params params)
      : StreamSession(std::move(params), stream.get_executor()), stream_(std::move(stream)) {}

  void Begin() {
    stream_.expires_never();  // the session times its own writes
    ReadLoop();
    std::string& h = out_;
    h = params_.http_version >= 11 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.0 200 OK\r\n";
    h += "Server: ";
    h += kServerName;
    h += "\r\nX-Request-Id: " + HeaderSafe(params_.request_id);
    h += "\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n";
    h += "X-Accel-Buffering: no\r\nConnection: close\r\n";
    for (const auto& [name, value] : params_.headers) {
      std::string lower(name);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection" ||
          lower == "content-type" || lower == "server" || lower == "cache-control") {
        continue;
      }
      h += HeaderSafe(name) + ": " + HeaderSafe(value) + "\r\n";
    }
    // The body ends when the connection closes; a first comment makes proxies and clients
    // see the stream at once.
    h += "\r\n: stream open\n\n";
    asio::async_write(stream_, asio::buffer(out_), [self = Self()](beast::error_code ec, size_t) {
      if (ec) {
        self->End();
        return;
      }
      self->Opened();
    });
  }

  void Stop() override { End(); }

 private:
  std::shared_ptr<SseSession> Self() {
    return std::static_pointer_cast<SseSession>(shared_from_this());
  }

  void WriteMessage(std::string message) override {
    out_ = SseFrame(message);
    WriteOut();
  }
  bool WriteKeepalive() override {
    out_ = ": keepalive\n\n";
    WriteOut();
    return true;
  }
  void WriteOut() {
    asio::async_write(stream_, asio::buffer(out_),
                      [self = Self()](beast::error_code ec, size_t) { self->OnWritten(ec); });
  }
  void CloseSocket() override {
    beast::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  // Reads (and discards) until the client closes: that is how a gone client is noticed while
  // nothing is written.
  void ReadLoop() {
    stream_.async_read_some(asio::buffer(in_), [self = Self()](beast::error_code ec, size_t n) {
      self->client_bytes_ += n;
      if (ec || self->client_bytes_ > kMaxSseClientBytes) {
        self->End();
        return;
      }
      if (!self->ended()) self->ReadLoop();
    });
  }

  beast::tcp_stream stream_;
  std::string out_;
  std::array<char, 512> in_{};
  size_t client_bytes_ = 0;
};

class WebSocketSession final : public StreamSession {
 public:
  WebSocketSession(beast::tcp_stream stream, Params params)
      : StreamSession(std::move(params), stream.get_executor()), ws_(std::move(stream)) {}

  void Begin(const UpgradeRequest& upgrade) {
    beast::get_lowest_layer(ws_).expires_never();  // the websocket stream has its own timeouts
    websocket::stream_base::timeout timeout;
    timeout.handshake_timeout = kHandshakeTimeout;
    // Beast pings after half of this without a frame from the client, and closes after all of
    // it: a keep-alive that also notices a vanished client.
    timeout.idle_timeout = 2 * params_.keepalive;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator(
        [id = HeaderSafe(params_.request_id)](websocket::response_type& res) {
          res.set(beast::http::field::server, kServerName.data());
          res.set("X-Request-Id", id);
        }));
    ws_.read_message_max(kMaxClientMessageBytes);
    ws_.auto_fragment(false);
    ws_.text(true);
    ws_.async_accept(upgrade, [self = Self()](beast::error_code ec) {
      if (ec) {
        self->End();
        return;
      }
      self->ReadLoop();
      self->Opened();
    });
  }

  void Stop() override {
    if (ended() || closing_) return;
    if (!opened()) {  // still in the handshake: no close frame to send
      End();
      return;
    }
    closing_ = true;
    ws_.async_close(websocket::close_code::going_away,
                    [self = Self()](beast::error_code) { self->End(); });
  }

 private:
  std::shared_ptr<WebSocketSession> Self() {
    return std::static_pointer_cast<WebSocketSession>(shared_from_this());
  }

  void WriteMessage(std::string message) override {
    out_ = std::move(message);
    ws_.async_write(asio::buffer(out_),
                    [self = Self()](beast::error_code ec, size_t) { self->OnWritten(ec); });
  }
  bool WriteKeepalive() override { return false; }  // Beast pings (idle_timeout above)
  void CloseSocket() override {
    beast::error_code ignored;
    auto& tcp = beast::get_lowest_layer(ws_);
    tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    tcp.close();
  }

  // Client messages are read (Beast answers pings and close frames while a read is pending) and
  // ignored; a read error (close, garbage, too large, idle timeout) ends the stream.
  void ReadLoop() {
    ws_.async_read(in_, [self = Self()](beast::error_code ec, size_t) {
      if (ec) {
        self->End();
        return;
      }
      self->in_.consume(self->in_.size());
      if (!self->ended()) self->ReadLoop();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer in_;
  std::string out_;
  bool closing_ = false;
};

}  // namespace

std::shared_ptr<StreamSession> StreamSession::StartSse(beast::tcp_stream stream, Params params) {
  auto session = std::make_shared<SseSession>(std::move(stream), std::move(params));
  session->Begin();
  return session;
}

std::shared_ptr<StreamSession> StreamSession::StartWebSocket(beast::tcp_stream stream,
                                                             const UpgradeRequest& upgrade,
                                                             Params params) {
  auto session = std::make_shared<WebSocketSession>(std::move(stream), std::move(params));
  session->Begin(upgrade);
  return session;
}

StreamSession::StreamSession(Params params, asio::any_io_executor executor)
    : params_(std::move(params)), executor_(std::move(executor)), keepalive_timer_(executor_) {}

void StreamSession::Opened() {
  if (ended_) return;
  opened_ = true;
  last_write_ = Clock::now();
  std::weak_ptr<StreamSession> weak = weak_from_this();
  params_.source->Open([weak, pending = wake_pending_, gate = params_.gate] {
    if (pending->exchange(true)) return;  // a wake is already on its way
    gate->Run([&] {
      if (auto self = weak.lock()) {
        asio::post(self->executor_, [self] {
          self->wake_pending_->store(false);
          self->Pump();
        });
      }
    });
  });
  ArmKeepalive();
  Pump();
}

void StreamSession::Pump() {
  if (!opened_ || ended_ || writing_) return;
  std::optional<std::string> message = params_.source->Next();
  if (message.has_value()) {
    writing_ = true;
    write_started_ = Clock::now();
    WriteMessage(std::move(*message));
    return;
  }
  if (keepalive_due_) {
    keepalive_due_ = false;
    if (WriteKeepalive()) {
      writing_ = true;
      write_started_ = Clock::now();
    }
  }
}

void StreamSession::OnWritten(beast::error_code ec) {
  writing_ = false;
  last_write_ = Clock::now();
  if (ec) {
    End();
    return;
  }
  Pump();
}

void StreamSession::ArmKeepalive() {
  const milliseconds tick =
      std::max(milliseconds(50), std::min(params_.keepalive, params_.write_timeout) / 3);
  keepalive_timer_.expires_after(tick);
  keepalive_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->ended_) return;
    const auto now = Clock::now();
    if (self->writing_ && now - self->write_started_ > self->params_.write_timeout) {
      self->End();  // the client does not read: drop it rather than wait
      return;
    }
    if (!self->writing_ && now - self->last_write_ >= self->params_.keepalive) {
      self->keepalive_due_ = true;
      self->Pump();
    }
    self->ArmKeepalive();
  });
}

void StreamSession::End() {
  if (ended_) return;
  ended_ = true;
  keepalive_timer_.cancel();
  CloseSocket();
  if (params_.source) params_.source->Closed();
  if (auto on_end = std::move(params_.on_end)) on_end();
}

}  // namespace ca::http
