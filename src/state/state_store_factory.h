#pragma once

#include <memory>
#include <string_view>

#include "base/result.h"
#include "state/state_store.h"

namespace ca::state {

/// True when `location` names a PostgreSQL database: it starts with `postgresql://` or
/// `postgres://` (libpq's URL schemes).
bool IsPostgresLocation(std::string_view location);

/// Opens the state store at `location`: a PostgreSQL URL (`postgresql://...` or `postgres://...`,
/// see OpenPostgresStateStore) opens PostgreSQL through libpq; anything else is the path of a
/// SQLite database file (OpenSqliteStateStore). Both bring the schema up to date before
/// returning. Errors are those of the backend's open function.
Result<std::unique_ptr<StateStore>> OpenStateStore(std::string_view location);

}  // namespace ca::state
