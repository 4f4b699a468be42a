#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "app/commands.h"
#include "app/data_dir.h"
#include "app/demo_data.h"
#include "app/http_client.h"
#include "app/server_app.h"
#include "base/clock.h"
#include "event/timestamp.h"

namespace ca::app {
namespace {

struct DemoFlags {
  ServerFlags server;
  uint64_t seed = 42;
  int users = 200;
  int days = 90;
};

// The demo tenant's keys, kept in the data directory in plain text (demo data only) so that a
// restarted demo can print them again; created with the tenant on an empty data directory.
Result<nlohmann::json> DemoCredentials(ServerApp& server, const DataDir& dir, bool* created) {
  io::Env* env = io::Env::Default();
  const std::string path = io::JoinPath(dir.root, "demo-credentials.json");
  *created = false;
  if (env->FileExists(path)) {
    CA_ASSIGN_OR_RETURN(std::string text, io::ReadFileToString(env, path));
    auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return Corruption(path + " is not valid JSON; delete it");
    return parsed;
  }
  CA_ASSIGN_OR_RETURN(std::string keys, server.CreateKeysJson("demo"));
  // The generated history goes back further than the default late-event bound of 7 days.
  state::IngestPolicy policy;
  policy.late_days = 3650;
  CA_RETURN_IF_ERROR(server.SetIngestPolicy("demo", policy));
  CA_RETURN_IF_ERROR(io::WriteFileAtomically(env, path, keys));
  *created = true;
  return nlohmann::json::parse(keys);
}

// What dashboards need beyond events, through the public API as a platform would send it: each
// user's profile and weekly goal (identify calls) and a market series per industry and location
// of the jobs catalogue (POST /analytics/external): weekly rows over the history, salaries from
// the catalogue drifting up slowly, postings and competition from the catalogue's size.
Status LoadDemoProfiles(const std::string& host, uint16_t port, const std::string& write_key,
                        const std::string& secret_key, const DemoGenerator& generator,
                        const DemoOptions& options) {
  HttpClient client(host, port);
  nlohmann::json events = nlohmann::json::array();
  for (const DemoUser& user : generator.users()) {
    nlohmann::json traits = ToJson(user);
    traits.erase("user_id");
    events.push_back(
        {{"event_id", "demo-" + std::to_string(options.seed) + "-identify-" + user.user_id},
         {"type", "identify"},
         {"user_id", user.user_id},
         {"timestamp", std::min(user.signup_ms, options.end_ms)},
         {"properties", {{"traits", std::move(traits)}}}});
  }
  for (size_t first = 0; first < events.size(); first += 500) {
    nlohmann::json batch = nlohmann::json::array();
    for (size_t i = first; i < std::min(events.size(), first + 500); ++i)
      batch.push_back(events[i]);
    CA_ASSIGN_OR_RETURN(auto res, client.Post("/api/analytics/events",
                                              nlohmann::json{{"events", std::move(batch)}}.dump(),
                                              {{"X-Write-Key", write_key}}));
    if (res.status != 200)
      return Internal("demo profiles answered " + std::to_string(res.status) + ": " + res.body);
  }
  struct Market {
    double salary_sum = 0;
    int jobs = 0;
  };
  std::map<std::pair<std::string, std::string>, Market> markets;
  for (const DemoJob& job : generator.jobs()) {
    Market& m = markets[{job.industry, job.location}];
    m.salary_sum += (job.salary_min + job.salary_max) / 2.0;
    ++m.jobs;
  }
  std::string csv = "date,industry,location,average_salary,postings,competition\n";
  constexpr int64_t kDayMs = 86'400'000;
  const int weeks = std::max(1, options.days / 7);
  for (const auto& [key, m] : markets) {
    for (int w = weeks; w >= 0; --w) {
      const int64_t day = options.end_ms / kDayMs - 7 * w;
      const double progress = static_cast<double>(weeks - w) / weeks;
      char row[512];
      std::snprintf(row, sizeof row, "%s,\"%s\",\"%s\",%.0f,%d,%.2f\n",
                    event::FormatIso8601Millis(day * kDayMs).substr(0, 10).c_str(),
                    key.first.c_str(), key.second.c_str(),
                    m.salary_sum / m.jobs * (1 + 0.03 * progress), m.jobs * 12 + (weeks - w) * 3,
                    4.0 - 1.5 * progress);
      csv += row;
    }
  }
  CA_ASSIGN_OR_RETURN(auto imported, client.Post("/analytics/external?dataset=market", csv,
                                                 {{"Authorization", "Bearer " + secret_key},
                                                  {"Content-Type", "text/csv"}}));
  if (imported.status != 200) {
    return Internal("demo market data answered " + std::to_string(imported.status) + ": " +
                    imported.body);
  }
  spdlog::info("demo: profiles of {} users and market data of {} industry/location pairs",
               generator.users().size(), markets.size());
  return Status::Ok();
}

// Posts the generated history to the server through its public API, on `connections` clients.
Status LoadDemoData(const std::string& host, uint16_t port, const std::string& write_key,
                    const std::string& secret_key, const DemoFlags& flags) {
  DemoOptions options;
  options.seed = flags.seed;
  options.users = flags.users;
  options.days = flags.days;
  options.end_ms = NowMillis();
  DemoGenerator generator(options);
  std::mutex generator_mu;
  std::atomic<uint64_t> accepted{0};
  std::mutex error_mu;
  Status first_error;
  const int64_t started = MonotonicNanos();

  auto worker = [&] {
    HttpClient client(host, port);
    std::string body;
    while (true) {
      {
        std::lock_guard lock(generator_mu);
        if (!generator.NextBatch(200, &body)) return;
      }
      // Retry on 503 (the log is busy or full) like a well-behaved SDK.
      for (int attempt = 0;; ++attempt) {
        auto res = client.Post("/api/analytics/events", body, {{"X-Write-Key", write_key}});
        if (res.ok() && res->status == 200) {
          auto receipt = nlohmann::json::parse(res->body, nullptr, false);
          if (!receipt.is_discarded()) accepted += receipt.value("accepted", 0u);
          break;
        }
        if (attempt < 20 && (!res.ok() || res->status == 503)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
          continue;
        }
        std::lock_guard lock(error_mu);
        if (first_error.ok()) {
          first_error = res.ok() ? Internal("demo batch answered " + std::to_string(res->status) +
                                            ": " + res->body)
                                 : res.status();
        }
        return;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) workers.emplace_back(worker);
  for (auto& t : workers) t.join();
  CA_RETURN_IF_ERROR(first_error);
  const double seconds = (MonotonicNanos() - started) / 1e9;
  spdlog::info("demo: ingested {} events for {} users over {} days in {:.1f} s", accepted.load(),
               flags.users, flags.days, seconds);
  return LoadDemoProfiles(host, port, write_key, secret_key, generator, options);
}

}  // namespace

void AddDemoCommand(CLI::App* app) {
  auto flags = std::make_shared<DemoFlags>();
  CLI::App* cmd = app->add_subcommand(
      "demo",
      "Run the server with a generated job-search platform: creates the tenant `demo`, ingests a "
      "deterministic history through the HTTP API and prints the URL and credentials");
  AddServerFlags(cmd, &flags->server);
  cmd->add_option("--seed", flags->seed, "generator seed")->capture_default_str();
  cmd->add_option("--users", flags->users, "job seekers to generate")->capture_default_str();
  cmd->add_option("--days", flags->days, "days of history")->capture_default_str();
  cmd->callback([flags] {
    auto wait_for_signal = BlockTerminationSignals();
    ServerFlags server_flags = flags->server;
    if (server_flags.data.empty()) server_flags.data = "./data/demo";
    auto config = LoadConfig(server_flags);
    if (!config.ok()) Fail(config.status());
    ServerApp server(*config);
    if (Status s = server.Start(); !s.ok()) Fail(s);
    DataDir dir{config->data};
    bool created = false;
    auto credentials = DemoCredentials(server, dir, &created);
    if (!credentials.ok()) Fail(credentials.status());
    const std::string write_key = (*credentials)["write_key"];
    if (created) {
      if (Status s = LoadDemoData(config->listen_host, server.port(), write_key,
                                  (*credentials)["secret_key"], *flags);
          !s.ok()) {
        Fail(s);
      }
    } else {
      spdlog::info("demo: data directory {} already holds the demo; not generating again",
                   dir.root);
    }
    const std::string url = server.url();
    const std::string secret_key = (*credentials)["secret_key"];
    std::printf(
        "listening on %s\n\nCareer Analytics demo is running.\n  URL:        %s\n  tenant:     "
        "demo\n  write key:  %s\n  secret key: %s\n  (also in %s/demo-credentials.json)\n\nTry:\n"
        "  curl -s -X POST %s/api/analytics/events -H 'X-Write-Key: %s' \\\n"
        "    -H 'Content-Type: application/json' -d "
        "'{\"events\":[{\"type\":\"job_view\",\"user_id\":\"u1\",\"properties\":"
        "{\"job_id\":\"j1\"}}]}'\n"
        "  curl -s -X POST %s/analytics/query -H 'Authorization: Bearer %s' -d "
        "'{\"kind\":\"trends\",\"from\":%lld,\"to\":%lld,\"interval\":\"week\","
        "\"series\":[{\"event\":\"job_apply\"},{\"event\":\"page_view\",\"math\":"
        "\"unique_users\"}]}'\n"
        "  curl -s '%s/analytics/metrics/week?user_id=user-0001' -H 'Authorization: Bearer %s'\n"
        "\nStop with Ctrl-C.\n",
        url.c_str(), url.c_str(), write_key.c_str(), secret_key.c_str(), dir.root.c_str(),
        url.c_str(), write_key.c_str(), url.c_str(), secret_key.c_str(),
        static_cast<long long>(NowMillis() - 90LL * 86'400'000),
        static_cast<long long>(NowMillis() + 86'400'000), url.c_str(), secret_key.c_str());
    std::fflush(stdout);
    int sig = wait_for_signal();
    spdlog::info("signal {}: shutting down", sig);
    if (Status s = server.Shutdown(); !s.ok()) Fail(s);
  });
}

}  // namespace ca::app
