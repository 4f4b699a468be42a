#include "api/user_token.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ca::api {
namespace {

using Json = nlohmann::json;
using Role = UserTokenClaims::Role;

constexpr std::string_view kSecret = "test-secret-test-secret-test-secret-0123";
constexpr std::string_view kIssuer = "https://auth.example.com";
constexpr std::string_view kAudience = "career-analytics";
constexpr int64_t kNow = 1'750'000'000;
constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

// The helpers below build tokens with OpenSSL's own base64 and HMAC, not with user_token.cc, so
// that a token is signed correctly and only the property under test is wrong.

std::string B64(std::string_view data, bool padded = false) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  if (!padded) {
    while (!out.empty() && out.back() == '=') out.pop_back();
  }
  return out;
}

std::string Hs256(std::string_view signing_input, std::string_view secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

/// header.payload.signature from JSON texts, correctly signed over the base64url text.
std::string Make(std::string_view header, std::string_view payload,
                 std::string_view secret = kSecret, bool padded = false) {
  std::string input = B64(header, padded) + "." + B64(payload, padded);
  return input + "." + B64(Hs256(input, secret), padded);
}

/// Signs the base64url texts as given (which may be malformed).
std::string SignRaw(std::string_view header_b64, std::string_view payload_b64) {
  std::string input = std::string(header_b64) + "." + std::string(payload_b64);
  return input + "." + B64(Hs256(input, kSecret));
}

Json GoodPayload() {
  return Json{{"iss", kIssuer},   {"aud", kAudience}, {"sub", "user-1"},
              {"tenant", "acme"}, {"role", "user"},   {"exp", kNow + 3600}};
}

std::string Token(const Json& payload) { return Make(kHs256Header, payload.dump()); }

std::string TokenWithHeader(const Json& header) {
  return Make(header.dump(), GoodPayload().dump());
}

UserTokenVerifier NewVerifier(std::string_view secret = kSecret,
                              std::string_view audience = kAudience) {
  Result<UserTokenVerifier> v = UserTokenVerifier::Create({.secret = std::string(secret),
                                                           .issuer = std::string(kIssuer),
                                                           .audience = std::string(audience),
                                                           .leeway_s = 30});
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return std::move(v).value();
}

ErrorCode CodeOf(std::string_view token, int64_t now = kNow) {
  return NewVerifier().Verify(token, now).status().code();
}

TEST(UserTokenTest, GoodPayloadIsAccepted) {
  const Result<UserTokenClaims> claims = NewVerifier().Verify(Token(GoodPayload()), kNow);
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(claims->tenant, "acme");
  EXPECT_EQ(claims->user_id, "user-1");
  EXPECT_EQ(claims->role, Role::kUser);
  EXPECT_EQ(claims->expires_at_s, kNow + 3600);
  EXPECT_EQ(claims->issuer, kIssuer);
  EXPECT_EQ(claims->audience, kAudience);
}

TEST(UserTokenTest, RoundTrip) {
  for (const Role role : {Role::kUser, Role::kAdmin}) {
    const UserTokenClaims claims{.tenant = "globex-2",
                                 .user_id = "jane@example.com",
                                 .role = role,
                                 .expires_at_s = kNow + 60,
                                 .issuer = std::string(kIssuer),
                                 .audience = std::string(kAudience)};
    const Result<UserTokenClaims> back = NewVerifier().Verify(SignUserToken(claims, kSecret), kNow);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, claims);
  }
  EXPECT_EQ(UserTokenRoleName(Role::kUser), "user");
  EXPECT_EQ(UserTokenRoleName(Role::kAdmin), "admin");
}

// Computed outside this code base: Python's hmac/base64/json (sorted keys, compact separators),
// the HMAC checked with `openssl dgst -sha256 -hmac SECRET`.
constexpr std::string_view kVectorSecret = "independent-vector-secret-0123456789abcdef";
constexpr std::string_view kPythonToken =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJhdWQiOiJjYXJlZXItYW5hbHl0aWNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpc3MiOiJodHRwczovL2F1dGguZXhhbXBs"
    "ZS5jb20iLCJyb2xlIjoiYWRtaW4iLCJzdWIiOiJ1c2VyLTQyIiwidGVuYW50IjoiYWNtZSJ9."
    "seo8Jp0aNI4VtQe_i76OLCs7fsgL6OtRR6eLrQAkaIk";
