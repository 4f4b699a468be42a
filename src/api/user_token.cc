#include "api/user_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "state/state_store.h"

namespace ca::api {
namespace {

using Json = nlohmann::json;

constexpr size_t kMacBytes = 32;
using Mac = std::array<unsigned char, kMacBytes>;

/// Deepest nesting accepted in the header and payload (other issuers' claims may nest a little).
constexpr int kMaxJsonDepth = 16;
constexpr int64_t kMaxLeewayS = 3600;

Status Reject(std::string_view message) { return Status(ErrorCode::kUnauthorized, message); }

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

constexpr char kBase64UrlDigits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string EncodeBase64Url(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    out += kBase64UrlDigits[v >> 18];
    out += kBase64UrlDigits[(v >> 12) & 63];
    out += kBase64UrlDigits[(v >> 6) & 63];
    out += kBase64UrlDigits[v & 63];
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kBase64UrlDigits[v >> 18];
    out += kBase64UrlDigits[(v >> 12) & 63];
    if (rest == 2) out += kBase64UrlDigits[(v >> 6) & 63];
  }
  return out;
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/// Decodes base64url (RFC 4648 section 5). Padding is optional but, when present, must be
/// complete; the unused low bits of the last character must be zero, so every byte string has
/// exactly one unpadded spelling.
std::optional<std::string> DecodeBase64Url(std::string_view in) {
  size_t padding = 0;
  while (!in.empty() && in.back() == '=') {
    in.remove_suffix(1);
    ++padding;
  }
  if (padding > 2 || (padding > 0 && (in.size() + padding) % 4 != 0)) return std::nullopt;
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t bits = 0;
  int bit_count = 0;
  for (const char c : in) {
    const int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out += static_cast<char>((bits >> bit_count) & 0xff);
    }
  }
  if ((bits & ((1u << bit_count) - 1)) != 0) return std::nullopt;
  return out;
}

std::optional<Mac> HmacSha256(std::string_view key, std::string_view data) {
  Mac mac;
  unsigned int length = 0;
  if (key.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return std::nullopt;
  // Fails only when OpenSSL cannot allocate.
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(),
           &length) == nullptr ||
      length != kMacBytes) {
    return std::nullopt;
  }
  return mac;
}

enum class JsonProblem { kNone, kMalformed, kNotObject, kDuplicate, kTooDeep };

/// Parses `text` as a JSON object whose members have distinct names.
JsonProblem ParseObject(std::string_view text, Json* out) {
  std::vector<std::string> names;
  bool duplicate = false;
  bool too_deep = false;
  const Json::parser_callback_t callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxJsonDepth) too_deep = true;
    if (event == Json::parse_event_t::key && depth == 1) {
      const auto& name = parsed.get_ref<const std::string&>();
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        duplicate = true;
      } else {
        names.push_back(name);
      }
    }
    return true;
  };
  *out = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (out->is_discarded()) return JsonProblem::kMalformed;
  if (too_deep) return JsonProblem::kTooDeep;
  if (!out->is_object()) return JsonProblem::kNotObject;
  if (duplicate) return JsonProblem::kDuplicate;
  return JsonProblem::kNone;
}

Status CheckParsed(JsonProblem problem, std::string_view part) {
  switch (problem) {
    case JsonProblem::kNone:
      return Status::Ok();
    case JsonProblem::kMalformed:
    case JsonProblem::kNotObject:
      return Reject("token " + std::string(part) + " is not a JSON object");
    case JsonProblem::kDuplicate:
      return Reject("token " + std::string(part) + " has a duplicate member name");
    case JsonProblem::kTooDeep:
      return Reject("token " + std::string(part) + " is nested too deeply");
  }
  return Reject("token " + std::string(part) + " is not a JSON object");
}

