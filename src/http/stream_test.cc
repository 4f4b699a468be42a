// Long-lived responses (Response::stream): WebSocket and Server-Sent Events against an
// in-process server.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "http/errors.h"
#include "http/server.h"

namespace ca::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using asio::ip::tcp;
using namespace std::chrono_literals;

// A source whose messages the test pushes; records what the connection did with it.
class TestSource : public StreamSource {
 public:
  void Open(std::function<void()> wake) override {
    std::lock_guard lock(mu_);
    wake_ = std::move(wake);
    opened_ = true;
    cv_.notify_all();
  }
  std::optional<std::string> Next() override {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return std::nullopt;
    std::string m = std::move(queue_.front());
    queue_.pop_front();
    return m;
  }
  void Closed() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

  void Push(std::string message) {
    std::function<void()> wake;
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(message));
      wake = wake_;
    }
    if (wake) wake();
  }
  bool WaitOpened(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return opened_; });
  }
  bool WaitClosed(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return closed_; });
  }
  bool opened() {
    std::lock_guard lock(mu_);
    return opened_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::function<void()> wake_;
  bool opened_ = false;
  bool closed_ = false;
};

class StreamTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    options.port = 0;
    router_.Add("GET", "/live", [this](Request&, Responder respond) {
      Response r;
      r.stream = source_;
      r.headers.emplace_back("X-Test", "yes");
      respond(std::move(r));
    });
    router_.Add("GET", "/denied", [](Request&, Responder respond) {
      respond(ErrorResponse({ErrorCode::kUnauthorized, "no"}));
    });
    server_ = std::make_unique<Server>(options, router_);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Shutdown(2s);
  }

  tcp::socket Connect() {
    tcp::socket s(ioc_);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    return s;
  }

  asio::io_context ioc_;
  std::shared_ptr<TestSource> source_ = std::make_shared<TestSource>();
  Router router_;
  std::unique_ptr<Server> server_;
};

// Reads from `s` until `needle` appeared in `*got`; false on EOF or error.
bool ReadUntil(tcp::socket& s, std::string* got, std::string_view needle) {
  while (got->find(needle) == std::string::npos) {
    char buf[1024];
    beast::error_code ec;
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) return false;
    got->append(buf, n);
  }
  return true;
}

TEST_F(StreamTest, ServerSentEvents) {
  StartServer();
  tcp::socket s = Connect();
  asio::write(s, asio::buffer(std::string(
                     "GET /live HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")));
  std::string got;
  ASSERT_TRUE(ReadUntil(s, &got, "\r\n\r\n"));
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos) << got;
  EXPECT_NE(got.find("Cache-Control: no-store"), std::string::npos) << got;
  EXPECT_NE(got.find("X-Test: yes"), std::string::npos) << got;
  EXPECT_NE(got.find("X-Request-Id: "), std::string::npos) << got;
  EXPECT_EQ(got.find("Content-Length"), std::string::npos) << got;
  ASSERT_TRUE(source_->WaitOpened());
  source_->Push(R"({"n":1})");
  source_->Push("two\nlines");
  ASSERT_TRUE(ReadUntil(s, &got, "data: two\ndata: lines\n\n")) << got;
  EXPECT_NE(got.find("data: {\"n\":1}\n\n"), std::string::npos) << got;
  EXPECT_EQ(server_->stats().active_connections, 1u);
  // The client leaves: the source hears of it, the connection goes.
  s.close();
  EXPECT_TRUE(source_->WaitClosed());
  for (int i = 0; i < 100 && server_->stats().active_connections > 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server_->stats().active_connections, 0u);
}

TEST_F(StreamTest, HeadAnswersTheHeaderAlone) {
  StartServer();
  tcp::socket s = Connect();
  asio::write(s, asio::buffer(std::string("HEAD /live HTTP/1.1\r\nHost: x\r\n\r\n")));
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.skip(true);
  bhttp::read(s, buffer, parser);
  EXPECT_EQ(parser.get().result_int(), 200);
  EXPECT_EQ(parser.get()[bhttp::field::content_type], "text/event-stream; charset=utf-8");
  EXPECT_FALSE(source_->opened());
}

