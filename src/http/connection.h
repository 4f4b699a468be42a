#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>

#include "base/status.h"
#include "http/response.h"
#include "http/server_context.h"
#include "http/stream_session.h"

namespace ca::http {

/// One accepted TCP connection: reads a request, dispatches it, writes the answer, repeats while
/// keep-alive. A response with a `stream` turns it into a StreamSession (WebSocket or SSE) until
/// it closes. Internal to the server. Every member function runs on the connection's strand
/// (the socket's executor); other threads reach it through `asio::post`.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, ServerContext& ctx);
  ~Connection();

  /// Starts reading (posts to the strand).
  void Start();
  /// Shutdown began: closes the connection if it is between requests.
  void OnShutdown();
  /// Closes the socket now and leaves the registry.
  void Close();
  /// Writes the answer to the current request (ignored if there is none or the socket closed).
  void Send(Response response);

  boost::asio::any_io_executor executor() { return executor_; }

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kLingering, kStreaming, kClosed };
  using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
  using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

  void WaitForRequest();
  void ReadHeader();
  void OnHeader(boost::beast::error_code ec);
  void ReadBody();
  void OnRequest(boost::beast::error_code ec);
  void Dispatch();
  /// Answers the current request with an error and closes after writing.
  void Reject(const Status& status);
  void OnReadError(boost::beast::error_code ec);
  void OnWritten(boost::beast::error_code ec);
  /// Send for a response whose body is the file `response.file_path`; false when it cannot be
  /// opened (then nothing was sent).
  bool SendFile(Response& response, int status);
  /// Hands the socket to a StreamSession for `response.stream`.
  void StartStream(Response response);
  /// The access-log line of the request being answered with `status`.
  void LogAccess(int status);
  /// Half-closes and drains unread input for a while, then closes.
  void Linger();
  void DrainSome();

  ServerContext& ctx_;
  boost::beast::tcp_stream stream_;
  boost::asio::any_io_executor executor_;  // the strand; stream_ is moved out when streaming
  boost::beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::string remote_address_;
  size_t lingered_bytes_ = 0;
  State state_ = State::kIdle;
  // Per request.
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool close_after_ = false;
  std::string request_id_;  // empty between requests
  std::string log_method_;  // for the access log
  std::string log_path_;
  int64_t started_ns_ = 0;
  std::optional<HttpResponse> response_;
  // The request's header when it asked for a WebSocket upgrade.
  std::optional<StreamSession::UpgradeRequest> upgrade_request_;
  std::shared_ptr<StreamSession> stream_session_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::string_body>>
      serializer_;
  // A response whose body is a file (Response::file_path), streamed by Beast.
  std::optional<boost::beast::http::response<boost::beast::http::file_body>> file_response_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::file_body>>
      file_serializer_;
};

}  // namespace ca::http
