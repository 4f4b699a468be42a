// libFuzzer target for the whole HTTP request path of a running server: the input is sent as raw
// bytes over a loopback connection to an in-process ServerApp (Beast's parser, target splitting,
// Content-Encoding decoding, routing, authentication, the native, Segment and PostHog ingest
// handlers, dead letters and the query API, down to the WAL and the event store). The text
// WRITEKEY and SECRETKEY in the input are replaced by the tenant's real keys, so that inputs reach
// past authentication. Besides memory errors it checks that every request that was read gets an
// HTTP answer, and that the server is still serving afterwards.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "app/config.h"
#include "app/server_app.h"

namespace {

struct Fixture {
  std::unique_ptr<ca::app::ServerApp> server;
  std::string write_key, secret_key;
};

void Die(const std::string& what) {
  std::fprintf(stderr, "http_request_fuzzer: %s\n", what.c_str());
  std::abort();
}

Fixture& Server() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    // On tmpfs when there is one: the state store syncs its writes, which is not what is fuzzed.
    char dir[] = "/dev/shm/ca-http-fuzz-XXXXXX";
    if (::mkdtemp(dir) == nullptr) Die("mkdtemp");
    static std::string data_dir = dir;
    std::atexit([] { std::filesystem::remove_all(data_dir); });
    ca::app::Config config = ca::app::DefaultConfig();
    config.data = dir;
    config.listen_host = "127.0.0.1";
    config.listen_port = 0;
    config.threads = 1;
    config.log_level = "off";
    config.wal_sync = "none";           // durability is not what is fuzzed here
    config.store_memtable_rows = 1000;  // flushes and merges happen during the run
    config.self_telemetry_tenant = "";  // one tenant, one set of keys
    // A small web root, so that requests for the page and its assets reach the static files'
    // header parsing (Accept-Encoding, If-None-Match).
    const std::filesystem::path web = std::filesystem::path(dir) / "web";
    std::filesystem::create_directories(web / "assets");
    std::ofstream(web / "index.html") << "<!doctype html><title>fuzz</title>";
    std::ofstream(web / "tracker.js") << "window.ca = window.ca || {};";
    std::ofstream(web / "assets" / "main-ABCD2345.js") << std::string(2000, 'x');
    config.web_root = web.string();
    f->server = std::make_unique<ca::app::ServerApp>(config);
    if (ca::Status s = f->server->Start(); !s.ok()) Die(s.ToString());
    auto keys = f->server->CreateKeysJson("acme");
    if (!keys.ok()) Die(keys.status().ToString());
    auto json = nlohmann::json::parse(*keys);
    f->write_key = json["write_key"];
    f->secret_key = json["secret_key"];
    return f;
  }();
  return *fixture;
}

void ReplaceAll(std::string* s, std::string_view from, const std::string& to) {
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}

// Sends `request`, closes the sending side and reads the answer until the server closes.
std::string RoundTrip(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die("socket");
  timeval timeout{5, 0};  // below the fuzz tier's per-input limit of 10 s
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("connect");
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (a malformed header): that is an answer
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[16384];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = Server();
  std::string request(reinterpret_cast<const char*>(data), size);
  ReplaceAll(&request, "WRITEKEY", f.write_key);
  ReplaceAll(&request, "SECRETKEY", f.secret_key);
  const std::string answer = RoundTrip(f.server->port(), request);
  // Whatever came in, the server is still there: a health check is answered. A loaded machine
  // may take a while (each try waits 5 s); a server that hangs does not answer within 30 s.
  std::string health;
  for (int attempt = 0; attempt < 6 && health.rfind("HTTP/1.1 200", 0) != 0; ++attempt) {
    health = RoundTrip(f.server->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  if (health.rfind("HTTP/1.1 200", 0) != 0) Die("the server stopped answering: " + health);
  if (!answer.empty() && answer.rfind("HTTP/1.", 0) != 0) Die("not an HTTP answer: " + answer);
  return 0;
}