/// A JWT NumericDate (RFC 7519 section 2): a JSON number of seconds, possibly fractional, here
/// rounded down and clamped to int64.
std::optional<int64_t> NumericDate(const Json& value) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<uint64_t>();
    return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
               ? std::numeric_limits<int64_t>::max()
               : static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    const double v = value.get<double>();
    if (!std::isfinite(v)) return std::nullopt;
    constexpr double kLimit = 9.0e18;
    if (v >= kLimit) return std::numeric_limits<int64_t>::max();
    if (v <= -kLimit) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(std::floor(v));
  }
  return std::nullopt;
}

/// The optional date claim `name`: nullopt when absent, an error when present but not a number.
Result<std::optional<int64_t>> OptionalDate(const Json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end()) return std::optional<int64_t>();
  const std::optional<int64_t> date = NumericDate(*it);
  if (!date) return Reject("token " + std::string(name) + " must be a number of seconds");
  return date;
}

bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

Status CheckHeader(const Json& header) {
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
    return Reject("token algorithm must be HS256");
  }
  // RFC 7515 section 4.1.9: a media type, case-insensitive, "application/" may be omitted.
  const auto typ = header.find("typ");
  if (typ != header.end() &&
      (!typ->is_string() ||
       !(EqualsIgnoringAsciiCase(typ->get_ref<const std::string&>(), "JWT") ||
         EqualsIgnoringAsciiCase(typ->get_ref<const std::string&>(), "application/jwt")))) {
    return Reject("token type must be JWT");
  }
  // RFC 7515 section 4.1.11: extensions listed in "crit" must be understood; we know none.
  if (header.contains("crit")) return Reject("token header has unsupported critical parameters");
  return Status::Ok();
}

Result<UserTokenClaims> ReadClaims(const Json& payload, const UserTokenVerifier::Options& options,
                                   int64_t now_s) {
  UserTokenClaims claims;

  const auto exp = payload.find("exp");
  if (exp == payload.end()) return Reject("token has no expiry (exp)");
  const std::optional<int64_t> expires_at = NumericDate(*exp);
  if (!expires_at) return Reject("token exp must be a number of seconds");
  if (SaturatingAdd(*expires_at, options.leeway_s) <= now_s) return Reject("token expired");
  claims.expires_at_s = *expires_at;

  CA_ASSIGN_OR_RETURN(const std::optional<int64_t> not_before, OptionalDate(payload, "nbf"));
  if (not_before && *not_before > SaturatingAdd(now_s, options.leeway_s)) {
    return Reject("token not valid yet (nbf)");
  }
  CA_ASSIGN_OR_RETURN(const std::optional<int64_t> issued_at, OptionalDate(payload, "iat"));
  (void)issued_at;

  const auto iss = payload.find("iss");
  if (iss == payload.end() || !iss->is_string() ||
      iss->get_ref<const std::string&>() != options.issuer) {
    return Reject("token issuer does not match");
  }
  claims.issuer = options.issuer;

  const auto aud = payload.find("aud");
  bool audience_found = false;
  if (aud != payload.end() && aud->is_string()) {
    audience_found = aud->get_ref<const std::string&>() == options.audience;
  } else if (aud != payload.end() && aud->is_array()) {
    for (const Json& entry : *aud) {
      if (!entry.is_string()) return Reject("token audience must be a string or strings");
      audience_found = audience_found || entry.get_ref<const std::string&>() == options.audience;
    }
  }
  if (!audience_found) return Reject("token audience does not match");
  claims.audience = options.audience;

  const auto sub = payload.find("sub");
  if (sub == payload.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    return Reject("token subject (sub) must be a non-empty string");
  }
  if (sub->get_ref<const std::string&>().size() > kMaxUserTokenSubjectBytes) {
    return Reject("token subject (sub) is longer than " +
                  std::to_string(kMaxUserTokenSubjectBytes) + " bytes");
  }
  claims.user_id = sub->get<std::string>();

  const auto role = payload.find("role");
  if (role != payload.end() && role->is_string() && role->get_ref<const std::string&>() == "user") {
    claims.role = UserTokenClaims::Role::kUser;
  } else if (role != payload.end() && role->is_string() &&
             role->get_ref<const std::string&>() == "admin") {
    claims.role = UserTokenClaims::Role::kAdmin;
  } else {
    return Reject("token role must be \"user\" or \"admin\"");
  }

  const auto tenant = payload.find("tenant");
  if (tenant == payload.end() || !tenant->is_string() ||
      !state::IsValidTenantName(tenant->get_ref<const std::string&>())) {
    return Reject("token tenant must be a valid tenant name");
  }
  claims.tenant = tenant->get<std::string>();
  return claims;
}

}  // namespace