TEST_F(StreamTest, ServerSentEventsKeepAlive) {
  ServerOptions options;
  options.stream_keepalive_ms = 100;
  StartServer(options);
  tcp::socket s = Connect();
  asio::write(s, asio::buffer(std::string("GET /live HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string got;
  ASSERT_TRUE(ReadUntil(s, &got, ": keepalive\n\n")) << got;
}

TEST_F(StreamTest, AClientThatDoesNotReadIsDropped) {
  ServerOptions options;
  options.write_timeout_ms = 300;
  StartServer(options);
  tcp::socket s = Connect();
  s.set_option(asio::socket_base::receive_buffer_size(4096));
  asio::write(s, asio::buffer(std::string("GET /live HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(source_->WaitOpened());
  // The connection holds one message at a time: the rest wait in the source, whose bound is
  // its own business. Once a write stalls past the timeout the stream ends.
  const std::string big(256 * 1024, 'x');
  for (int i = 0; i < 64; ++i) source_->Push(big);
  EXPECT_TRUE(source_->WaitClosed(10s));
}

TEST_F(StreamTest, ShutdownEndsServerSentEventsPromptly) {
  StartServer();
  tcp::socket s = Connect();
  asio::write(s, asio::buffer(std::string("GET /live HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(source_->WaitOpened());
  const auto start = std::chrono::steady_clock::now();
  server_->Shutdown(10s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(source_->WaitClosed(0ms));
  std::string got;
  EXPECT_FALSE(ReadUntil(s, &got, "never"));  // EOF
}

TEST_F(StreamTest, WebSocket) {
  StartServer();
  websocket::stream<tcp::socket> ws(Connect());
  websocket::response_type res;
  ws.handshake(res, "127.0.0.1", "/live");
  EXPECT_EQ(res.result_int(), 101);
  EXPECT_EQ(res[bhttp::field::server], "career-analytics");
  ASSERT_TRUE(source_->WaitOpened());
  for (int i = 0; i < 50; ++i) source_->Push(R"({"n":)" + std::to_string(i) + "}");
  for (int i = 0; i < 50; ++i) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    EXPECT_TRUE(ws.got_text());
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), R"({"n":)" + std::to_string(i) + "}");
  }
  // Client messages are ignored.
  ws.write(asio::buffer(std::string("hello")));
  source_->Push("after");
  beast::flat_buffer buffer;
  ws.read(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "after");
  // The server stops: a close frame, promptly.
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] { server_->Shutdown(10s); });
  beast::error_code ec;
  ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws.reason().code, websocket::close_code::going_away);
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(source_->WaitClosed(0ms));
}

TEST_F(StreamTest, WebSocketClientCloses) {
  StartServer();
  websocket::stream<tcp::socket> ws(Connect());
  ws.handshake("127.0.0.1", "/live");
  ASSERT_TRUE(source_->WaitOpened());
  ws.close(websocket::close_code::normal);
  EXPECT_TRUE(source_->WaitClosed());
}

TEST_F(StreamTest, OversizedClientMessageClosesTheWebSocket) {
  StartServer();
  websocket::stream<tcp::socket> ws(Connect());
  ws.handshake("127.0.0.1", "/live");
  ASSERT_TRUE(source_->WaitOpened());
  ws.write(asio::buffer(std::string(10000, 'x')));
  EXPECT_TRUE(source_->WaitClosed());
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws.read(buffer, ec);
  EXPECT_TRUE(ec) << "the server closed";
}

TEST_F(StreamTest, RefusedUpgradeIsAPlainResponse) {
  StartServer();
  {
    websocket::stream<tcp::socket> ws(Connect());
    beast::error_code ec;
    ws.handshake("127.0.0.1", "/denied", ec);
    EXPECT_EQ(ec, websocket::error::upgrade_declined) << ec.message();
  }
  tcp::socket s = Connect();
  asio::write(s,
              asio::buffer(std::string("GET /denied HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                                       "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")));
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buffer, res);
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_NE(res.body().find("unauthorized"), std::string::npos) << res.body();
  EXPECT_FALSE(source_->opened());
}

}  // namespace
}  // namespace ca::http
