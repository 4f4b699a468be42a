#pragma once

#include <functional>
#include <memory>

#include "http/response.h"

namespace ca::http {

/// The way a handler answers a request. Copyable handle; all copies share one answer slot, so the
/// response is written once: the first call wins and later calls are ignored (and logged). May be
/// called from any thread, during or after the handler, also after `Server::Shutdown` began (the
/// response is written if the connection is still open). When the last copy is destroyed without
/// having been called, a 500 `internal` response is sent, so a buggy handler cannot hang a client.
class Responder {
 public:
  /// Receives the one response. Called on whatever thread answers (or drops) the responder.
  using Sink = std::function<void(Response)>;

  /// A responder that discards its response.
  Responder() = default;
  explicit Responder(Sink sink);

  /// Sends `response` unless this request was already answered.
  void operator()(Response response) const { TryRespond(std::move(response)); }
  /// Sends `response`; returns false (and sends nothing) if the request was already answered.
  bool TryRespond(Response response) const;
  /// True once a response was sent through any copy.
  bool answered() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace ca::http