// Made with the `jose` npm package (SignJWT): kid in the header, aud an array, iat and nbf.
constexpr std::string_view kJoseToken =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0."
    "eyJ0ZW5hbnQiOiJnbG9iZXgiLCJyb2xlIjoidXNlciIsInN1YiI6ImphbmVAZXhhbXBsZS5jb20iLCJpc3MiOiJodHRw"
    "czovL2F1dGguZXhhbXBsZS5jb20iLCJhdWQiOlsib3RoZXItc2VydmljZSIsImNhcmVlci1hbmFseXRpY3MiXSwiaWF0"
    "IjoxNzAwMDAwMDAwLCJuYmYiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMH0."
    "S8KgXVnOsuJVCbvVJp36whodElMjf8i8_-bR7EwHzcQ";

TEST(UserTokenTest, TokensFromIndependentImplementations) {
  const UserTokenVerifier verifier = NewVerifier(kVectorSecret);
  const Result<UserTokenClaims> python = verifier.Verify(kPythonToken, kNow);
  ASSERT_TRUE(python.ok()) << python.status().ToString();
  const UserTokenClaims expected{.tenant = "acme",
                                 .user_id = "user-42",
                                 .role = Role::kAdmin,
                                 .expires_at_s = 4102444800,
                                 .issuer = std::string(kIssuer),
                                 .audience = std::string(kAudience)};
  EXPECT_EQ(*python, expected);
  EXPECT_EQ(SignUserToken(expected, kVectorSecret), kPythonToken);

  const Result<UserTokenClaims> jose = verifier.Verify(kJoseToken, kNow);
  ASSERT_TRUE(jose.ok()) << jose.status().ToString();
  EXPECT_EQ(jose->tenant, "globex");
  EXPECT_EQ(jose->user_id, "jane@example.com");
  EXPECT_EQ(jose->role, Role::kUser);
  EXPECT_EQ(jose->expires_at_s, 4102444800);

  EXPECT_EQ(NewVerifier().Verify(kPythonToken, kNow).status().code(), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, CreateRejectsWeakOptions) {
  const auto create = [](std::string secret, std::string issuer, std::string audience,
                         int64_t leeway) {
    return UserTokenVerifier::Create({.secret = std::move(secret),
                                      .issuer = std::move(issuer),
                                      .audience = std::move(audience),
                                      .leeway_s = leeway})
        .status()
        .code();
  };
  const std::string s32(32, 'k');
  EXPECT_EQ(create(s32, "i", "a", 30), ErrorCode::kOk);
  EXPECT_EQ(create(std::string(31, 'k'), "i", "a", 30), ErrorCode::kInvalidArgument);
  EXPECT_EQ(create("", "i", "a", 30), ErrorCode::kInvalidArgument);
  EXPECT_EQ(create(s32, "", "a", 30), ErrorCode::kInvalidArgument);
  EXPECT_EQ(create(s32, "i", "", 30), ErrorCode::kInvalidArgument);
  EXPECT_EQ(create(s32, "i", "a", -1), ErrorCode::kInvalidArgument);
  EXPECT_EQ(create(s32, "i", "a", 3601), ErrorCode::kInvalidArgument);
}

TEST(UserTokenTest, ExpiryWithLeeway) {
  Json p = GoodPayload();
  p["exp"] = kNow - 29;  // expired 29 s ago: within the 30 s leeway
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kOk);
  p["exp"] = kNow - 30;
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["exp"] = kNow - 86400;
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["exp"] = static_cast<double>(kNow) + 0.5;  // NumericDate may be fractional
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kOk);
  p["exp"] = std::to_string(kNow + 3600);
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["exp"] = true;
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p.erase("exp");
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, ExpiryFarInTheFutureOrPastDoesNotOverflow) {
  Json p = GoodPayload();
  p["exp"] = UINT64_MAX;
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kOk);
  p["exp"] = 1e300;
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kOk);
  p["exp"] = INT64_MIN;
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(Token(p), INT64_MIN), ErrorCode::kOk);  // exp INT64_MIN, now INT64_MIN
  p["exp"] = UINT64_MAX;
  EXPECT_EQ(CodeOf(Token(p), INT64_MAX), ErrorCode::kUnauthorized);  // the end of time is past
  p["nbf"] = INT64_MAX;
  EXPECT_EQ(CodeOf(Token(p), INT64_MAX - 1), ErrorCode::kOk);
}

