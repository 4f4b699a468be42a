#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "api/user_token.h"
#include "base/result.h"
#include "http/request.h"
#include "state/key_cache.h"

namespace ca::api {

/// Who is calling (docs/auth.md): a server with the tenant's secret key, or a person with a user
/// token, as an admin (the whole tenant) or a user (their own data only).
struct Principal {
  enum class Kind { kSecretKey, kAdmin, kUser };
  Kind kind = Kind::kSecretKey;
  std::string tenant;
  std::string user_id;  ///< the token's subject; empty for a secret key
};

/// Checks `Authorization: Bearer <secret key | user token>` and what the caller may read. Write
/// keys only send events: every read answers them 403. Thread-safe.
class Authenticator {
 public:
  /// `tokens` null: user tokens are refused (no `auth.jwt_secret` configured).
  Authenticator(state::KeyCache* keys, const UserTokenVerifier* tokens)
      : keys_(keys), tokens_(tokens) {}

  /// The caller: 401 `unauthorized` for a missing, unknown, malformed or expired credential,
  /// 403 `forbidden` for a write key, or when `?tenant=` names another tenant than the
  /// credential's.
  Result<Principal> Authenticate(const http::Request& request) const;
  /// A caller who may read the whole tenant: a secret key or an admin token (403 for a user).
  Result<Principal> TenantReader(const http::Request& request) const;
  /// A caller who may read `user_id`'s data, and that user id: a user token reads only its own
  /// (an empty `user_id` means theirs; another one is 403); a secret key or an admin token may
  /// read anyone's but must name them (400 `invalid_argument` when `user_id` is empty).
  Result<std::pair<Principal, std::string>> UserReader(const http::Request& request,
                                                       std::string_view user_id) const;

 private:
  /// Authenticate without the `?tenant=` check.
  Result<Principal> Identify(const http::Request& request) const;

  state::KeyCache* const keys_;
  const UserTokenVerifier* const tokens_;
};

}  // namespace ca::api
