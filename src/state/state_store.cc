#include "state/state_store.h"

namespace ca::state {

std::string_view KeyKindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kWrite:
      return "write";
    case KeyKind::kSecret:
      return "secret";
  }
  return "unknown";
}

Result<DeadLetterOverview> StateStore::OverviewDeadLetters(std::string_view, size_t) {
  return Status(ErrorCode::kUnavailable, "this state store keeps no dead letters");
}

bool IsValidTenantName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '-'))) return false;
  }
  return true;
}

Status CheckUserActivityRows(const std::vector<UserActivityRow>& rows) {
  for (const UserActivityRow& row : rows) {
    if (!IsValidTenantName(row.tenant)) {
      return InvalidArgument("activity: invalid tenant name '" + row.tenant.substr(0, 80) + "'");
    }
    if (row.user_id.empty() || row.type.empty() || row.event_id.empty()) {
      return InvalidArgument("activity: a row without a user id, type or event id");
    }
  }
  return Status::Ok();
}

bool IsValidOrigin(std::string_view origin) {
  std::string_view rest;
  if (origin.starts_with("https://")) {
    rest = origin.substr(8);
  } else if (origin.starts_with("http://")) {
    rest = origin.substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest.size() > 253 + 6) return false;
  const size_t colon = rest.rfind(':');
  std::string_view host = rest.substr(0, colon), port;
  if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  if (host.empty() || (colon != std::string_view::npos && (port.empty() || port.size() > 5))) {
    return false;
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string NormaliseKey(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

}  // namespace ca::state
