#include "http/connection.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "base/clock.h"
#include "base/random.h"
#include "http/body_decoder.h"
#include "http/errors.h"
#include "http/request.h"
#include "http/responder.h"
#include "http/structured_log.h"

namespace ca::http {
namespace {

// A client's X-Request-Id is kept when it is 1 to 64 characters of [A-Za-z0-9._-].
bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using std::chrono::milliseconds;

constexpr size_t kReadChunkBytes = 8 * 1024;
constexpr std::string_view kServerName = "career-analytics";
// Before closing, unread request bytes are drained for a while so that the kernel does not answer
// them with a reset that would destroy the response we just wrote.
constexpr milliseconds kLingerTime{1000};
constexpr size_t kMaxLingerBytes = 16 << 20;
const std::string kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::partial_message && ec != bhttp::error::end_of_stream;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view ToStd(boost::beast::string_view s) { return {s.data(), s.size()}; }

}  // namespace

Connection::Connection(asio::ip::tcp::socket socket, ServerContext& ctx)
    : ctx_(ctx), stream_(std::move(socket)), executor_(stream_.get_executor()) {
  beast::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_address_ = endpoint.address().to_string();
}

Connection::~Connection() = default;

void Connection::Start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->WaitForRequest(); });
}

void Connection::OnShutdown() {
  if (state_ == State::kIdle) Close();
  if (state_ == State::kStreaming) stream_session_->Stop();
}

void Connection::Close() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kStreaming) {
    state_ = State::kClosed;
    // The session owns the socket; its end (now, or already) leaves the registry.
    stream_session_->Close();
    ctx_.connections.Remove(this);
    return;
  }
  state_ = State::kClosed;
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.close();
  ctx_.connections.Remove(this);
}

void Connection::WaitForRequest() {
  if (state_ == State::kClosed) return;
  state_ = State::kIdle;
  if (buffer_.size() > 0) {
    ReadHeader();
    return;
  }
  if (ctx_.shutting_down) {
    Close();
    return;
  }
  stream_.expires_after(milliseconds(ctx_.options.idle_timeout_ms));
  stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            if (ec) {
                              self->OnReadError(ec);
                              return;
                            }
                            self->buffer_.commit(n);
                            self->ReadHeader();
                          });
}

void Connection::ReadHeader() {
  if (state_ == State::kClosed) return;
  state_ = State::kReading;
  parser_.emplace();
  parser_->header_limit(ctx_.options.max_header_bytes);
  parser_->body_limit(ctx_.options.max_body_bytes);
  stream_.expires_after(milliseconds(ctx_.options.read_timeout_ms));
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void Connection::OnHeader(beast::error_code ec) {
  if (ec) {
    OnReadError(ec);
    return;
  }
  const auto& header = parser_->get();
  version_ = header.version();
  if (version_ >= 11 && !parser_->is_done() &&
      beast::iequals(header[bhttp::field::expect], "100-continue")) {
    asio::async_write(stream_, asio::buffer(kContinueResponse),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) {
                          self->OnReadError(ec);
                          return;
                        }
                        self->ReadBody();
                      });
    return;
  }
  ReadBody();
}

void Connection::ReadBody() {
  if (state_ == State::kClosed) return;
  if (parser_->is_done()) {
    OnRequest({});
    return;
  }
  bhttp::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRequest(ec); });
}

void Connection::OnRequest(beast::error_code ec) {
  if (ec) {
    OnReadError(ec);
    return;
  }
  Dispatch();
}

void Connection::OnReadError(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kReading && ec == bhttp::error::body_limit) {
    Reject({ErrorCode::kBodyTooLarge,
            "request body exceeds " + std::to_string(ctx_.options.max_body_bytes) + " bytes"});
    return;
  }
  if (state_ == State::kReading && IsHttpParseError(ec)) {
    Reject({ErrorCode::kBadRequest, "malformed request: " + ec.message()});
    return;
  }
  Close();
}

void Connection::Reject(const Status& status) {
  ++ctx_.rejected_requests;
  if (request_id_.empty()) {  // refused before it was dispatched
    request_id_ = RandomHex(8);
    started_ns_ = MonotonicNanos();
    log_method_.clear();
    log_path_.clear();
  }
  parser_.reset();
  keep_alive_ = false;
  close_after_ = true;
  head_ = false;
  state_ = State::kHandling;
  Send(ErrorResponse(status));
}

