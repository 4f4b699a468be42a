#include "http/server.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "http/errors.h"
#include "http/test_compress.h"

namespace ca::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;
using HttpResponse = bhttp::response<bhttp::string_body>;

// A small synchronous keep-alive client.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  HttpResponse Send(bhttp::verb method, std::string target, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    bhttp::request<bhttp::string_body> req(method, target, 11);
    req.set(bhttp::field::host, "localhost");
    for (auto& [name, value] : headers) req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    bhttp::write(socket_, req);
    return Read(/*head=*/method == bhttp::verb::head);
  }

  void WriteRaw(std::string_view raw) { asio::write(socket_, asio::buffer(raw)); }

  // `head`: the response to a HEAD request (headers only, whatever Content-Length says).
  HttpResponse Read(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(head);
    bhttp::read(socket_, buffer_, parser);
    return parser.release();
  }

  void Close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  // True when the server closed the connection (EOF on read).
  bool ServerClosed() {
    beast::error_code ec;
    char byte;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::string ErrorCodeOf(const HttpResponse& res) {
  return nlohmann::json::parse(res.body())["error"]["code"].get<std::string>();
}

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    options.port = 0;
    router_.Add("GET", "/hello", [](Request& req, Responder respond) {
      respond(Response::Text(200, "hello " + req.QueryParam("name")));
    });
    router_.Add("POST", "/echo",
                [](Request& req, Responder respond) { respond(Response::Text(200, req.body)); });
    router_.Add("GET", "/throw",
                [](Request&, Responder) -> void { throw std::runtime_error("boom"); });
    router_.Add("GET", "/drop", [](Request&, Responder) {});
    router_.Add("GET", "/error", [](Request&, Responder respond) {
      respond(ErrorResponse({ErrorCode::kShuttingDown, "bye"}));
    });
    server_ = std::make_unique<Server>(options, router_);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_NE(server_->port(), 0);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(2s);
  }

  Router router_;
  std::unique_ptr<Server> server_;
};

// Past max_connections a new connection is answered 503 overloaded and closed; the open ones
// keep being served, and a place that frees up is taken again.
TEST_F(ServerTest, ConnectionsPastTheLimitAreTurnedAway) {
  ServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  Client first(server_->port());
  Client second(server_->port());
  EXPECT_EQ(first.Send(bhttp::verb::get, "/hello").result_int(), 200);
  EXPECT_EQ(second.Send(bhttp::verb::get, "/hello").result_int(), 200);

  Client third(server_->port());
  HttpResponse refused = third.Read();
  EXPECT_EQ(refused.result_int(), 503);
  EXPECT_EQ(ErrorCodeOf(refused), "overloaded");
  EXPECT_EQ(refused[bhttp::field::retry_after], "1");
  EXPECT_FALSE(refused.keep_alive());
  EXPECT_TRUE(third.ServerClosed());
  EXPECT_EQ(server_->stats().refused_connections, 1u);
  EXPECT_EQ(first.Send(bhttp::verb::get, "/hello?name=still").body(), "hello still");

  first.Close();
  HttpResponse served;
  for (int attempt = 0; attempt < 100; ++attempt) {  // until the server has seen the close
    try {
      Client next(server_->port());
      served = next.Send(bhttp::verb::get, "/hello?name=next");
      if (served.result_int() == 200) break;
    } catch (const std::exception&) {
      // Refused before the request was read: the reset may arrive instead of the 503.
    }
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(served.result_int(), 200);
  EXPECT_EQ(served.body(), "hello next");
}

TEST_F(ServerTest, RoutesAndStatuses) {
  StartServer();
  Client client(server_->port());
  HttpResponse ok = client.Send(bhttp::verb::get, "/hello?name=J%C3%BCrgen+M");
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(ok.body(), "hello J\xC3\xBCrgen M");
  EXPECT_EQ(ok[bhttp::field::server], "career-analytics");
  EXPECT_EQ(ok[bhttp::field::content_length], std::to_string(ok.body().size()));

  HttpResponse missing = client.Send(bhttp::verb::get, "/nope");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(ErrorCodeOf(missing), "route_not_found");
  EXPECT_EQ(missing[bhttp::field::content_type], "application/json");

  HttpResponse wrong = client.Send(bhttp::verb::delete_, "/hello");
  EXPECT_EQ(wrong.result_int(), 405);
  EXPECT_EQ(ErrorCodeOf(wrong), "method_not_allowed");
  EXPECT_EQ(wrong[bhttp::field::allow], "GET, HEAD");

  HttpResponse head = client.Send(bhttp::verb::head, "/hello?name=x");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[bhttp::field::content_length], "7");
  EXPECT_TRUE(head.body().empty());

  HttpResponse unavailable = client.Send(bhttp::verb::get, "/error");
  EXPECT_EQ(unavailable.result_int(), 503);
  EXPECT_FALSE(unavailable[bhttp::field::retry_after].empty());
  EXPECT_EQ(server_->stats().requests, 5u);
}

