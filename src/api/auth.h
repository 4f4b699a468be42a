#pragma once

#include <string>

#include "base/result.h"
#include "http/request.h"
#include "state/key_cache.h"

namespace ca::api {

/// The tenant of the request's secret key (`Authorization: Bearer SECRET`), or the error to
/// answer: 401 `unauthorized` for a missing or unknown key, 403 `forbidden` for a write key.
Result<std::string> AuthorizeSecretKey(const http::Request& request, state::KeyCache* keys);

}  // namespace ca::api
