#include "app/commands.h"

#include <iostream>
#include <utility>

#include "app/data_dir.h"
#include "state/state_store_factory.h"

extern char** environ;

namespace ca::app {

void AddServerFlags(CLI::App* command, ServerFlags* flags) {
  command->add_option("--config", flags->config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  command->add_option("--data", flags->data, "data directory (default ./data)");
  command->add_option("--listen", flags->listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  command->add_option("--wal-sync", flags->wal_sync,
                      "when events are acknowledged: always (default), interval, none");
  command->add_option("--threads", flags->threads, "HTTP worker threads (default: cores)");
  command->add_option("--state", flags->state,
                      "relational state: a postgresql:// URL (default: SQLite in the data "
                      "directory)");
}

std::string StateLocation(const Config& config) {
  return config.state.empty() ? DataDir{config.data}.state_db() : config.state;
}

Result<std::unique_ptr<state::StateStore>> OpenState(const Config& config) {
  return state::OpenStateStore(StateLocation(config));
}

Result<Config> LoadConfig(const ServerFlags& flags) {
  Config config = DefaultConfig();
  if (!flags.config_file.empty()) CA_RETURN_IF_ERROR(ApplyTomlFile(flags.config_file, &config));
  CA_RETURN_IF_ERROR(ApplyEnvironment(environ, &config));
  const std::pair<const char*, const std::string*> overrides[] = {
      {"data", &flags.data},       {"listen", &flags.listen}, {"wal.sync", &flags.wal_sync},
      {"threads", &flags.threads}, {"state", &flags.state},
  };
  for (const auto& [key, value] : overrides) {
    if (!value->empty()) CA_RETURN_IF_ERROR(Set(key, *value, "command line", &config));
  }
  CA_RETURN_IF_ERROR(Validate(config));
  return config;
}

Config OfflineConfig(const std::string& data) {
  ServerFlags flags;
  flags.data = data;
  auto config = LoadConfig(flags);
  if (!config.ok()) Fail(config.status());
  return *config;
}

void Fail(const Status& status) {
  std::cerr << "error: " << status.ToString() << std::endl;
  throw CLI::RuntimeError(1);
}

std::unique_ptr<state::StateStore> OpenStateOrFail(const std::string& data) {
  auto store = OpenState(OfflineConfig(data));
  if (!store.ok()) Fail(store.status());
  return std::move(store).value();
}

}  // namespace ca::app