TEST_F(ServerTest, EveryResponseCarriesARequestId) {
  StartServer();
  Client client(server_->port());
  HttpResponse first = client.Send(bhttp::verb::get, "/hello");
  HttpResponse second = client.Send(bhttp::verb::get, "/nope");
  const std::string a(first["X-Request-Id"]);
  const std::string b(second["X-Request-Id"]);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(b.size(), 16u);
  EXPECT_NE(a, b);
  // A client's own id is kept; one that is not plain is replaced.
  HttpResponse own =
      client.Send(bhttp::verb::get, "/hello", "", {{"X-Request-Id", "trace-42.a_b"}});
  EXPECT_EQ(own["X-Request-Id"], "trace-42.a_b");
  HttpResponse odd = client.Send(bhttp::verb::get, "/hello", "", {{"X-Request-Id", "a b\"c"}});
  EXPECT_EQ(odd["X-Request-Id"].size(), 16u);
  // A request refused before dispatch carries one too.
  Client raw(server_->port());
  raw.WriteRaw("NOT HTTP\r\n\r\n");
  HttpResponse refused = raw.Read();
  EXPECT_EQ(refused.result_int(), 400);
  EXPECT_EQ(refused["X-Request-Id"].size(), 16u);
}

TEST_F(ServerTest, FileBodiesAreStreamedFromDisk) {
  const std::string path = ::testing::TempDir() + "ca_server_test_file.bin";
  std::string content;
  for (int i = 0; i < 300'000; ++i) content += "0123456789"[i % 10];
  {
    std::ofstream out(path, std::ios::binary);
    out << content;
  }
  router_.Add("GET", "/file", [path](Request&, Responder respond) {
    Response r;
    r.content_type = "application/gzip";
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"x.gz\"");
    r.file_path = path;
    respond(std::move(r));
  });
  router_.Add("GET", "/missing", [](Request&, Responder respond) {
    Response r;
    r.file_path = "/nonexistent/file";
    respond(std::move(r));
  });
  StartServer();
  Client client(server_->port());
  HttpResponse file = client.Send(bhttp::verb::get, "/file");
  EXPECT_EQ(file.result_int(), 200);
  EXPECT_EQ(file.body(), content);
  EXPECT_EQ(file[bhttp::field::content_type], "application/gzip");
  EXPECT_EQ(file[bhttp::field::content_disposition], "attachment; filename=\"x.gz\"");
  EXPECT_EQ(file["X-Request-Id"].size(), 16u);
  HttpResponse missing = client.Send(bhttp::verb::get, "/missing");  // same connection
  EXPECT_EQ(missing.result_int(), 500);
  std::remove(path.c_str());
}

TEST_F(ServerTest, Http10ClosesByDefault) {
  StartServer();
  Client client(server_->port());
  client.WriteRaw("GET /hello HTTP/1.0\r\n\r\n");
  HttpResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.version(), 10);
  EXPECT_TRUE(client.ServerClosed());
}

