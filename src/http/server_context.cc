#include "http/server_context.h"

#include "http/connection.h"

namespace ca::http {

void ConnectionRegistry::Add(std::shared_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  Connection* key = c.get();
  connections_.emplace(key, std::move(c));
}

void ConnectionRegistry::Remove(Connection* c) {
  std::shared_ptr<Connection> removed;  // released outside the lock
  {
    std::lock_guard lock(mu_);
    auto it = connections_.find(c);
    if (it == connections_.end()) return;
    removed = std::move(it->second);
    connections_.erase(it);
    if (connections_.empty()) empty_cv_.notify_all();
  }
}

size_t ConnectionRegistry::size() const {
  std::lock_guard lock(mu_);
  return connections_.size();
}

std::vector<std::shared_ptr<Connection>> ConnectionRegistry::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Connection>> out;
  out.reserve(connections_.size());
  for (const auto& [key, c] : connections_) out.push_back(c);
  return out;
}

bool ConnectionRegistry::WaitEmpty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return empty_cv_.wait_until(lock, deadline, [&] { return connections_.empty(); });
}

void ConnectionRegistry::Clear() {
  std::unordered_map<Connection*, std::shared_ptr<Connection>> dropped;
  {
    std::lock_guard lock(mu_);
    dropped.swap(connections_);
  }
}

}  // namespace ca::http
