#include "state/state_store_factory.h"

#include <string>

#include "state/postgres_state_store.h"
#include "state/sqlite_state_store.h"

namespace ca::state {

bool IsPostgresLocation(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

Result<std::unique_ptr<StateStore>> OpenStateStore(std::string_view location) {
  if (IsPostgresLocation(location)) return OpenPostgresStateStore(std::string(location));
  return OpenSqliteStateStore(std::string(location));
}

}  // namespace ca::state