TEST(UserTokenTest, NotBefore) {
  Json p = GoodPayload();
  p["nbf"] = kNow + 30;  // within the leeway
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kOk);
  p["nbf"] = kNow + 31;
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["nbf"] = "soon";
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["nbf"] = kNow - 10;
  p["iat"] = kNow - 10;
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kOk);
  p["iat"] = "yesterday";
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, WrongSecret) {
  EXPECT_EQ(CodeOf(Make(kHs256Header, GoodPayload().dump(), "another-secret-0123456789abcdefgh")),
            ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, TamperedPayload) {
  const std::string good = Token(GoodPayload());
  Json admin = GoodPayload();
  admin["role"] = "admin";
  const std::string forged = Token(admin);
  // The payload of an admin token with the signature of a user token.
  const std::string tampered =
      good.substr(0, good.find('.')) +
      forged.substr(forged.find('.'), forged.rfind('.') - forged.find('.')) +
      good.substr(good.rfind('.'));
  ASSERT_NE(tampered, good);
  EXPECT_EQ(CodeOf(tampered), ErrorCode::kUnauthorized);
  // A signature one bit off.
  std::string flipped = good;
  flipped[flipped.rfind('.') + 1] ^= 1;
  EXPECT_EQ(CodeOf(flipped), ErrorCode::kUnauthorized);
  // A truncated signature.
  EXPECT_EQ(CodeOf(good.substr(0, good.size() - 4)), ErrorCode::kUnauthorized);
  // No signature at all.
  EXPECT_EQ(CodeOf(good.substr(0, good.rfind('.') + 1)), ErrorCode::kUnauthorized);
  // The right signature followed by more bytes.
  const std::string input = good.substr(0, good.rfind('.'));
  EXPECT_EQ(CodeOf(input + "." + B64(Hs256(input, kSecret) + "extra")), ErrorCode::kUnauthorized);
}

// Each token below carries a valid HMAC-SHA256 signature: only the algorithm pin rejects it.
TEST(UserTokenTest, AlgorithmIsPinned) {
  EXPECT_EQ(CodeOf(TokenWithHeader({{"alg", "HS256"}})), ErrorCode::kOk);
  EXPECT_EQ(CodeOf(TokenWithHeader({{"alg", "none"}, {"typ", "JWT"}})), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(TokenWithHeader({{"alg", "HS512"}, {"typ", "JWT"}})), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(TokenWithHeader({{"alg", "RS256"}, {"typ", "JWT"}})), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(TokenWithHeader({{"alg", "hs256"}})), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(TokenWithHeader({{"alg", Json::array({"HS256"})}})), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(TokenWithHeader({{"typ", "JWT"}})), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, AlgNoneWithoutSignature) {
  const std::string input = B64(R"({"alg":"none"})") + "." + B64(GoodPayload().dump());
  EXPECT_EQ(CodeOf(input + "."), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, HeaderTypeAndCrit) {
  EXPECT_EQ(CodeOf(TokenWithHeader({{"alg", "HS256"}, {"typ", "jwt"}})), ErrorCode::kOk);
  EXPECT_EQ(CodeOf(TokenWithHeader({{"alg", "HS256"}, {"typ", "application/jwt"}})),
            ErrorCode::kOk);
  EXPECT_EQ(CodeOf(TokenWithHeader({{"alg", "HS256"}, {"typ", "JWE"}})), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(TokenWithHeader({{"alg", "HS256"}, {"typ", 1}})), ErrorCode::kUnauthorized);
  EXPECT_EQ(
      CodeOf(TokenWithHeader({{"alg", "HS256"}, {"crit", Json::array({"b64"})}, {"b64", false}})),
      ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, Issuer) {
  Json p = GoodPayload();
  p["iss"] = "https://evil.example.com";
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["iss"] = Json::array({kIssuer});
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p.erase("iss");
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, Audience) {
  Json p = GoodPayload();
  p["aud"] = kAudience;
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kOk);
  p["aud"] = Json::array({"billing", kAudience});
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kOk);
  p["aud"] = Json::array({"billing", "crm"});
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["aud"] = Json::array();
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["aud"] = Json::array({kAudience, 7});
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["aud"] = "billing";
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["aud"] = std::string(kAudience) + "-staging";
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p.erase("aud");
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, Subject) {
  Json p = GoodPayload();
  p["sub"] = std::string(kMaxUserTokenSubjectBytes, 'u');
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kOk);
  p["sub"] = std::string(kMaxUserTokenSubjectBytes + 1, 'u');
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["sub"] = "";
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p["sub"] = 42;
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
  p.erase("sub");
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, Role) {
  Json p = GoodPayload();
  p["role"] = "admin";
  const Result<UserTokenClaims> admin = NewVerifier().Verify(Token(p), kNow);
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->role, Role::kAdmin);
  for (const Json& bad :
       {Json("Admin"), Json("superuser"), Json(""), Json(1), Json::array({"admin"})}) {
    p["role"] = bad;
    EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized) << bad.dump();
  }
  p.erase("role");
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, Tenant) {
  Json p = GoodPayload();
  for (const Json& bad : {Json("Acme"), Json("-acme"), Json(""), Json(std::string(65, 'a')),
                          Json("acme corp"), Json(5)}) {
    p["tenant"] = bad;
    EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized) << bad.dump();
  }
  p.erase("tenant");
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, PaddingIsOptionalButMustBeRight) {
  // Header and payload of 3n + 1 bytes: each needs "==" when padded.
  const std::string header = R"({"alg":"HS256","typ":"JWT"} )";
  ASSERT_EQ(header.size() % 3, 1u);
  std::string payload = GoodPayload().dump();
  while (payload.size() % 3 != 1) payload += ' ';
  const std::string padded = Make(header, payload, kSecret, /*padded=*/true);
  ASSERT_NE(padded.find("==."), std::string::npos);
  EXPECT_EQ(CodeOf(padded), ErrorCode::kOk);
  EXPECT_EQ(CodeOf(Make(header, payload)), ErrorCode::kOk);

  const std::string payload_b64 = B64(payload);
  for (const std::string& bad : {payload_b64 + "=", payload_b64 + "===", payload_b64 + "====",
                                 "==" + payload_b64, payload_b64 + "=A="}) {
    EXPECT_EQ(CodeOf(SignRaw(B64(header), bad)), ErrorCode::kUnauthorized) << bad;
  }
  EXPECT_EQ(CodeOf(SignRaw(B64(header), payload_b64 + "==")), ErrorCode::kOk);
}

