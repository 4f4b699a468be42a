#include "http/router.h"

#include <algorithm>

#include "http/errors.h"

namespace ca::http {
namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    segments.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

bool IsParameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::Add(std::string method, std::string path, Handler h) {
  if (path.find('{') == std::string::npos) {
    routes_[std::move(path)][std::move(method)] = std::move(h);
    return;
  }
  for (Pattern& p : patterns_) {
    if (p.path == path) {
      p.methods[std::move(method)] = std::move(h);
      return;
    }
  }
  Pattern pattern{path, Split(path), {}};
  pattern.methods[std::move(method)] = std::move(h);
  patterns_.push_back(std::move(pattern));
}

const Router::Methods* Router::MatchPattern(
    std::string_view path, bool encoded,
    std::vector<std::pair<std::string, std::string>>* params) const {
  if (patterns_.empty() || path.empty() || path[0] != '/') return nullptr;
  // Split as sent, then decode each segment: "%2F" is part of a value, not a separator.
  std::vector<std::string> segments = Split(path);
  for (std::string& segment : segments) {
    if (!encoded) break;
    std::optional<std::string> decoded = PercentDecode(segment, /*plus_as_space=*/false);
    if (!decoded) return nullptr;  // SplitTarget refuses such targets before
    segment = std::move(*decoded);
  }
  for (const Pattern& p : patterns_) {
    if (p.segments.size() != segments.size()) continue;
    params->clear();
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      if (IsParameter(p.segments[i])) {
        match = !segments[i].empty();
        params->emplace_back(p.segments[i].substr(1, p.segments[i].size() - 2), segments[i]);
      } else {
        match = p.segments[i] == segments[i];
      }
    }
    if (match) return &p.methods;
  }
  params->clear();
  return nullptr;
}

void Router::Dispatch(Request& request, Responder responder) const {
  const Methods* found = nullptr;
  if (auto path_it = routes_.find(request.path); path_it != routes_.end()) {
    found = &path_it->second;
  } else {
    const bool encoded = !request.raw_path.empty();
    found = MatchPattern(encoded ? request.raw_path : request.path, encoded, &request.path_params);
  }
  if (found == nullptr) {
    responder(ErrorResponse({ErrorCode::kRouteNotFound, "no route for " + request.path}));
    return;
  }
  const Methods& methods = *found;
  auto it = methods.find(request.method);
  if (it == methods.end() && request.method == "HEAD") it = methods.find("GET");
  if (it != methods.end()) {
    it->second(request, std::move(responder));
    return;
  }
  std::string allow;
  for (const auto& [method, handler] : methods) {
    if (!allow.empty()) allow += ", ";
    allow += method;
  }
  if (methods.count("GET") != 0 && methods.count("HEAD") == 0) allow += ", HEAD";
  Response r = ErrorResponse(
      {ErrorCode::kMethodNotAllowed, request.method + " is not allowed on " + request.path});
  r.headers.emplace_back("Allow", std::move(allow));
  responder(std::move(r));
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [path, methods] : routes_) {
    for (const auto& [method, handler] : methods) out.emplace_back(method, path);
  }
  for (const Pattern& p : patterns_) {
    for (const auto& [method, handler] : p.methods) out.emplace_back(method, p.path);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ca::http