TEST_F(ServerTest, PipelinedRequestsAnsweredInOrder) {
  StartServer();
  Client client(server_->port());
  client.WriteRaw(
      "GET /hello?name=1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
      "GET /hello?name=3 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(client.Read().body(), "hello 1");
  EXPECT_EQ(client.Read().body(), "abc");
  EXPECT_EQ(client.Read().body(), "hello 3");
}

TEST_F(ServerTest, AsyncResponderFromAnotherThread) {
  router_.Add("GET", "/slow", [](Request&, Responder respond) {
    std::thread([respond] {
      std::this_thread::sleep_for(100ms);
      respond(Response::Text(200, "late"));
    }).detach();
  });
  StartServer();
  Client client(server_->port());
  HttpResponse res = client.Send(bhttp::verb::get, "/slow");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "late");
  EXPECT_EQ(client.Send(bhttp::verb::get, "/hello").result_int(), 200);
}

TEST_F(ServerTest, ConcurrentKeepAliveClients) {
  ServerOptions options;
  options.threads = 4;
  StartServer(options);
  constexpr int kThreads = 8;
  constexpr int kRequests = 200;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client client(server_->port());
      for (int i = 0; i < kRequests; ++i) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        HttpResponse res = client.Send(bhttp::verb::post, "/echo", body);
        if (res.result_int() == 200 && res.body() == body) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kRequests);
  EXPECT_EQ(server_->stats().requests, static_cast<uint64_t>(kThreads * kRequests));
}

TEST_F(ServerTest, RawBodyOverLimitIs413AndCloses) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  Client client(server_->port());
  HttpResponse res = client.Send(bhttp::verb::post, "/echo", std::string(2 << 20, 'x'));
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(ErrorCodeOf(res), "body_too_large");
  EXPECT_TRUE(client.ServerClosed());
}

TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
  ServerOptions options;
  options.max_body_bytes = 10;
  StartServer(options);
  Client client(server_->port());
  client.WriteRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
  HttpResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 413);
}

