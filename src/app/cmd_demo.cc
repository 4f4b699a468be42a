#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "api/user_token.h"
#include "app/commands.h"
#include "app/data_dir.h"
#include "app/demo_data.h"
#include "app/http_client.h"
#include "app/server_app.h"
#include "base/clock.h"
#include "base/random.h"
#include "event/timestamp.h"

namespace ca::app {
namespace {

struct DemoFlags {
  ServerFlags server;
  uint64_t seed = 42;
  int users = 200;
  int days = 90;
};

std::string CredentialsPath(const DataDir& dir) {
  return io::JoinPath(dir.root, "demo-credentials.json");
}

// The demo's credentials file as JSON; an empty object when there is none yet.
Result<nlohmann::json> ReadDemoCredentials(const DataDir& dir) {
  io::Env* env = io::Env::Default();
  const std::string path = CredentialsPath(dir);
  if (!env->FileExists(path)) return nlohmann::json::object();
  CA_ASSIGN_OR_RETURN(std::string text, io::ReadFileToString(env, path));
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return Corruption(path + " is not a JSON object; delete it");
  return parsed;
}

// The demo tenant's keys (and the generated JWT secret, when the configuration has none), kept in
// the data directory in plain text (demo data only) so that a restarted demo prints the same keys
// and sign-in links again; the keys are created with the tenant on an empty data directory.
// `generated_jwt_secret` is stored when not empty.
Result<nlohmann::json> DemoCredentials(ServerApp& server, const DataDir& dir,
                                       const std::string& generated_jwt_secret, bool* created) {
  io::Env* env = io::Env::Default();
  const std::string path = CredentialsPath(dir);
  *created = false;
  CA_ASSIGN_OR_RETURN(nlohmann::json credentials, ReadDemoCredentials(dir));
  if (!credentials.contains("secret_key")) {
    CA_ASSIGN_OR_RETURN(std::string keys, server.CreateKeysJson("demo"));
    // The generated history goes back further than the default late-event bound of 7 days.
    state::IngestPolicy policy;
    policy.late_days = 3650;
    CA_RETURN_IF_ERROR(server.SetIngestPolicy("demo", policy));
    credentials = nlohmann::json::parse(keys);
    *created = true;
  }
  if (!generated_jwt_secret.empty() &&
      credentials.value("jwt_secret", std::string()) != generated_jwt_secret) {
    credentials["jwt_secret"] = generated_jwt_secret;
  } else if (!*created) {
    return credentials;
  }
  CA_RETURN_IF_ERROR(io::WriteFileAtomically(env, path, credentials.dump(2) + "\n"));
  return credentials;
}

// A user token for the demo tenant's sign-in links, valid for 30 days.
std::string DemoToken(const Config& config, std::string user_id, api::UserTokenClaims::Role role) {
  api::UserTokenClaims claims;
  claims.tenant = "demo";
  claims.user_id = std::move(user_id);
  claims.role = role;
  claims.expires_at_s = NowMillis() / 1000 + 30 * 86'400;
  claims.issuer = config.auth_jwt_issuer;
  claims.audience = config.auth_jwt_audience;
  return api::SignUserToken(claims, config.auth_jwt_secret);
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

// The job seeker the sign-in link shows: one who is still looking (has not accepted an offer),
// with the most employer responses and applications, so that every widget has something to show.
std::string ShowcaseUser(const DemoTruth& truth) {
  std::string best = "user-0001";
  uint64_t best_score = 0;
  for (const auto& [user_id, t] : truth.per_user) {
    if (user_id == kDemoSystemUserId || t.offers_accepted > 0) continue;
    const uint64_t score = t.applications + 3 * t.employer_responses + 5 * t.interviews + 1;
    if (score > best_score) {
      best = user_id;
      best_score = score;
    }
  }
  return best;
}

// Posts the generated history to the server through its public API, on `connections` clients.
// Answers the showcase job seeker (ShowcaseUser).
Result<std::string> LoadDemoData(const std::string& host, uint16_t port,
                                 const std::string& write_key, const std::string& secret_key,
                                 const DemoFlags& flags) {
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
  CA_RETURN_IF_ERROR(LoadDemoProfiles(host, port, write_key, secret_key, generator, options));
  return ShowcaseUser(generator.truth());
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
    DataDir dir{config->data};
    // Sign-in links need user tokens, and tokens a secret: when none is configured, the demo makes
    // one (32 random bytes) and keeps it with its keys, so that links survive restarts.
    std::string generated_jwt_secret;
    if (config->auth_jwt_secret.empty()) {
      auto stored = ReadDemoCredentials(dir);
      if (!stored.ok()) Fail(stored.status());
      generated_jwt_secret = stored->value("jwt_secret", std::string());
      if (generated_jwt_secret.size() < api::kMinUserTokenSecretBytes)
        generated_jwt_secret = RandomBase64Url(32);
      config->auth_jwt_secret = generated_jwt_secret;
    }
    ServerApp server(*config);
    if (Status s = server.Start(); !s.ok()) Fail(s);
    bool created = false;
    auto credentials = DemoCredentials(server, dir, generated_jwt_secret, &created);
    if (!credentials.ok()) Fail(credentials.status());
    const std::string write_key = (*credentials)["write_key"];
    if (created) {
      auto showcase = LoadDemoData(config->listen_host, server.port(), write_key,
                                   (*credentials)["secret_key"], *flags);
      if (!showcase.ok()) Fail(showcase.status());
      (*credentials)["demo_user"] = *showcase;
      if (Status s = io::WriteFileAtomically(io::Env::Default(), CredentialsPath(dir),
                                             credentials->dump(2) + "\n");
          !s.ok()) {
        Fail(s);
      }
    } else {
      spdlog::info("demo: data directory {} already holds the demo; not generating again",
                   dir.root);
    }
    // The dashboards read the rollups, which follow the log by about a second: the links are
    // printed once they hold the whole history.
    if (Status s = server.WaitForRollups(60'000); !s.ok()) {
      spdlog::warn("demo: the dashboards may not show every event yet: {}", s.ToString());
    }
    const std::string url = server.url();
    const std::string secret_key = (*credentials)["secret_key"];
    const std::string seeker_token =
        DemoToken(*config, credentials->value("demo_user", std::string("user-0001")),
                  api::UserTokenClaims::Role::kUser);
    const std::string admin_token =
        DemoToken(*config, "demo-admin", api::UserTokenClaims::Role::kAdmin);
    std::printf(
        "listening on %s\n\nCareer Analytics demo is running.\n  URL:        %s\n  tenant:     "
        "demo\n  write key:  %s\n  secret key: %s\n  (also in %s/demo-credentials.json)\n\n"
        "Dashboard (sign-in links, valid for 30 days):\n  job seeker: %s/#token=%s\n"
        "  admin:      %s/#/admin?token=%s\n\nTry:\n"
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
        url.c_str(), seeker_token.c_str(), url.c_str(), admin_token.c_str(), url.c_str(),
        write_key.c_str(), url.c_str(), secret_key.c_str(),
        static_cast<long long>(NowMillis() - 90LL * 86'400'000),
        static_cast<long long>(NowMillis() + 86'400'000), url.c_str(), secret_key.c_str());
    std::fflush(stdout);
    int sig = wait_for_signal();
    spdlog::info("signal {}: shutting down", sig);
    if (Status s = server.Shutdown(); !s.ok()) Fail(s);
  });
}

}  // namespace ca::app
