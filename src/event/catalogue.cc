#include "event/catalogue.h"

#include <algorithm>
#include <array>
#include <unordered_map>

namespace ca::event {
namespace {

using enum PropertyKind;

constexpr std::string_view kStatuses[] = {"applied",  "screening", "interview", "offer",
                                          "rejected", "withdrawn", "ghosted"};

constexpr PropertySpec kJobId[] = {{"job_id", kString, true}};
constexpr PropertySpec kApplicationId[] = {{"application_id", kString, true}};
constexpr PropertySpec kStatusChanged[] = {
    {"application_id", kString, true},
    {"status", kString, true, false, kStatuses},
};
constexpr PropertySpec kSearch[] = {{"query", kString}};
constexpr PropertySpec kFilter[] = {{"filter", kString, true}};
constexpr PropertySpec kTimeSpent[] = {{"seconds", kNumber, false, true}};
constexpr PropertySpec kPerfMetric[] = {{"name", kString, true}, {"value", kNumber}};
constexpr PropertySpec kTaskRun[] = {{"task", kString, true}, {"status", kString, true}};
constexpr PropertySpec kError[] = {{"message", kString}};
constexpr PropertySpec kFormSubmit[] = {{"form_id", kString, true}};
constexpr PropertySpec kAlias[] = {{"previous_id", kString, true}};
constexpr PropertySpec kGroup[] = {{"group_id", kString, true}};

using enum EventCategory;

// Sorted by name (checked at start-up by a test and by the binary search's contract).
constexpr EventTypeSpec kBuiltins[] = {
    {"alias", kIdentity, kAlias},
    {"application_status_changed", kApplication, kStatusChanged},
    {"button_click", kUserAction, {}},
    {"error", kSystem, kError},
    {"filter_change", kUserAction, kFilter},
    {"follow_up", kApplication, kApplicationId},
    {"form_submit", kUserAction, kFormSubmit},
    {"group", kIdentity, kGroup},
    {"identify", kIdentity, {}},
    {"interview_feedback", kApplication, kApplicationId},
    {"interview_scheduled", kApplication, kApplicationId},
    {"job_apply", kJobInteraction, kJobId},
    {"job_save", kJobInteraction, kJobId},
    {"job_share", kJobInteraction, kJobId},
    {"job_view", kJobInteraction, kJobId},
    {"login", kSystem, {}},
    {"logout", kSystem, {}},
    {"offer_accepted", kApplication, kApplicationId},
    {"offer_received", kApplication, kApplicationId},
    {"offer_rejected", kApplication, kApplicationId},
    {"page_view", kUserAction, {}},
    {"perf_metric", kSystem, kPerfMetric},
    {"screen_view", kUserAction, {}},
    {"search", kUserAction, kSearch},
    {"task_run", kSystem, kTaskRun},
    {"time_spent", kUserAction, kTimeSpent},
};

Status BadType(std::string_view name, std::string_view what) {
  return InvalidArgument("custom event type '" + std::string(name) + "': " + std::string(what));
}

}  // namespace

std::string_view PropertyKindName(PropertyKind kind) {
  switch (kind) {
    case kString:
      return "string";
    case kNumber:
      return "number";
    case kBoolean:
      return "boolean";
    case kObject:
      return "object";
    case kArray:
      return "array";
  }
  return "unknown";
}

Result<PropertyKind> ParsePropertyKind(std::string_view name) {
  for (PropertyKind k : {kString, kNumber, kBoolean, kObject, kArray}) {
    if (PropertyKindName(k) == name) return k;
  }
  return InvalidArgument("unknown property kind '" + std::string(name) + "'");
}

std::span<const std::string_view> ApplicationStatuses() { return kStatuses; }

std::span<const EventTypeSpec> BuiltinEventTypes() { return kBuiltins; }

const EventTypeSpec* FindBuiltinEventType(std::string_view name) {
  const EventTypeSpec* end = std::end(kBuiltins);
  const EventTypeSpec* it =
      std::lower_bound(std::begin(kBuiltins), end, name,
                       [](const EventTypeSpec& spec, std::string_view n) { return spec.name < n; });
  return it != end && it->name == name ? it : nullptr;
}

Status ValidateCustomEventType(const CustomEventType& type) {
  const std::string& n = type.name;
  if (n.empty() || n.size() > 64) return BadType(n, "name must have 1..64 characters");
  if (n[0] < 'a' || n[0] > 'z') return BadType(n, "name must start with a-z");
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return BadType(n, "name may only contain a-z, 0-9 and '_'");
    }
  }
  if (FindBuiltinEventType(n) != nullptr) return BadType(n, "name is a built-in type");
  for (size_t i = 0; i < type.required.size(); ++i) {
    const std::string& p = type.required[i].name;
    if (p.empty() || p.size() > 64) return BadType(n, "property names must have 1..64 characters");
    for (char c : p) {
      if (c < 0x21 || c > 0x7e) return BadType(n, "property '" + p + "': not printable ASCII");
    }
    for (size_t j = 0; j < i; ++j) {
      if (type.required[j].name == p) return BadType(n, "property '" + p + "' listed twice");
    }
  }
  return Status::Ok();
}

struct Catalogue::Impl {
  std::vector<CustomEventType> custom;
  std::vector<std::vector<PropertySpec>> properties;  // parallel to `custom`
  std::vector<EventTypeSpec> specs;                   // parallel to `custom`
  std::unordered_map<std::string_view, size_t> by_name;
};

Catalogue::Catalogue() {
  static const auto* const kBuiltinsOnly =
      new std::shared_ptr<const Impl>(std::make_shared<Impl>());
  impl_ = *kBuiltinsOnly;
}

Result<Catalogue> Catalogue::Create(std::vector<CustomEventType> custom) {
  auto impl = std::make_shared<Impl>();
  impl->custom = std::move(custom);
  // The vectors are sized once so the views below never move.
  impl->properties.resize(impl->custom.size());
  impl->specs.resize(impl->custom.size());
  for (size_t i = 0; i < impl->custom.size(); ++i) {
    const CustomEventType& t = impl->custom[i];
    CA_RETURN_IF_ERROR(ValidateCustomEventType(t));
    for (const auto& p : t.required) {
      impl->properties[i].push_back(PropertySpec{p.name, p.kind});
    }
    impl->specs[i] = EventTypeSpec{t.name, EventCategory::kCustom, impl->properties[i]};
    if (!impl->by_name.emplace(t.name, i).second) return BadType(t.name, "defined twice");
  }
  Catalogue c;
  c.impl_ = std::move(impl);
  return c;
}

const EventTypeSpec* Catalogue::Find(std::string_view name) const {
  if (const EventTypeSpec* b = FindBuiltinEventType(name)) return b;
  if (impl_->by_name.empty()) return nullptr;
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &impl_->specs[it->second];
}

std::span<const CustomEventType> Catalogue::custom_types() const { return impl_->custom; }

}  // namespace ca::event
