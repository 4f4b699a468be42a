#include "services/catalogue_service.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <utility>

#include "base/clock.h"

namespace ca::services {

Result<event::CustomEventType> CustomTypeFromRow(const state::CustomEventTypeRow& row) {
  event::CustomEventType type;
  type.name = row.name;
  auto json = nlohmann::ordered_json::parse(row.required_properties_json, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return InvalidArgument("custom type '" + row.name +
                           "': required properties are not a JSON object");
  }
  for (const auto& [name, kind] : json.items()) {
    if (!kind.is_string()) {
      return InvalidArgument("custom type '" + row.name + "': property '" + name +
                             "' needs a kind name (string, number, boolean, object, array)");
    }
    auto parsed = event::ParsePropertyKind(kind.get<std::string>());
    if (!parsed.ok()) return parsed.status().WithContext("custom type '" + row.name + "'");
    type.required.push_back({name, *parsed});
  }
  CA_RETURN_IF_ERROR(event::ValidateCustomEventType(type));
  return type;
}

state::CustomEventTypeRow RowFromCustomType(const event::CustomEventType& type) {
  nlohmann::ordered_json required = nlohmann::ordered_json::object();
  for (const auto& p : type.required) required[p.name] = event::PropertyKindName(p.kind);
  return {type.name, required.dump()};
}

CatalogueService::CatalogueService(state::StateStore* store, int64_t ttl_ms,
                                   std::function<int64_t()> now_ms)
    : store_(store),
      ttl_ms_(ttl_ms),
      now_ms_(now_ms ? std::move(now_ms) : std::function<int64_t()>(NowMillis)) {}

Result<event::Catalogue> CatalogueService::ForTenant(std::string_view tenant) {
  const int64_t now = now_ms_();
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(tenant);
    if (it != entries_.end() && now - it->second.loaded_at_ms < ttl_ms_)
      return it->second.catalogue;
  }
  CA_ASSIGN_OR_RETURN(auto rows, store_->ListCustomEventTypes(tenant));
  std::vector<event::CustomEventType> types;
  for (const auto& row : rows) {
    auto type = CustomTypeFromRow(row);
    if (!type.ok()) {
      spdlog::warn("tenant {}: skipping custom event type: {}", tenant, type.status().ToString());
      continue;
    }
    types.push_back(std::move(type).value());
  }
  CA_ASSIGN_OR_RETURN(auto catalogue, event::Catalogue::Create(std::move(types)));
  std::lock_guard lock(mu_);
  entries_[std::string(tenant)] = {catalogue, now};
  return catalogue;
}

}  // namespace ca::services