void Connection::Dispatch() {
  bhttp::request<bhttp::string_body> message = parser_->release();
  parser_.reset();
  state_ = State::kHandling;
  version_ = message.version();
  keep_alive_ = message.keep_alive();
  head_ = message.method() == bhttp::verb::head;
  close_after_ = false;
  upgrade_request_.reset();
  if (beast::websocket::is_upgrade(message)) {
    upgrade_request_.emplace(static_cast<const bhttp::request_header<>&>(message));
  }

  Request request;
  request.method = std::string(ToStd(message.method_string()));
  request.target = std::string(ToStd(message.target()));
  request.version = static_cast<int>(version_);
  request.remote_address = remote_address_;
  started_ns_ = MonotonicNanos();
  log_method_ = request.method;
  log_path_.clear();
  const std::string_view client_id = ToStd(message["X-Request-Id"]);
  request_id_ = IsValidRequestId(client_id) ? std::string(client_id) : RandomHex(8);
  request.request_id = request_id_;
  if (!SplitTarget(request.target, &request.path, &request.query, &request.raw_path)) {
    Reject({ErrorCode::kBadRequest, "malformed request target"});
    return;
  }
  log_path_ = request.path;
  request.headers.reserve(static_cast<size_t>(std::distance(message.begin(), message.end())));
  for (const auto& field : message) {
    request.headers.emplace_back(Lower(ToStd(field.name_string())),
                                 std::string(ToStd(field.value())));
  }
  std::string_view encoding = request.Header("content-encoding");
  bool identity = true;
  for (const std::string& token : ContentEncodingTokens(encoding)) {
    if (token == "identity") continue;
    identity = false;
    const auto& allowed = ctx_.options.decoded_encodings;
    if (std::find(allowed.begin(), allowed.end(), token) == allowed.end()) {
      Reject({ErrorCode::kUnsupportedEncoding, "unsupported Content-Encoding: " + token});
      return;
    }
  }
  if (identity) {
    request.body = std::move(message.body());
  } else if (Status s =
                 DecodeBody(encoding, message.body(), ctx_.options.max_body_bytes, &request.body);
             !s.ok()) {
    Reject(s);
    return;
  }

  ++ctx_.requests;
  std::weak_ptr<Connection> weak = weak_from_this();
  Responder responder([gate = ctx_.gate, weak](Response response) {
    gate->Run([&] {
      if (auto self = weak.lock()) {
        asio::post(self->executor(),
                   [self, r = std::move(response)]() mutable { self->Send(std::move(r)); });
      }
    });
  });
  std::string method = request.method;
  std::string path = request.path;
  try {
    ctx_.router.Dispatch(request, responder);
  } catch (const std::exception& e) {
    ++ctx_.handler_errors;
    spdlog::error("http: handler for {} {} threw: {}", method, path, e.what());
    responder.TryRespond(ErrorResponse(Internal("the request handler failed")));
  } catch (...) {
    ++ctx_.handler_errors;
    spdlog::error("http: handler for {} {} threw a non-standard exception", method, path);
    responder.TryRespond(ErrorResponse(Internal("the request handler failed")));
  }
}

void Connection::Send(Response response) {
  if (state_ != State::kHandling) return;
  if (response.stream != nullptr) {
    if (!head_) {
      StartStream(std::move(response));
      return;
    }
    // HEAD: the stream's header alone.
    response.stream.reset();
    response.status = 200;
    response.content_type = "text/event-stream; charset=utf-8";
    response.headers.emplace_back("Cache-Control", "no-store");
    response.body.clear();
  }
  upgrade_request_.reset();
  int status = response.status;
  if (status < 100 || status > 999) status = 500;
  if (!response.file_path.empty()) {
    if (SendFile(response, status)) return;
    spdlog::error("http: cannot open {} for {} {}", response.file_path, log_method_, log_path_);
    response = ErrorResponse(Internal("the file to send cannot be read"));
    status = response.status;
  }
  state_ = State::kWriting;
  response_.emplace();
  HttpResponse& res = *response_;
  res.version(version_);
  res.result(static_cast<unsigned>(status));
  res.set(bhttp::field::server, kServerName.data());
  res.set("X-Request-Id", request_id_);
  LogAccess(status);
  if (!response.content_type.empty()) res.set(bhttp::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) {
    std::string lower = Lower(name);
    if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection") {
      continue;
    }
    if (lower == "server" || lower == "content-type") {
      res.set(name, value);
    } else {
      res.insert(name, value);
    }
  }
  bool has_body = status >= 200 && status != 204 && status != 304;
  if (has_body) res.body() = std::move(response.body);
  keep_alive_ = keep_alive_ && !close_after_ && !ctx_.shutting_down;
  res.keep_alive(keep_alive_);
  res.prepare_payload();
  serializer_.emplace(res);
  stream_.expires_after(milliseconds(ctx_.options.write_timeout_ms));
  auto on_written = [self = shared_from_this()](beast::error_code ec, size_t) {
    self->OnWritten(ec);
  };
  if (head_) {
    bhttp::async_write_header(stream_, *serializer_, std::move(on_written));
  } else {
    bhttp::async_write(stream_, *serializer_, std::move(on_written));
  }
}

