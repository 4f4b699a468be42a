#include "http/server.h"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "http/connection.h"
#include "http/errors.h"
#include "http/response.h"
#include "http/server_context.h"

namespace ca::http {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::chrono::milliseconds kForcedCloseWait{500};
}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, Router router)
      : options_(std::move(options)), router_(std::move(router)), ctx_(options_, router_) {}
  ~Impl();

  Status Start();
  uint16_t port() const { return port_.load(); }
  void Shutdown(std::chrono::milliseconds grace);
  void Wait();
  Stats stats() const;

 private:
  enum class Phase { kNew, kRunning, kStopping, kDone };

  void Accept();
  void OnAccept(boost::system::error_code ec, tcp::socket socket);
  // Answers 503 overloaded on a connection past max_connections and closes it.
  void Refuse(tcp::socket socket);
  void RunIoThread();
  void DoShutdown(std::chrono::milliseconds grace);

  ServerOptions options_;
  Router router_;
  // Declared before everything that owns sockets or timers: destroyed last.
  asio::io_context ioc_;
  ServerContext ctx_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<asio::steady_timer> accept_retry_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::atomic<uint16_t> port_{0};
  std::atomic<uint64_t> refused_connections_{0};

  mutable std::mutex mu_;
  std::condition_variable done_cv_;
  Phase phase_ = Phase::kNew;
  std::thread shutdown_thread_;
};

Server::Impl::~Impl() {
  Shutdown(std::chrono::milliseconds(0));
  Wait();
  ctx_.gate->Close();
  ctx_.connections.Clear();
  accept_retry_.reset();
  acceptor_.reset();
}

Status Server::Impl::Start() {
  std::lock_guard lock(mu_);
  if (phase_ != Phase::kNew) return Unavailable("server already started or shut down");
  std::string where = options_.host + ":" + std::to_string(options_.port);
  boost::system::error_code ec;
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return InvalidArgument("cannot resolve listen address " + where + ": " + ec.message());
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto strand = asio::make_strand(ioc_);
  tcp::acceptor acceptor(strand);
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return IoError("cannot open socket for " + where + ": " + ec.message());
  }
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); ec) {
    if (ec == asio::error::address_in_use) return IoError("address " + where + " in use");
    return IoError("cannot bind " + where + ": " + ec.message());
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return IoError("cannot listen on " + where + ": " + ec.message());
  }
  port_ = acceptor.local_endpoint(ec).port();
  acceptor_.emplace(std::move(acceptor));
  accept_retry_.emplace(strand);
  work_.emplace(asio::make_work_guard(ioc_));
  asio::post(acceptor_->get_executor(), [this] { Accept(); });
  int threads = std::max(1, options_.threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { RunIoThread(); });
  phase_ = Phase::kRunning;
  return Status::Ok();
}

void Server::Impl::RunIoThread() {
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("http: exception escaped an I/O handler: {}", e.what());
    }
  }
}

void Server::Impl::Accept() {
  if (ctx_.shutting_down || !acceptor_->is_open()) return;
  acceptor_->async_accept(asio::make_strand(ioc_),
                          [this](boost::system::error_code ec, tcp::socket socket) {
                            OnAccept(ec, std::move(socket));
                          });
}

void Server::Impl::OnAccept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || ctx_.shutting_down) {
    if (!ec) socket.close(ec);
    return;
  }
  if (ec) {
    // E.g. out of file descriptors: back off briefly instead of spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry_->expires_after(std::chrono::milliseconds(50));
    accept_retry_->async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec) Accept();
    });
    return;
  }
  if (ctx_.connections.size() >= options_.max_connections) {
    Refuse(std::move(socket));
    Accept();
    return;
  }
  ++ctx_.accepted_connections;
  socket.set_option(tcp::no_delay(true), ec);
  auto connection = std::make_shared<Connection>(std::move(socket), ctx_);
  ctx_.connections.Add(connection);
  if (ctx_.shutting_down) {
    asio::post(connection->executor(), [connection] { connection->Close(); });
    return;
  }
  connection->Start();
  Accept();
}

void Server::Impl::Refuse(tcp::socket socket) {
  ++refused_connections_;
  const Response r = ErrorResponse(
      Status(ErrorCode::kOverloaded, "the server has too many open connections; retry shortly"));
  std::string raw =
      "HTTP/1.1 503 Service Unavailable\r\nServer: career-analytics\r\n"
      "Connection: close\r\nContent-Type: " +
      r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [name, value] : r.headers) raw += name + ": " + value + "\r\n";
  raw += "\r\n" + r.body;
  // Written without waiting: a new socket's send buffer takes these few hundred bytes whole,
  // and a client that does not read them is not waited for.
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  asio::write(socket, asio::buffer(raw), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

void Server::Impl::Shutdown(std::chrono::milliseconds grace) {
  bool start = false;
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::kNew) {
      phase_ = Phase::kDone;
      done_cv_.notify_all();
      return;
    }
    if (phase_ == Phase::kRunning) {
      phase_ = Phase::kStopping;
      start = true;
    }
  }
  bool on_io_thread = ioc_.get_executor().running_in_this_thread();
  if (start && on_io_thread) {
    std::lock_guard lock(mu_);
    shutdown_thread_ = std::thread([this, grace] { DoShutdown(grace); });
    return;
  }
  if (start) DoShutdown(grace);
  if (!on_io_thread) Wait();
}

void Server::Impl::DoShutdown(std::chrono::milliseconds grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  ctx_.shutting_down = true;
  asio::post(acceptor_->get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_->close(ec);
    accept_retry_->cancel();
  });
  for (auto& c : ctx_.connections.Snapshot()) {
    asio::post(c->executor(), [c] { c->OnShutdown(); });
  }
  if (!ctx_.connections.WaitEmpty(deadline)) {
    spdlog::warn("http: {} connection(s) still open after the shutdown grace; closing them",
                 ctx_.connections.size());
    for (auto& c : ctx_.connections.Snapshot()) {
      asio::post(c->executor(), [c] { c->Close(); });
    }
    if (!ctx_.connections.WaitEmpty(std::chrono::steady_clock::now() + kForcedCloseWait)) {
      spdlog::warn("http: stopping with {} connection(s) not yet closed", ctx_.connections.size());
    }
  }
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  ctx_.gate->Close();
  std::lock_guard lock(mu_);
  phase_ = Phase::kDone;
  done_cv_.notify_all();
}

void Server::Impl::Wait() {
  {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return phase_ == Phase::kDone; });
  }
  std::thread t;
  {
    std::lock_guard lock(mu_);
    t = std::move(shutdown_thread_);
  }
  if (t.joinable()) t.join();
}

Server::Stats Server::Impl::stats() const {
  Stats s;
  s.requests = ctx_.requests.load();
  s.rejected_requests = ctx_.rejected_requests.load();
  s.handler_errors = ctx_.handler_errors.load();
  s.accepted_connections = ctx_.accepted_connections.load();
  s.refused_connections = refused_connections_.load();
  s.active_connections = ctx_.connections.size();
  return s;
}

Server::Server(ServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}
Server::~Server() = default;
Status Server::Start() { return impl_->Start(); }
uint16_t Server::port() const { return impl_->port(); }
void Server::Shutdown(std::chrono::milliseconds grace) { impl_->Shutdown(grace); }
void Server::Wait() { impl_->Wait(); }
Server::Stats Server::stats() const { return impl_->stats(); }

}  // namespace ca::http
