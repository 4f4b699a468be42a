#include <iostream>
#include <memory>
#include <vector>

#include "app/commands.h"
#include "app/data_dir.h"
#include "services/catalogue_service.h"
#include "state/sqlite_state_store.h"

namespace ca::app {

void AddTypesCommand(CLI::App* app) {
  CLI::App* types = app->add_subcommand("types", "Manage a tenant's custom event types");
  types->require_subcommand(1);

  struct Flags {
    std::string data = "./data";
    std::string tenant;
    std::string name;
    std::vector<std::string> require;
  };
  auto flags = std::make_shared<Flags>();

  CLI::App* add = types->add_subcommand(
      "add", "Add (or redefine) a custom event type; a running server accepts it within a second");
  add->add_option("--data", flags->data, "data directory")->capture_default_str();
  add->add_option("--tenant", flags->tenant, "tenant name")->required();
  add->add_option("--name", flags->name, "type name ([a-z][a-z0-9_]*, not a built-in)")->required();
  add->add_option(
      "--require", flags->require,
      "a required property as NAME:KIND (kind: string, number, boolean, object, array); "
      "repeatable");
  add->callback([flags] {
    event::CustomEventType type{flags->name, {}};
    for (const std::string& spec : flags->require) {
      size_t colon = spec.rfind(':');
      if (colon == std::string::npos)
        Fail(InvalidArgument("--require " + spec + ": want NAME:KIND"));
      auto kind = event::ParsePropertyKind(spec.substr(colon + 1));
      if (!kind.ok()) Fail(kind.status().WithContext("--require " + spec));
      type.required.push_back({spec.substr(0, colon), *kind});
    }
    if (Status s = event::ValidateCustomEventType(type); !s.ok()) Fail(s);
    auto store = OpenStateOrFail(flags->data);
    if (Status s = store->AddCustomEventType(flags->tenant, services::RowFromCustomType(type));
        !s.ok()) {
      Fail(s);
    }
    std::cout << "added " << type.name << " to tenant " << flags->tenant << std::endl;
  });

  CLI::App* list =
      types->add_subcommand("list", "List a tenant's custom event types as JSON lines");
  list->add_option("--data", flags->data, "data directory")->capture_default_str();
  list->add_option("--tenant", flags->tenant, "tenant name")->required();
  list->callback([flags] {
    auto store = OpenStateOrFail(flags->data);
    auto rows = store->ListCustomEventTypes(flags->tenant);
    if (!rows.ok()) Fail(rows.status());
    for (const auto& row : *rows) {
      std::cout << "{\"name\":\"" << row.name << "\",\"required\":" << row.required_properties_json
                << "}\n";
    }
  });
}

}  // namespace ca::app
