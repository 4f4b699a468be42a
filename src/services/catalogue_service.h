#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"
#include "event/catalogue.h"
#include "state/state_store.h"

namespace ca::services {

/// Converts a stored custom type (`{"plan": "string", "seats": "number"}`) into the catalogue's
/// form. Errors: kInvalidArgument naming the type and the property.
Result<event::CustomEventType> CustomTypeFromRow(const state::CustomEventTypeRow& row);
/// The stored form of `type`: its required properties as a JSON object of kind names.
state::CustomEventTypeRow RowFromCustomType(const event::CustomEventType& type);

/// Each tenant's event catalogue (built-ins plus its custom types) for the ingest path, read from
/// the state store and cached for `ttl_ms`, so a type added with `career-analytics types add` while
/// the server runs is accepted within that time. Thread-safe.
class CatalogueService {
 public:
  explicit CatalogueService(state::StateStore* store, int64_t ttl_ms = 1000,
                            std::function<int64_t()> now_ms = {});

  /// The catalogue of `tenant`. A stored type that no longer validates is skipped and logged,
  /// so that one bad row cannot stop a tenant's ingestion.
  Result<event::Catalogue> ForTenant(std::string_view tenant);

 private:
  struct Entry {
    event::Catalogue catalogue;
    int64_t loaded_at_ms = 0;
  };
  state::StateStore* const store_;
  const int64_t ttl_ms_;
  const std::function<int64_t()> now_ms_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // guarded by mu_
};

}  // namespace ca::services
