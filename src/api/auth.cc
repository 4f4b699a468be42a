#include "api/auth.h"

#include <string_view>

namespace ca::api {

Result<std::string> AuthorizeSecretKey(const http::Request& request, state::KeyCache* keys) {
  std::string_view auth = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || auth.substr(0, kBearer.size()) != kBearer) {
    return Status(ErrorCode::kUnauthorized,
                  "missing secret key: send Authorization: Bearer <secret key>");
  }
  CA_ASSIGN_OR_RETURN(auto match, keys->Lookup(auth.substr(kBearer.size())));
  if (!match.has_value()) return Status(ErrorCode::kUnauthorized, "unknown key");
  if (match->kind != state::KeyKind::kSecret) {
    return Status(ErrorCode::kForbidden, "a write key cannot read; use the tenant's secret key");
  }
  return match->tenant;
}

}  // namespace ca::api
