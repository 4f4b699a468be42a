#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "http/router.h"
#include "http/server.h"

namespace ca::http {

class Connection;

/// Lets responders post to connections only while the I/O context exists: `Close` is called by
/// the server before its io_context is destroyed; after that, responses are dropped.
class ResponseGate {
 public:
  /// Runs `fn` under the gate's lock if the gate is open; returns whether it ran.
  template <typename Fn>
  bool Run(Fn&& fn) {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    fn();
    return true;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }

 private:
  std::mutex mu_;
  bool closed_ = false;
};

/// Owns the open connections; a connection removes itself when it closes. Thread-safe.
class ConnectionRegistry {
 public:
  void Add(std::shared_ptr<Connection> c);
  void Remove(Connection* c);
  size_t size() const;
  std::vector<std::shared_ptr<Connection>> Snapshot() const;
  /// Waits until empty or `deadline`; returns whether empty.
  bool WaitEmpty(std::chrono::steady_clock::time_point deadline);
  /// Drops every reference (at server destruction, after the I/O threads stopped).
  void Clear();

 private:
  mutable std::mutex mu_;
  std::condition_variable empty_cv_;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
};

/// State shared by the server and its connections; outlives every connection.
struct ServerContext {
  ServerContext(const ServerOptions& o, const Router& r) : options(o), router(r) {}

  const ServerOptions& options;
  const Router& router;
  std::shared_ptr<ResponseGate> gate = std::make_shared<ResponseGate>();
  ConnectionRegistry connections;
  std::atomic<bool> shutting_down{false};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> rejected_requests{0};
  std::atomic<uint64_t> handler_errors{0};
  std::atomic<uint64_t> accepted_connections{0};
};

}  // namespace ca::http