TEST(UserTokenTest, MalformedBase64) {
  const std::string payload_b64 = B64(GoodPayload().dump());
  // Standard base64 characters, a stray character, whitespace: each correctly signed.
  EXPECT_EQ(CodeOf(SignRaw(B64(kHs256Header), payload_b64 + "+")), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(SignRaw(B64(kHs256Header), "*" + payload_b64)), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(SignRaw(B64(kHs256Header), payload_b64 + " ")), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(SignRaw(" " + B64(kHs256Header), payload_b64)), ErrorCode::kUnauthorized);
  // A length no byte string has (4n + 1 characters).
  std::string odd = payload_b64;
  while (odd.size() % 4 != 1) odd += 'A';
  EXPECT_EQ(CodeOf(SignRaw(B64(kHs256Header), odd)), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, NonCanonicalBase64IsRejected) {
  // The signature's 43 characters carry 258 bits, the last 2 unused: setting one gives the same
  // bytes to a lenient decoder.
  const std::string good = Token(GoodPayload());
  std::string loose = good;
  char& last = loose.back();
  ASSERT_EQ(good.size() - good.rfind('.') - 1, 43u);
  const std::string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  last = digits[digits.find(last) | 1];
  ASSERT_NE(loose, good);
  EXPECT_EQ(CodeOf(loose), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, WrongNumberOfParts) {
  const std::string good = Token(GoodPayload());
  EXPECT_EQ(CodeOf(good + "."), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(good + ".e30"), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf("." + good), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(good.substr(0, good.rfind('.'))), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(good.substr(0, good.find('.'))), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(""), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(".."), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf("Bearer " + good), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, NonObjectJson) {
  for (const std::string_view payload : {R"([1,2])", R"("claims")", "null", "42", "{", ""}) {
    EXPECT_EQ(CodeOf(Make(kHs256Header, payload)), ErrorCode::kUnauthorized) << payload;
  }
  for (const std::string_view header : {R"(["HS256"])", R"("HS256")", "{", ""}) {
    EXPECT_EQ(CodeOf(Make(header, GoodPayload().dump())), ErrorCode::kUnauthorized) << header;
  }
}

TEST(UserTokenTest, DuplicateMemberNames) {
  std::string payload = GoodPayload().dump();
  payload.pop_back();
  EXPECT_EQ(CodeOf(Make(kHs256Header, payload + "}")), ErrorCode::kOk);
  // A second "role": parsers disagree on which one wins, so neither does.
  EXPECT_EQ(CodeOf(Make(kHs256Header, payload + R"(,"role":"admin"})")), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(Make(R"({"alg":"none","alg":"HS256"})", GoodPayload().dump())),
            ErrorCode::kUnauthorized);
  // Names repeated inside nested objects are not the claims' business.
  EXPECT_EQ(CodeOf(Make(kHs256Header, payload + R"(,"ext":{"a":1,"a":2}})")), ErrorCode::kOk);
}

TEST(UserTokenTest, DeepNestingIsRejected) {
  Json p = GoodPayload();
  p["ext"] = Json::parse(std::string(10, '[') + std::string(10, ']'));
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kOk);
  p["ext"] = Json::parse(std::string(40, '[') + std::string(40, ']'));
  EXPECT_EQ(CodeOf(Token(p)), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, HugeToken) {
  Json p = GoodPayload();
  p["padding"] = std::string(5800, 'x');
  const std::string below = Token(p);
  ASSERT_LE(below.size(), kMaxUserTokenBytes);
  EXPECT_EQ(CodeOf(below), ErrorCode::kOk);
  p["padding"] = std::string(6400, 'x');
  const std::string above = Token(p);  // correctly signed: only the length cap rejects it
  ASSERT_GT(above.size(), kMaxUserTokenBytes);
  EXPECT_EQ(CodeOf(above), ErrorCode::kUnauthorized);
  EXPECT_EQ(CodeOf(std::string(1 << 20, 'A')), ErrorCode::kUnauthorized);
}

TEST(UserTokenTest, MessagesNeverRepeatTheTokenOrSecret) {
  Json expired = GoodPayload();
  expired["exp"] = kNow - 3600;
  Json evil = GoodPayload();
  evil["iss"] = "evil";
  evil["aud"] = "evil";
  const std::vector<std::string> tokens = {
      Token(expired),
      Token(evil),
      Make(kHs256Header, GoodPayload().dump(), "another-secret-0123456789abcdefgh"),
      TokenWithHeader({{"alg", "none"}}),
      "evil.evil.evil",
      std::string(9000, 'e')};
  const UserTokenVerifier verifier = NewVerifier();
  for (const std::string& token : tokens) {
    const Status status = verifier.Verify(token, kNow).status();
    ASSERT_EQ(status.code(), ErrorCode::kUnauthorized) << token;
    EXPECT_EQ(status.message().find(kSecret), std::string_view::npos);
    EXPECT_EQ(status.message().find("evil"), std::string_view::npos) << status.message();
    for (size_t dot = 0, start = 0; dot != std::string::npos; start = dot + 1) {
      dot = token.find('.', start);
      const std::string part = token.substr(start, dot - start);
      if (part.size() >= 8) {
        EXPECT_EQ(status.message().find(part), std::string_view::npos) << status.message();
      }
    }
  }
}

}  // namespace
}  // namespace ca::api
