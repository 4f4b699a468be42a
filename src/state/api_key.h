#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "state/state_store.h"

namespace ca::state {

/// API key format: a readable prefix ("caw_" for write keys, "cas_" for secret keys) followed by
/// 32 base64url characters (24 random bytes, 192 bits). The first 8 characters after the prefix
/// are the non-secret lookup id stored beside the key's SHA-256 hash; the remaining 144 bits stay
/// secret even from someone who reads the database.
inline constexpr std::string_view kWriteKeyPrefix = "caw_";
inline constexpr std::string_view kSecretKeyPrefix = "cas_";
inline constexpr size_t kKeyPrefixLength = 4;
inline constexpr size_t kKeyRandomBytes = 24;
inline constexpr size_t kKeyBodyLength = 32;
inline constexpr size_t kKeyLength = kKeyPrefixLength + kKeyBodyLength;
inline constexpr size_t kKeyIdLength = 8;

/// A syntactically valid key, split into its parts. Views into the presented key.
struct ParsedKey {
  KeyKind kind;
  std::string_view key_id;
};

/// Splits `key`; nullopt when it is not of the form above.
std::optional<ParsedKey> ParseApiKey(std::string_view key);

/// A new random key of `kind`.
std::string GenerateApiKey(KeyKind kind);

/// The raw 32-byte SHA-256 digest of `data`.
std::string Sha256(std::string_view data);

/// The SHA-256 digest of `data`, lower-case hex (64 chars).
std::string Sha256Hex(std::string_view data);

}  // namespace ca::state
