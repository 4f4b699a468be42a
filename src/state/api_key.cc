#include "state/api_key.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "base/random.h"

namespace ca::state {
namespace {

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::optional<ParsedKey> ParseApiKey(std::string_view key) {
  if (key.size() != kKeyLength) return std::nullopt;
  KeyKind kind;
  std::string_view prefix = key.substr(0, kKeyPrefixLength);
  if (prefix == kWriteKeyPrefix) {
    kind = KeyKind::kWrite;
  } else if (prefix == kSecretKeyPrefix) {
    kind = KeyKind::kSecret;
  } else {
    return std::nullopt;
  }
  std::string_view body = key.substr(kKeyPrefixLength);
  for (char c : body) {
    if (!IsBase64UrlChar(c)) return std::nullopt;
  }
  return ParsedKey{kind, body.substr(0, kKeyIdLength)};
}

std::string GenerateApiKey(KeyKind kind) {
  std::string key(kind == KeyKind::kWrite ? kWriteKeyPrefix : kSecretKeyPrefix);
  key += RandomBase64Url(kKeyRandomBytes);
  return key;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // EVP_Digest with SHA-256 fails only on allocation failure inside OpenSSL.
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest(SHA-256) failed");
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string Sha256Hex(std::string_view data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string digest = Sha256(data);
  std::string out;
  out.reserve(2 * digest.size());
  for (unsigned char b : digest) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

}  // namespace ca::state
