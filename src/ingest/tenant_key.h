#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace ca::ingest {

/// A per-tenant id (a user, a sender) as the in-memory tables of enrichment key it: by
/// TenantKeyHash, with TenantKeyCheck kept in the entry to tell two ids with one hash apart (the
/// pair is 128 bits: two ids sharing both are not expected to occur).

/// A 64-bit hash of (tenant, id).
inline uint64_t TenantKeyHash(std::string_view tenant, std::string_view id) {
  return XXH3_64bits_withSeed(id.data(), id.size(), XXH3_64bits(tenant.data(), tenant.size()));
}

/// A second, independent 64-bit hash of (tenant, id).
inline uint64_t TenantKeyCheck(std::string_view tenant, std::string_view id) {
  return XXH3_64bits_withSeed(id.data(), id.size(), ~XXH3_64bits(tenant.data(), tenant.size()));
}

}  // namespace ca::ingest
