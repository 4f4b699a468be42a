// libFuzzer target for user tokens (api/user_token.h): UserTokenVerifier::Verify on arbitrary
// bytes with a fixed secret. Random bytes almost never carry a valid signature, so an input that
// starts with '{' (never a valid token) is instead split at its first '\n' into a header and a
// payload JSON text, which are base64url-encoded and correctly signed here: that reaches the header
// and claim checks. Besides memory errors it checks: every rejection is kUnauthorized and never
// repeats the secret; accepted claims are within the documented limits, not expired at the fuzzing
// clock, and survive SignUserToken and Verify unchanged.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/user_token.h"
#include "state/state_store.h"

namespace {

constexpr std::string_view kSecret = "fuzz-secret-fuzz-secret-fuzz-secret-42";
constexpr int64_t kNow = 1'750'000'000;
constexpr int64_t kLeeway = 30;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

std::string B64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string Signed(std::string_view header, std::string_view payload) {
  std::string token = B64(header) + "." + B64(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
           reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac,
           &length) == nullptr) {
    std::abort();
  }
  return token + "." + B64(std::string_view(reinterpret_cast<const char*>(mac), length));
}

const ca::api::UserTokenVerifier& Verifier() {
  static const ca::api::UserTokenVerifier verifier = [] {
    ca::Result<ca::api::UserTokenVerifier> v = ca::api::UserTokenVerifier::Create(
        {.secret = std::string(kSecret), .issuer = "iss", .audience = "aud", .leeway_s = kLeeway});
    if (!v.ok()) std::abort();
    return std::move(v).value();
  }();
  return verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string token;
  if (input.starts_with('{')) {
    const size_t newline = input.find('\n');
    const std::string_view header = input.substr(0, newline);
    const std::string_view payload =
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    token = Signed(header, payload);
  } else {
    token = std::string(input);
  }

  const ca::Result<ca::api::UserTokenClaims> claims = Verifier().Verify(token, kNow);
  if (!claims.ok()) {
    Check(claims.status().code() == ca::ErrorCode::kUnauthorized, "rejections are unauthorized");
    Check(claims.status().message().find(kSecret) == std::string_view::npos, "secret not echoed");
    return 0;
  }
  Check(token.size() <= ca::api::kMaxUserTokenBytes, "length cap");
  Check(ca::state::IsValidTenantName(claims->tenant), "tenant valid");
  Check(!claims->user_id.empty() && claims->user_id.size() <= ca::api::kMaxUserTokenSubjectBytes,
        "sub non-empty and capped");
  Check(claims->issuer == "iss" && claims->audience == "aud", "issuer and audience");
  Check(claims->expires_at_s > kNow - kLeeway, "not expired");

  const ca::Result<ca::api::UserTokenClaims> again =
      Verifier().Verify(ca::api::SignUserToken(*claims, kSecret), kNow);
  Check(again.ok() && *again == *claims, "sign and verify round trip");
  return 0;
}
