#pragma once

#include <string_view>

namespace ca::api {

/// The OpenAPI 3.1 description of every route (docs/api/openapi.json, compiled in), served at
/// GET /openapi.json. `openapi_test` fails when a registered route is missing from it.
std::string_view OpenApiDocument();

}  // namespace ca::api
