#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/data_dir.h"

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
    auto store = OpenState(OfflineConfig(flags->data));
    if (!store.ok()) Fail(store.status());
    auto created = (*store)->CreateKeys(flags->tenant);
    if (!created.ok()) Fail(created.status());
    std::cout << KeysJson(*created) << std::endl;
  });

  struct OriginsFlags {
    std::string data = "./data";
    std::string key;
    std::vector<std::string> allow;
    bool any = false;
  };
  auto origins = std::make_shared<OriginsFlags>();
  CLI::App* origins_cmd = keys->add_subcommand(
      "origins",
      "Set the browser origins a write key accepts events from (CORS); prints them as JSON. "
      "Without --allow, any origin. A running server applies it within a minute.");
  origins_cmd->add_option("--data", origins->data, "data directory")->capture_default_str();
  origins_cmd->add_option("--key", origins->key, "the write key")->required();
  origins_cmd
      ->add_option("--allow", origins->allow,
                   "an allowed origin, e.g. https://jobs.example.com (repeat for more)")
      ->excludes(origins_cmd->add_flag("--any", origins->any, "accept every origin (the default)"));
  origins_cmd->callback([origins] {
    auto store = OpenState(OfflineConfig(origins->data));
    if (!store.ok()) Fail(store.status());
    if (Status s = (*store)->SetAllowedOrigins(origins->key, origins->allow); !s.ok()) Fail(s);
    std::cout << nlohmann::ordered_json{{"allowed_origins", origins->allow}}.dump() << std::endl;
  });
}

}  // namespace ca::app
