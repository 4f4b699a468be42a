#include "http/responder.h"

#include <atomic>
#include <exception>

#include <spdlog/spdlog.h>

#include "http/errors.h"

namespace ca::http {

struct Responder::State {
  explicit State(Sink s) : sink(std::move(s)) {}
  ~State() {
    if (answered.exchange(true)) return;
    spdlog::error("http: handler dropped its responder without answering; sending 500");
    try {
      sink(ErrorResponse(Internal("the handler did not answer the request")));
    } catch (const std::exception& e) {
      spdlog::error("http: could not send the fallback 500: {}", e.what());
    }
  }

  Sink sink;
  std::atomic<bool> answered{false};
};

Responder::Responder(Sink sink) : state_(std::make_shared<State>(std::move(sink))) {}

bool Responder::TryRespond(Response response) const {
  if (state_ == nullptr) return false;
  if (state_->answered.exchange(true)) {
    spdlog::warn("http: responder called more than once; extra response dropped");
    return false;
  }
  state_->sink(std::move(response));
  return true;
}

bool Responder::answered() const { return state_ != nullptr && state_->answered.load(); }

}  // namespace ca::http