void Connection::StartStream(Response response) {
  state_ = State::kStreaming;
  LogAccess(upgrade_request_.has_value() ? 101 : 200);
  StreamSession::Params params;
  params.source = std::move(response.stream);
  params.gate = ctx_.gate;
  std::weak_ptr<Connection> weak = weak_from_this();
  params.on_end = [weak] {
    if (auto self = weak.lock()) self->Close();
  };
  params.write_timeout = milliseconds(ctx_.options.write_timeout_ms);
  params.keepalive = milliseconds(std::max(1, ctx_.options.stream_keepalive_ms));
  params.request_id = request_id_;
  params.http_version = version_;
  params.headers = std::move(response.headers);
  request_id_.clear();
  buffer_.consume(buffer_.size());
  if (upgrade_request_.has_value()) {
    StreamSession::UpgradeRequest upgrade = std::move(*upgrade_request_);
    upgrade_request_.reset();
    stream_session_ = StreamSession::StartWebSocket(std::move(stream_), upgrade, std::move(params));
  } else {
    stream_session_ = StreamSession::StartSse(std::move(stream_), std::move(params));
  }
  if (ctx_.shutting_down) stream_session_->Stop();  // the shutdown passed this connection by
}

void Connection::LogAccess(int status) {
  if (!ctx_.options.access_log) return;
  LogStructured(status >= 500 ? spdlog::level::warn : spdlog::level::info,
                {{"msg", "request"},
                 {"request_id", request_id_},
                 {"method", log_method_},
                 {"path", log_path_},
                 {"status", status},
                 {"duration_ms", static_cast<double>(MonotonicNanos() - started_ns_) / 1e6},
                 {"remote", remote_address_}});
}

bool Connection::SendFile(Response& response, int status) {
  beast::error_code ec;
  bhttp::file_body::value_type file;
  file.open(response.file_path.c_str(), beast::file_mode::scan, ec);
  if (ec) return false;
  state_ = State::kWriting;
  file_response_.emplace(std::piecewise_construct, std::make_tuple(std::move(file)),
                         std::make_tuple(static_cast<bhttp::status>(status), version_));
  auto& res = *file_response_;
  res.set(bhttp::field::server, kServerName.data());
  res.set("X-Request-Id", request_id_);
  if (!response.content_type.empty()) res.set(bhttp::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) {
    std::string lower = Lower(name);
    if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection") {
      continue;
    }
    res.set(name, value);
  }
  LogAccess(status);
  keep_alive_ = keep_alive_ && !close_after_ && !ctx_.shutting_down;
  res.keep_alive(keep_alive_);
  res.prepare_payload();
  file_serializer_.emplace(res);
  stream_.expires_after(milliseconds(ctx_.options.write_timeout_ms));
  auto on_written = [self = shared_from_this()](beast::error_code write_ec, size_t) {
    self->OnWritten(write_ec);
  };
  if (head_) {
    bhttp::async_write_header(stream_, *file_serializer_, std::move(on_written));
  } else {
    bhttp::async_write(stream_, *file_serializer_, std::move(on_written));
  }
  return true;
}

void Connection::OnWritten(beast::error_code ec) {
  serializer_.reset();
  response_.reset();
  file_serializer_.reset();
  file_response_.reset();
  request_id_.clear();
  if (state_ == State::kClosed) return;
  if (ec) {
    Close();
    return;
  }
  if (keep_alive_) {
    WaitForRequest();
    return;
  }
  Linger();
}

void Connection::Linger() {
  state_ = State::kLingering;
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerTime);
  DrainSome();
}

void Connection::DrainSome() {
  buffer_.consume(buffer_.size());
  stream_.async_read_some(buffer_.prepare(kReadChunkBytes), [self = shared_from_this()](
                                                                beast::error_code ec, size_t n) {
    self->lingered_bytes_ += n;
    if (ec || self->lingered_bytes_ > kMaxLingerBytes || self->state_ != State::kLingering) {
      self->Close();
      return;
    }
    self->DrainSome();
  });
}

}  // namespace ca::http
