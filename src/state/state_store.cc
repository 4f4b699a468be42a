#include "state/state_store.h"

namespace ca::state {

std::string_view KeyKindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kWrite:
      return "write";
    case KeyKind::kSecret:
      return "secret";
  }
  return "unknown";
}

bool IsValidTenantName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '-'))) return false;
  }
  return true;
}

}  // namespace ca::state
