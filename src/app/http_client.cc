#include "app/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ca::app {

namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  std::string host;
  uint16_t port;
  asio::io_context io;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  Status Connect() {
    beast::error_code ec;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return Status(ErrorCode::kUnavailable, "resolve " + host + ": " + ec.message());
    stream = std::make_unique<beast::tcp_stream>(io);
    stream->connect(results, ec);
    if (ec) {
      stream.reset();
      return Status(ErrorCode::kUnavailable,
                    "connect " + host + ":" + std::to_string(port) + ": " + ec.message());
    }
    buffer.clear();
    return Status::Ok();
  }

  Result<ClientResponse> RoundTrip(beast::http::request<beast::http::string_body>& req) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!stream) CA_RETURN_IF_ERROR(Connect());
      beast::error_code ec;
      beast::http::write(*stream, req, ec);
      beast::http::response<beast::http::string_body> res;
      if (!ec) beast::http::read(*stream, buffer, res, ec);
      if (ec) {
        stream.reset();
        // A keep-alive connection the server closed in between: one fresh try.
        if (attempt == 0) continue;
        return Status(ErrorCode::kUnavailable, "http: " + ec.message());
      }
      if (!res.keep_alive()) stream.reset();
      return ClientResponse{static_cast<int>(res.result_int()), std::move(res.body())};
    }
    return Status(ErrorCode::kUnavailable, "http: no answer");
  }
};

HttpClient::HttpClient(std::string host, uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

HttpClient::~HttpClient() = default;

Result<ClientResponse> HttpClient::Post(
    const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  beast::http::request<beast::http::string_body> req{beast::http::verb::post, target, 11};
  req.set(beast::http::field::host, impl_->host);
  req.set(beast::http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  return impl_->RoundTrip(req);
}

Result<ClientResponse> HttpClient::Get(const std::string& target) {
  beast::http::request<beast::http::string_body> req{beast::http::verb::get, target, 11};
  req.set(beast::http::field::host, impl_->host);
  return impl_->RoundTrip(req);
}

}  // namespace ca::app
