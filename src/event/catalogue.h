#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ca::event {

/// The JSON kind a required property must have.
enum class PropertyKind : uint8_t { kString, kNumber, kBoolean, kObject, kArray };

/// Name of a kind as written in docs and custom type definitions: "string", "number", ...
std::string_view PropertyKindName(PropertyKind kind);
/// Inverse of PropertyKindName. Errors: kInvalidArgument.
Result<PropertyKind> ParsePropertyKind(std::string_view name);

enum class EventCategory : uint8_t {
  kUserAction,
  kJobInteraction,
  kApplication,
  kSystem,
  kCustom,
  kIdentity,  ///< identify, alias, group: who a user is (calls of the analytics SDKs)
};

/// A property an event type requires in its `properties` object.
struct PropertySpec {
  std::string_view name;
  PropertyKind kind = PropertyKind::kString;
  bool non_empty = false;                            ///< kString: the empty string is rejected.
  bool non_negative = false;                         ///< kNumber: values below 0 are rejected.
  std::span<const std::string_view> allowed_values;  ///< kString: if not empty, the value set.
};

/// One event type of the catalogue. Views stay valid as long as the owning Catalogue (custom
/// types) or the program (built-in types) lives.
struct EventTypeSpec {
  std::string_view name;
  EventCategory category = EventCategory::kCustom;
  std::span<const PropertySpec> required;
};

/// The status values of `application_status_changed`.
std::span<const std::string_view> ApplicationStatuses();

/// All built-in types, sorted by name.
std::span<const EventTypeSpec> BuiltinEventTypes();

/// The built-in type called `name`, or nullptr.
const EventTypeSpec* FindBuiltinEventType(std::string_view name);

/// A tenant-defined event type with its required properties.
struct CustomEventType {
  struct Property {
    std::string name;
    PropertyKind kind = PropertyKind::kString;
  };
  std::string name;  ///< `[a-z][a-z0-9_]{0,63}`, not a built-in name.
  std::vector<Property> required;
};

/// Checks a custom type definition: name syntax, no clash with a built-in, property names of 1..64
/// printable ASCII characters without duplicates. Errors: kInvalidArgument.
Status ValidateCustomEventType(const CustomEventType& type);

/// The event types one tenant may send: all built-ins plus its custom types. Immutable; cheap to
/// copy (shared state) and safe to use from many threads.
class Catalogue {
 public:
  /// Built-in types only.
  Catalogue();

  /// Built-ins plus `custom`. Errors: kInvalidArgument when a type is invalid (see
  /// ValidateCustomEventType) or two custom types share a name.
  static Result<Catalogue> Create(std::vector<CustomEventType> custom);

  /// The type called `name` (built-in first, then custom), or nullptr.
  const EventTypeSpec* Find(std::string_view name) const;

  /// The custom types as given to Create.
  std::span<const CustomEventType> custom_types() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace ca::event
