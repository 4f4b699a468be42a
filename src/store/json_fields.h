#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ca::store {

/// Small readers of the minified JSON objects the store keeps (properties, context). The input
/// comes from the ingest decoder, which minifies valid JSON; on anything else they return
/// "not found" rather than fail.

/// The raw text of the value of top-level `key` in object `json` (the first one when repeated, as
/// SQL engines' JSON functions read it); nullopt when absent.
std::optional<std::string_view> FindMember(std::string_view json, std::string_view key);

/// FindMember for several keys in one pass: found[i] gets the raw value of keys[i] (nullopt when
/// absent). Returns false (and leaves `found` cleared) when `json` is not an object.
bool FindMembers(std::string_view json, std::span<const std::string_view> keys,
                 std::span<std::optional<std::string_view>> found);

/// The decoded string when `raw` (a raw JSON value) is a string; nullopt otherwise.
std::optional<std::string> AsString(std::string_view raw);

/// The number when `raw` is a JSON number; nullopt otherwise.
std::optional<double> AsNumber(std::string_view raw);

}  // namespace ca::store
