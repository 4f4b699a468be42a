#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "app/commands.h"
#include "app/data_dir.h"
#include "state/sqlite_state_store.h"

namespace ca::app {

std::string KeysJson(const state::CreatedKeys& keys) {
  return nlohmann::ordered_json{
      {"tenant", keys.tenant}, {"write_key", keys.write_key}, {"secret_key", keys.secret_key}}
      .dump();
}

void AddKeysCommand(CLI::App* app) {
  CLI::App* keys = app->add_subcommand("keys", "Manage tenants and their API keys");
  keys->require_subcommand(1);

  struct CreateFlags {
    std::string data = "./data";
    std::string tenant;
  };
  auto flags = std::make_shared<CreateFlags>();
  CLI::App* create = keys->add_subcommand(
      "create",
      "Create a tenant's write key (ingest only) and secret key (server to server); prints them "
      "as JSON. Works while a server runs on the same data directory.");
  create->add_option("--data", flags->data, "data directory")->capture_default_str();
  create->add_option("--tenant", flags->tenant, "tenant name ([a-z0-9][a-z0-9_-]*)")->required();
  create->callback([flags] {
    DataDir dir{flags->data};
    if (Status s = io::Env::Default()->CreateDirs(dir.root); !s.ok()) Fail(s);
    auto store = state::OpenSqliteStateStore(dir.state_db());
    if (!store.ok()) Fail(store.status());
    auto created = (*store)->CreateKeys(flags->tenant);
    if (!created.ok()) Fail(created.status());
    std::cout << KeysJson(*created) << std::endl;
  });
}

}  // namespace ca::app
