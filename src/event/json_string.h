#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ca::event {

/// Appends `s` as a JSON string literal, quotes included, escaped exactly as simdjson's minifier
/// does (\" \\ \b \t \n \f \r, other control characters as \u00XX; UTF-8 copied as is).
void AppendJsonString(std::string_view s, std::string* out);

/// Appends the object member `"key":"value"` (both escaped as AppendJsonString does), without a
/// separator.
void AppendJsonMember(std::string_view key, std::string_view value, std::string* out);

/// The size AppendJsonString would add for `s`.
size_t JsonStringSize(std::string_view s);

}  // namespace ca::event