TEST_F(ServerTest, GzipBombIs413) {
  StartServer();
  std::string bomb = testing::Compress(std::string(10 << 20, '\0'), testing::Wrapper::kGzip);
  Client client(server_->port());
  HttpResponse res = client.Send(bhttp::verb::post, "/echo", bomb, {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(ErrorCodeOf(res), "body_too_large");
}

TEST_F(ServerTest, GzipAndDeflateBodiesDecoded) {
  StartServer();
  Client client(server_->port());
  std::string data(100000, 'q');
  HttpResponse gz =
      client.Send(bhttp::verb::post, "/echo", testing::Compress(data, testing::Wrapper::kGzip),
                  {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(gz.result_int(), 200);
  EXPECT_EQ(gz.body(), data);
  HttpResponse zz =
      client.Send(bhttp::verb::post, "/echo", testing::Compress(data, testing::Wrapper::kZlib),
                  {{"Content-Encoding", "deflate"}});
  EXPECT_EQ(zz.result_int(), 200);
  EXPECT_EQ(zz.body(), data);
}

TEST_F(ServerTest, CorruptGzipIs400) {
  StartServer();
  Client client(server_->port());
  HttpResponse res =
      client.Send(bhttp::verb::post, "/echo", "not gzip", {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(ErrorCodeOf(res), "bad_request");
}

TEST_F(ServerTest, UnknownEncodingIs415) {
  StartServer();
  Client client(server_->port());
  HttpResponse res = client.Send(bhttp::verb::post, "/echo", "x", {{"Content-Encoding", "br"}});
  EXPECT_EQ(res.result_int(), 415);
  EXPECT_EQ(ErrorCodeOf(res), "unsupported_encoding");
}

TEST_F(ServerTest, EncodingNotInOptionsIs415) {
  ServerOptions options;
  options.decoded_encodings = {"identity"};
  StartServer(options);
  Client client(server_->port());
  HttpResponse res =
      client.Send(bhttp::verb::post, "/echo", testing::Compress("x", testing::Wrapper::kGzip),
                  {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(res.result_int(), 415);
}

TEST_F(ServerTest, MalformedRequestIs400AndCloses) {
  StartServer();
  Client client(server_->port());
  client.WriteRaw("THIS IS NOT HTTP\r\n\r\n");
  HttpResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(ErrorCodeOf(res), "bad_request");
  EXPECT_TRUE(client.ServerClosed());

  Client bad_target(server_->port());
  bad_target.WriteRaw("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(bad_target.Read().result_int(), 400);
}

TEST_F(ServerTest, OversizedHeaderIs400) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  StartServer(options);
  Client client(server_->port());
  HttpResponse res =
      client.Send(bhttp::verb::get, "/hello", "", {{"X-Big", std::string(4096, 'a')}});
  EXPECT_EQ(res.result_int(), 400);
}

TEST_F(ServerTest, ExpectContinueIsHonoured) {
  StartServer();
  Client client(server_->port());
  client.WriteRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  HttpResponse interim = client.Read();
  EXPECT_EQ(interim.result_int(), 100);
  client.WriteRaw("body");
  HttpResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "body");
}

TEST_F(ServerTest, ThrowingHandlerIs500AndServerKeepsServing) {
  StartServer();
  Client client(server_->port());
  HttpResponse res = client.Send(bhttp::verb::get, "/throw");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(ErrorCodeOf(res), "internal");
  EXPECT_EQ(client.Send(bhttp::verb::get, "/hello").result_int(), 200);
  EXPECT_EQ(server_->stats().handler_errors, 1u);
}

TEST_F(ServerTest, DroppedResponderIs500) {
  StartServer();
  Client client(server_->port());
  HttpResponse res = client.Send(bhttp::verb::get, "/drop");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(ErrorCodeOf(res), "internal");
  EXPECT_EQ(client.Send(bhttp::verb::get, "/hello").result_int(), 200);
}

TEST_F(ServerTest, IdleConnectionTimesOut) {
  ServerOptions options;
  options.idle_timeout_ms = 200;
  StartServer(options);
  Client client(server_->port());
  EXPECT_EQ(client.Send(bhttp::verb::get, "/hello").result_int(), 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ServerClosed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(ServerTest, ShutdownLetsInFlightRequestFinish) {
  std::promise<void> started;
  router_.Add("GET", "/slow", [&started](Request&, Responder respond) {
    started.set_value();
    std::thread([respond] {
      std::this_thread::sleep_for(300ms);
      respond(Response::Text(200, "finished"));
    }).detach();
  });
  StartServer();
  Client idle(server_->port());
  EXPECT_EQ(idle.Send(bhttp::verb::get, "/hello").result_int(), 200);
  auto pending = std::async(std::launch::async, [port = server_->port()] {
    Client client(port);
    return client.Send(bhttp::verb::get, "/slow");
  });
  started.get_future().wait();
  auto waiter = std::async(std::launch::async, [&] { server_->Wait(); });
  server_->Shutdown(5s);
  HttpResponse res = pending.get();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "finished");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(idle.ServerClosed());
  EXPECT_EQ(waiter.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(server_->stats().active_connections, 0u);
}

TEST_F(ServerTest, ShutdownGraceExpiresForHungHandler) {
  std::promise<Responder> held;
  router_.Add("GET", "/hang", [&held](Request&, Responder respond) { held.set_value(respond); });
  StartServer();
  auto pending = std::async(std::launch::async, [port = server_->port()] {
    Client client(port);
    beast::error_code ec;
    try {
      client.Send(bhttp::verb::get, "/hang");
    } catch (const boost::system::system_error& e) {
      ec = e.code();
    }
    return ec;
  });
  Responder responder = held.get_future().get();
  auto start = std::chrono::steady_clock::now();
  server_->Shutdown(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(pending.get().failed());
  responder(Response::Text(200, "too late"));  // dropped safely: the server is stopped
}

TEST_F(ServerTest, AddressInUseIsIoError) {
  StartServer();
  ServerOptions options;
  options.port = server_->port();
  Server second(options, Router());
  Status s = second.Start();
  EXPECT_EQ(s, ErrorCode::kIoError);
  EXPECT_NE(s.message().find("in use"), std::string_view::npos);
}

TEST_F(ServerTest, ShutdownBeforeStartAndTwice) {
  Server server(ServerOptions{}, Router());
  server.Shutdown(0ms);
  server.Wait();
  StartServer();
  server_->Shutdown(1s);
  server_->Shutdown(1s);
  server_->Wait();
}

}  // namespace
}  // namespace ca::http
