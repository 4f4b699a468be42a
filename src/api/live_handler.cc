#include "api/live_handler.h"

#include <memory>
#include <optional>
#include <string>

#include "http/errors.h"

namespace ca::api {
namespace {

// A viewer's outbox as the stream the connection pulls from; leaves the hub when the stream
// ends (or, if it never started, when the response is dropped).
class SubscriberStream final : public http::StreamSource {
 public:
  SubscriberStream(realtime::LiveService* live, std::shared_ptr<realtime::Subscriber> subscriber)
      : live_(live), subscriber_(std::move(subscriber)) {}
  ~SubscriberStream() override { live_->Unsubscribe(subscriber_); }

  void Open(std::function<void()> wake) override { subscriber_->SetWake(std::move(wake)); }
  std::optional<std::string> Next() override { return subscriber_->Next(); }
  void Closed() override { live_->Unsubscribe(subscriber_); }

 private:
  realtime::LiveService* const live_;
  const std::shared_ptr<realtime::Subscriber> subscriber_;
};

}  // namespace

void LiveHandler::Handle(http::Request& request, http::Responder respond) {
  if (request.Header("authorization").empty()) {
    if (std::string token = request.QueryParam("access_token"); !token.empty()) {
      request.headers.emplace_back("authorization", "Bearer " + token);
    }
  }
  const std::string topic = request.QueryParam("topic");
  std::optional<realtime::TopicKey> key;
  if (topic == "admin") {
    auto reader = auth_->TenantReader(request);
    if (!reader.ok()) {
      respond(http::ErrorResponse(reader.status()));
      return;
    }
    key = realtime::TopicKey::Admin(std::move(reader->tenant));
  } else {
    std::string user_id = request.QueryParam("user_id");
    if (user_id.empty()) user_id = request.QueryParam("user");
    auto reader = auth_->UserReader(request, user_id);
    if (!reader.ok()) {
      respond(http::ErrorResponse(reader.status()));
      return;
    }
    if (topic != "user") {
      respond(http::ErrorResponse(InvalidArgument("topic must be 'user' or 'admin'")));
      return;
    }
    key = realtime::TopicKey::User(std::move(reader->first.tenant), std::move(reader->second));
  }
  std::shared_ptr<realtime::Subscriber> subscriber = live_->Subscribe(*key);
  if (subscriber == nullptr) {
    respond(http::ErrorResponse(
        Status(ErrorCode::kUnavailable, "too many live connections; try again later")));
    return;
  }
  http::Response response;
  response.stream = std::make_shared<SubscriberStream>(live_, std::move(subscriber));
  respond(std::move(response));
}

}  // namespace ca::api
