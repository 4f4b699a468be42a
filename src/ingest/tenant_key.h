#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ca::ingest {

/// A per-tenant id (a user, a sender) as the in-memory maps of enrichment keep it: the maps are
/// keyed by TenantKeyHash and each entry holds TenantKey to tell two ids with one hash apart.

/// "tenant\0id".
inline std::string TenantKey(std::string_view tenant, std::string_view id) {
  std::string key;
  key.reserve(tenant.size() + 1 + id.size());
  key.append(tenant).push_back('\0');
  key.append(id);
  return key;
}

/// A 64-bit hash of (tenant, id), computed without building TenantKey.
inline uint64_t TenantKeyHash(std::string_view tenant, std::string_view id) {
  return XXH3_64bits_withSeed(id.data(), id.size(), XXH3_64bits(tenant.data(), tenant.size()));
}

/// Whether `key` is TenantKey(tenant, id), compared without building it.
inline bool IsTenantKey(std::string_view key, std::string_view tenant, std::string_view id) {
  return key.size() == tenant.size() + 1 + id.size() && key.substr(0, tenant.size()) == tenant &&
         key[tenant.size()] == '\0' && key.substr(tenant.size() + 1) == id;
}

}  // namespace ca::ingest
