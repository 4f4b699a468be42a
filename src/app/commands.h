#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "app/config.h"
#include "base/result.h"
#include "state/state_store.h"

namespace ca::app {

/// Flags shared by the commands that run a server (`serve`, `demo`). Empty means "not given".
struct ServerFlags {
  std::string config_file;
  std::string data;
  std::string listen;
  std::string wal_sync;
  std::string threads;
  std::string state;
};

void AddServerFlags(CLI::App* command, ServerFlags* flags);

/// Where `config`'s relational state lives: its `state` URL, else `<data>/state.db`.
std::string StateLocation(const Config& config);
/// Opens the state store of `config` (SQLite or PostgreSQL).
Result<std::unique_ptr<state::StateStore>> OpenState(const Config& config);

/// Defaults, then the TOML file, then CA_* environment variables, then flags.
Result<Config> LoadConfig(const ServerFlags& flags);
/// The configuration of an offline command on `data`: defaults, then CA_* environment
/// variables, then `data`, so that offline commands honour the server's settings. Fails (exits)
/// on a bad setting.
Config OfflineConfig(const std::string& data);

/// `{"tenant": ..., "write_key": ..., "secret_key": ...}`, the output of `keys create`.
std::string KeysJson(const state::CreatedKeys& keys);

/// Prints "error: <status>" on stderr and ends the command with exit code 1.
[[noreturn]] void Fail(const Status& status);

/// The state store of the data directory `data`; fails (exits) when it cannot be opened.
std::unique_ptr<state::StateStore> OpenStateOrFail(const std::string& data);

// Each adds one subcommand to the CLI.
void AddServeCommand(CLI::App* app);
void AddDemoCommand(CLI::App* app);
void AddKeysCommand(CLI::App* app);
void AddTypesCommand(CLI::App* app);
void AddWalCommand(CLI::App* app);
void AddBenchCommand(CLI::App* app);
/// `query`, `import events`, `store verify|stats|dump`, `compact`, `delete-user`, `deletions`,
/// `tenants retention`.
void AddStoreCommands(CLI::App* app);

}  // namespace ca::app