std::string_view UserTokenRoleName(UserTokenClaims::Role role) {
  return role == UserTokenClaims::Role::kAdmin ? "admin" : "user";
}

Result<UserTokenVerifier> UserTokenVerifier::Create(Options options) {
  if (options.secret.size() < kMinUserTokenSecretBytes) {
    return InvalidArgument("the user token secret must be at least " +
                           std::to_string(kMinUserTokenSecretBytes) + " bytes");
  }
  if (options.issuer.empty()) return InvalidArgument("the user token issuer must not be empty");
  if (options.audience.empty()) {
    return InvalidArgument("the user token audience must not be empty");
  }
  if (options.leeway_s < 0 || options.leeway_s > kMaxLeewayS) {
    return InvalidArgument("the user token leeway must be 0 to " + std::to_string(kMaxLeewayS) +
                           " seconds");
  }
  return UserTokenVerifier(std::move(options));
}

Result<UserTokenClaims> UserTokenVerifier::Verify(std::string_view token, int64_t now_s) const {
  if (token.size() > kMaxUserTokenBytes) return Reject("token too long");
  const size_t first_dot = token.find('.');
  const size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return Reject("token must be three base64url parts separated by '.'");
  }
  const std::string_view header_b64 = token.substr(0, first_dot);
  const std::string_view payload_b64 = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_b64 = token.substr(second_dot + 1);

  const std::optional<std::string> header_text = DecodeBase64Url(header_b64);
  if (!header_text) return Reject("token header is not valid base64url");
  Json header;
  CA_RETURN_IF_ERROR(CheckParsed(ParseObject(*header_text, &header), "header"));
  CA_RETURN_IF_ERROR(CheckHeader(header));

  const std::optional<std::string> signature = DecodeBase64Url(signature_b64);
  if (!signature) return Reject("token signature is not valid base64url");
  const std::optional<Mac> expected = HmacSha256(options_.secret, token.substr(0, second_dot));
  if (!expected) return Internal("HMAC-SHA256 failed");
  if (signature->size() != expected->size() ||
      CRYPTO_memcmp(signature->data(), expected->data(), expected->size()) != 0) {
    return Reject("token signature does not match");
  }

  const std::optional<std::string> payload_text = DecodeBase64Url(payload_b64);
  if (!payload_text) return Reject("token payload is not valid base64url");
  Json payload;
  CA_RETURN_IF_ERROR(CheckParsed(ParseObject(*payload_text, &payload), "payload"));
  return ReadClaims(payload, options_, now_s);
}

std::string SignUserToken(const UserTokenClaims& claims, std::string_view secret) {
  const Json payload = {
      {"iss", claims.issuer},
      {"aud", claims.audience},
      {"sub", claims.user_id},
      {"tenant", claims.tenant},
      {"role", UserTokenRoleName(claims.role)},
      {"exp", claims.expires_at_s},
  };
  std::string token = EncodeBase64Url(R"({"alg":"HS256","typ":"JWT"})");
  token += '.';
  token += EncodeBase64Url(payload.dump(-1, ' ', false, Json::error_handler_t::replace));
  const std::optional<Mac> mac = HmacSha256(secret, token);
  // HmacSha256 fails only when OpenSSL cannot allocate (or on a secret over 2 GiB).
  if (!mac) throw std::runtime_error("HMAC-SHA256 failed");
  token += '.';
  token +=
      EncodeBase64Url(std::string_view(reinterpret_cast<const char*>(mac->data()), mac->size()));
  return token;
}

}  // namespace ca::api
