#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"

namespace ca::api {

/// The claims of a user token (an HS256 JWT, docs/auth.md), once verified.
struct UserTokenClaims {
  /// What the holder may see: a user only their own data, an admin the whole tenant's.
  enum class Role { kUser, kAdmin };

  std::string tenant;        ///< claim `tenant`: a valid tenant name (state::IsValidTenantName)
  std::string user_id;       ///< claim `sub`: 1 to kMaxUserTokenSubjectBytes bytes
  Role role = Role::kUser;   ///< claim `role`: "user" or "admin"
  int64_t expires_at_s = 0;  ///< claim `exp`: seconds since the Unix epoch
  std::string issuer;        ///< claim `iss`
  std::string audience;      ///< claim `aud` (the verifier's audience when the token has several)

  friend bool operator==(const UserTokenClaims&, const UserTokenClaims&) = default;
};

/// "user" or "admin", the spelling of the `role` claim.
std::string_view UserTokenRoleName(UserTokenClaims::Role role);

/// Longest accepted token, in bytes; longer ones are rejected before any decoding.
inline constexpr size_t kMaxUserTokenBytes = 8192;
/// Longest accepted `sub` (user id), in bytes; the ingest limit for `user_id`.
inline constexpr size_t kMaxUserTokenSubjectBytes = 256;
/// Shortest accepted signing secret, in bytes (RFC 7518 3.2: a key at least as long as the hash).
inline constexpr size_t kMinUserTokenSecretBytes = 32;

/// Checks user tokens: compact-serialised JWS with the algorithm pinned to HS256, signed with the
/// platform's one secret (`auth.jwt_secret`); the tenant travels in the signed `tenant` claim.
/// Immutable once created; `Verify` may be called from any number of threads at once.
class UserTokenVerifier {
 public:
  struct Options {
    std::string secret;     ///< the HMAC key, at least kMinUserTokenSecretBytes bytes
    std::string issuer;     ///< required value of `iss`; not empty
    std::string audience;   ///< value `aud` must be or contain; not empty
    int64_t leeway_s = 30;  ///< clock skew tolerated for `exp` and `nbf`, 0 to 3600
  };

  /// kInvalidArgument when the secret is shorter than kMinUserTokenSecretBytes, the issuer or
  /// audience is empty, or the leeway is out of range. The message never contains the secret.
  static Result<UserTokenVerifier> Create(Options options);

  /// The claims of `token` (without any "Bearer " prefix) at time `now_s` (seconds since the Unix
  /// epoch). Every rejection is kUnauthorized with a message naming the reason ("token expired",
  /// "token signature does not match", ...) that never repeats the token or the secret.
  /// Checks, in order: length, three base64url parts (padding optional), header JSON with
  /// "alg":"HS256" (and "typ":"JWT" if present, no "crit"), the HMAC-SHA256 signature compared in
  /// constant time, then the payload: `exp` (required), `nbf` and `iat` (optional, numeric), `iss`,
  /// `aud` (string or array), `sub`, `role`, `tenant`. Duplicate member names are rejected.
  Result<UserTokenClaims> Verify(std::string_view token, int64_t now_s) const;

 private:
  explicit UserTokenVerifier(Options options) : options_(std::move(options)) {}

  Options options_;
};

/// A compact HS256 JWT carrying `claims` (header {"alg":"HS256","typ":"JWT"}; payload `iss`, `aud`,
/// `sub`, `tenant`, `role`, `exp`), signed with `secret`. For the demo's sign-in links and tests;
/// the claims are not validated here, and bytes that are not UTF-8 become U+FFFD.
std::string SignUserToken(const UserTokenClaims& claims, std::string_view secret);

}  // namespace ca::api
