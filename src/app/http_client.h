#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace ca::app {

struct ClientResponse {
  int status = 0;
  std::string body;
};

/// A blocking HTTP/1.1 client on one keep-alive connection, for `demo` and `bench`: they load the
/// server through its public API like any other client. Reconnects once when the server closed the
/// connection. Not thread-safe: one per thread.
class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port);
  ~HttpClient();

  Result<ClientResponse> Post(const std::string& target, const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers);
  Result<ClientResponse> Get(const std::string& target);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ca::app
