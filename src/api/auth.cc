#include "api/auth.h"

#include <algorithm>

#include "base/clock.h"

namespace ca::api {
namespace {

// A JWT has three dot-separated parts; API keys have no dot.
bool LooksLikeToken(std::string_view credential) {
  return std::count(credential.begin(), credential.end(), '.') == 2;
}

}  // namespace

Result<Principal> Authenticator::Authenticate(const http::Request& request) const {
  CA_ASSIGN_OR_RETURN(Principal p, Identify(request));
  // A caller may name the tenant it means (?tenant=): a credential of another one is refused
  // instead of answering from its own tenant.
  if (std::string named = request.QueryParam("tenant"); !named.empty() && named != p.tenant) {
    return Status(ErrorCode::kForbidden, "the credential belongs to another tenant");
  }
  return p;
}

Result<Principal> Authenticator::Identify(const http::Request& request) const {
  std::string_view auth = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || auth.substr(0, kBearer.size()) != kBearer) {
    return Status(ErrorCode::kUnauthorized,
                  "missing credentials: send Authorization: Bearer <secret key or user token>");
  }
  const std::string_view credential = auth.substr(kBearer.size());
  if (LooksLikeToken(credential)) {
    if (tokens_ == nullptr) {
      return Status(ErrorCode::kUnauthorized,
                    "user tokens are not accepted: the server has no auth.jwt_secret");
    }
    CA_ASSIGN_OR_RETURN(UserTokenClaims claims, tokens_->Verify(credential, NowMillis() / 1000));
    Principal p;
    p.kind = claims.role == UserTokenClaims::Role::kAdmin ? Principal::Kind::kAdmin
                                                          : Principal::Kind::kUser;
    p.tenant = std::move(claims.tenant);
    p.user_id = std::move(claims.user_id);
    return p;
  }
  CA_ASSIGN_OR_RETURN(auto match, keys_->Lookup(credential));
  if (!match.has_value()) return Status(ErrorCode::kUnauthorized, "unknown key");
  if (match->kind != state::KeyKind::kSecret) {
    return Status(ErrorCode::kForbidden, "a write key cannot read; use the tenant's secret key");
  }
  Principal p;
  p.tenant = match->tenant;
  return p;
}

Result<Principal> Authenticator::TenantReader(const http::Request& request) const {
  CA_ASSIGN_OR_RETURN(Principal p, Authenticate(request));
  if (p.kind == Principal::Kind::kUser) {
    return Status(ErrorCode::kForbidden,
                  "this route reads the whole tenant: it needs the secret key or an admin token");
  }
  return p;
}

Result<std::pair<Principal, std::string>> Authenticator::UserReader(
    const http::Request& request, std::string_view user_id) const {
  CA_ASSIGN_OR_RETURN(Principal p, Authenticate(request));
  if (p.kind == Principal::Kind::kUser) {
    if (!user_id.empty() && user_id != p.user_id) {
      return Status(ErrorCode::kForbidden, "a user token reads only its own user's data");
    }
    std::string own = p.user_id;
    return std::pair(std::move(p), std::move(own));
  }
  if (user_id.empty()) return Status(ErrorCode::kInvalidArgument, "user_id is required");
  return std::pair(std::move(p), std::string(user_id));
}

}  // namespace ca::api
