#include "http/request.h"

namespace ca::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool SplitTarget(std::string_view target, std::string* path, std::string* query,
                 std::string* raw_path_out) {
  if (target == "*") {
    // assign(n, c) rather than = "*": g++ 12 -O2 reports a false -Wrestrict on the latter.
    path->assign(1, '*');
    query->clear();
    if (raw_path_out != nullptr) raw_path_out->assign(1, '*');
    return true;
  }
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.substr(0, scheme.size()) == scheme) {
      size_t slash = target.find_first_of("/?", scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      if (target.front() == '?') return false;
      break;
    }
  }
  if (target.empty() || target.front() != '/') return false;
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  std::string_view raw_query = q == std::string_view::npos ? "" : target.substr(q + 1);
  size_t hash = raw_query.find('#');
  if (hash != std::string_view::npos) raw_query = raw_query.substr(0, hash);
  auto decoded = PercentDecode(raw_path, /*plus_as_space=*/false);
  if (!decoded) return false;
  *path = std::move(*decoded);
  *query = std::string(raw_query);
  if (raw_path_out != nullptr) raw_path_out->assign(raw_path);
  return true;
}

std::string_view Request::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

std::string_view Request::PathParam(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return {};
}

std::string Request::QueryParam(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view raw_key = pair.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    auto key = PercentDecode(raw_key, /*plus_as_space=*/true);
    if (!key || *key != name) continue;
    auto value = PercentDecode(raw_value, /*plus_as_space=*/true);
    return value ? std::move(*value) : std::string(raw_value);
  }
  return "";
}

}  // namespace ca::http
