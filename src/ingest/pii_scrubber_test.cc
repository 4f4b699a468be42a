#include "ingest/pii_scrubber.h"
#include "ingest/pii_survey.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

namespace ca::ingest {
namespace {

std::string ScrubbedString(std::string_view s) {
  std::string out;
  return PiiScrubber::ScrubString(s, &out) ? out : std::string(s);
}

TEST(PiiScrubberTest, EmailsAreReplacedInsideText) {
  EXPECT_EQ(ScrubbedString("write to jane.doe+jobs@example.co.uk today."),
            "write to [email] today.");
  EXPECT_EQ(ScrubbedString("a@b.io,c@d.de"), "[email],[email]");
  for (const char* kept : {"@handle", "user@localhost", "a@b.c", "x@", "@", "50@home.1"}) {
    EXPECT_EQ(ScrubbedString(kept), kept);
  }
}

TEST(PiiScrubberTest, PhoneNumbersNeedAPlusParenthesesOrSeparatedGroups) {
  EXPECT_EQ(ScrubbedString("call +49 30 1234567 now"), "call [phone] now");
  EXPECT_EQ(ScrubbedString("(030) 123-4567"), "[phone]");
  EXPECT_EQ(ScrubbedString("555-123-4567"), "[phone]");
  EXPECT_EQ(ScrubbedString("+4915112345678"), "[phone]");
  // Ids, dates, times, versions, IPs and amounts are not phones.
  for (const char* kept :
       {"job-1234567890", "1234567890", "2026-11-28", "2026-11-28 - 2026-12-01", "10:00:00",
        "v1.2.3", "192.168.100.200", "$1,250,000", "ORD-555-1234", "12 34", "1764320000000"}) {
    EXPECT_EQ(ScrubbedString(kept), kept);
  }
}

TEST(PiiScrubberTest, CardNumbersPassingLuhnAreReplaced) {
  EXPECT_EQ(ScrubbedString("card 4111 1111 1111 1111 exp"), "card [card] exp");
  EXPECT_EQ(ScrubbedString("4111-1111-1111-1111"), "[card]");
  EXPECT_EQ(ScrubbedString("4111111111111111"), "[card]");
  EXPECT_EQ(ScrubbedString("378282246310005"), "[card]");  // Amex, 15 digits
  // Fails Luhn: a long id, not a card (and not a phone: no separators).
  EXPECT_EQ(ScrubbedString("4111111111111112"), "4111111111111112");
}

TEST(PiiScrubberTest, AnEmailRightAfterANumberIsReplacedToo) {
  EXPECT_EQ(ScrubbedString("+49 30 1234567.x@b.io"), "[phone][email]");
  EXPECT_EQ(ScrubbedString("4111 1111 1111 1111.jane@b.io end"), "[card][email] end");
}

TEST(PiiScrubberTest, LongRunsOfDigitsTakeLinearTime) {
  // 256 KiB of "1 1 1 ...": every digit starts a candidate number; each must stop after at most
  // 19 digits, not read to the end of the run (the quadratic scan took 2.8 s at 64 KiB, and
  // minutes here: the test's timeout catches it). Only the last 15 digits make a phone.
  std::string run;
  while (run.size() < 256 * 1024) run += "1 ";
  run.pop_back();
  std::string out;
  ASSERT_TRUE(PiiScrubber::ScrubString(run, &out));
  EXPECT_EQ(out, run.substr(0, run.size() - 29) + "[phone]");
  // A card inside a longer run of groups is still found where it starts.
  EXPECT_EQ(ScrubbedString("12 4111 1111 1111 1111"), "12 [card]");
}

TEST(PiiScrubberTest, SensitiveKeysAreRecognisedByName) {
  for (const char* key :
       {"password", "Password", "user_password", "passwd", "client_secret", "access_token",
        "api_key", "x-api-key", "apiKey", "Authorization", "ssn", "customer_SSN"}) {
    EXPECT_TRUE(PiiScrubber::IsSensitiveKey(key)) << key;
  }
  for (const char* key : {"job_id", "pass", "query", "api", "author", "session_id"}) {
    EXPECT_FALSE(PiiScrubber::IsSensitiveKey(key)) << key;
  }
}

TEST(PiiScrubberTest, ObjectsKeepTheirShapeAndUntouchedValuesByteForByte) {
  const PiiScrubber scrubber;
  std::string out;
  const std::string clean =
      R"({"job_id":"j-1","n":1.50e3,"ok":true,"x":null,"tags":["a","b"],"q":"c++ \"senior\""})";
  EXPECT_FALSE(scrubber.Scrub(clean, &out));

  const std::string dirty =
      R"({"note":"mail me: a@b.io","n":1.50e3,"auth":{"token":"t0k3n","list":[1,{"x":"}"}]},)"
      R"("password":"hunter2","deep":[{"phone":"+49 30 1234567"}],"e\u00e9":"\"x@y.de\""})";
  ASSERT_TRUE(scrubber.Scrub(dirty, &out));
  EXPECT_EQ(
      out,
      R"({"note":"mail me: [email]","n":1.50e3,"auth":{"token":"[redacted]","list":[1,{"x":"}"}]},)"
      R"("password":"[redacted]","deep":[{"phone":"[phone]"}],"e\u00e9":"\"[email]\""})");
  EXPECT_TRUE(nlohmann::json::accept(out)) << out;
}

TEST(PiiScrubberTest, AllowedKeysAreLeftAlone) {
  const PiiScrubber scrubber({.allowed_keys = {"contact_email", "api_key"}});
  std::string out;
  ASSERT_TRUE(
      scrubber.Scrub(R"({"contact_email":"hr@acme.io","api_key":"k","other":"a@b.io"})", &out));
  EXPECT_EQ(out, R"({"contact_email":"hr@acme.io","api_key":"k","other":"[email]"})");
}

TEST(PiiScrubberTest, IpAddressesAreTruncated) {
  EXPECT_EQ(TruncateIp("203.0.113.77"), "203.0.113.0");
  EXPECT_EQ(TruncateIp("2001:db8:85a3:8d3:1319:8a2e:370:7348"), "2001:db8:85a3::");
  EXPECT_EQ(TruncateIp("::1"), "::");
  EXPECT_EQ(TruncateIp("not an ip"), std::nullopt);
  EXPECT_EQ(TruncateIp("203.0.113.77:80"), std::nullopt);
  EXPECT_EQ(TruncateIp("010.0.113.77"), std::nullopt);  // not a canonical dotted quad
  EXPECT_EQ(TruncateIp(std::string_view("203.0.113.77\0.5", 15)), "203.0.113.0");
  EXPECT_EQ(TruncateIp("::ffff:203.0.113.77"), "::");

  const PiiScrubber context({.truncate_ip = true});
  std::string out;
  ASSERT_TRUE(context.Scrub(R"({"ip":"198.51.100.23","page":{"ip":"x"},"locale":"de"})", &out));
  EXPECT_EQ(out, R"({"ip":"198.51.100.0","page":{"ip":"x"},"locale":"de"})");
  EXPECT_FALSE(context.Scrub(R"({"ip":"198.51.100.0"})", &out));  // already truncated
  EXPECT_FALSE(context.Scrub(R"({"ip":"unknown"})", &out));
  EXPECT_FALSE(PiiScrubber().Scrub(R"({"ip":"198.51.100.23"})", &out));  // not asked to
}

TEST(PiiScrubberTest, AnIpAloneIsSplicedInAndEverythingElseKeptByteForByte) {
  const PiiScrubber context({.truncate_ip = true});
  std::string out;
  // A Firefox user agent's "Gecko/20100101" is a bare run of digits, not a number to scrub.
  const std::string firefox =
      R"({"page":{"ip":"1.2.3.4","t":""ip":"5.6.7.8""},"ip":"198.51.100.23","n":1.50e3,)"
      R"("user_agent":"Mozilla/5.0 (X11; rv:121.0) Gecko/20100101 Firefox/121.0"})";
  ASSERT_TRUE(context.Scrub(firefox, &out));
  std::string expected = firefox;
  expected.replace(expected.find("198.51.100.23"), 13, "198.51.100.0");
  EXPECT_EQ(out, expected);
  // With an allowlisted "ip" the address is kept whole.
  const PiiScrubber keep_ip({.allowed_keys = {"ip"}, .truncate_ip = true});
  EXPECT_FALSE(keep_ip.Scrub(R"({"ip":"198.51.100.23"})", &out));
  // An escaped key is unescaped before it is judged.
  ASSERT_TRUE(PiiScrubber().Scrub(R"({"pass\u0077ord":"hunter2","ip":"198.51.100.23"})", &out));
  EXPECT_EQ(out, R"({"pass\u0077ord":"[redacted]","ip":"198.51.100.23"})");
}

// What Scrub must produce, computed the slow way: every string value scrubbed, every sensitive
// key's value redacted, the top-level "ip" truncated.
nlohmann::json ReferenceScrub(const nlohmann::json& j, bool top) {
  if (j.is_string()) {
    std::string out;
    return PiiScrubber::ScrubString(j.get<std::string>(), &out) ? nlohmann::json(out) : j;
  }
  nlohmann::json r = j;
  if (j.is_array()) {
    for (auto& v : r) v = ReferenceScrub(v, false);
  } else if (j.is_object()) {
    for (auto& [key, v] : r.items()) {
      if (top && key == "ip" && v.is_string()) {
        v = TruncateIp(v.get<std::string>()).value_or(v.get<std::string>());
      } else if (PiiScrubber::IsSensitiveKey(key)) {
        v = std::string(kRedactedMarker);
      } else {
        v = ReferenceScrub(v, false);
      }
    }
  }
  return r;
}

TEST(PiiScrubberTest, TheQuickSurveyMissesNothingTheRewriterWouldChange) {
  std::mt19937 rng(7);
  const char* values[] = {"a@b.io",
                          "+1 555 123 4567",
                          "4111 1111 1111 1111",
                          "4111111111111111",
                          "12345678",
                          "Gecko/20100101",
                          "(030) 123-4567",
                          "203.0.113.9",
                          "x",
                          " ",
                          "v1.2.3",
                          "555-123-4567"};
  const char* keys[] = {"ip", "note", "password", "api_key", "q", "ua", "AccessToken", "page"};
  const PiiScrubber scrubber({.truncate_ip = true});
  int changed = 0;
  for (int i = 0; i < 3000; ++i) {
    nlohmann::json j = nlohmann::json::object();
    for (int k = 0; k < 4; ++k) {
      std::string v;
      for (int p = 0; p < 2; ++p) v += values[rng() % std::size(values)];
      const std::string key = keys[rng() % std::size(keys)];
      if (rng() % 4 == 0) {
        j[key] = nlohmann::json::object({{keys[rng() % std::size(keys)], v}});
      } else {
        j[key] = rng() % 5 == 0 ? nlohmann::json::array({v, 1}) : nlohmann::json(v);
      }
    }
    const std::string text = j.dump();
    std::string out;
    const bool did = scrubber.Scrub(text, &out);
    changed += did;
    const nlohmann::json expected = ReferenceScrub(j, true);
    EXPECT_EQ(did ? nlohmann::json::parse(out) : j, expected) << text;
  }
  EXPECT_GT(changed, 1000);
}

TEST(PiiScrubberTest, WholeSensitiveObjectsAndArraysAreRedacted) {
  const PiiScrubber scrubber;
  std::string out;
  ASSERT_TRUE(scrubber.Scrub(R"({"secrets":{"a":[1,2,{"b":"]"}]},"z":1})", &out));
  EXPECT_EQ(out, R"({"secrets":"[redacted]","z":1})");
}

TEST(PiiScrubberTest, NonObjectsAndBrokenTextAreLeftAlone) {
  const PiiScrubber scrubber;
  std::string out = "unchanged";
  for (const char* text : {"", "[\"a@b.io\"]", "\"a@b.io\"", R"({"a":"a@b.io")", R"({"a@b.io")",
                           R"({"a":"a@b.io\)", R"({"ip":"1.2.3.4\)"}) {
    EXPECT_FALSE(scrubber.Scrub(text, &out)) << text;
  }
  EXPECT_EQ(out, "unchanged");
}

TEST(PiiScrubberTest, RandomObjectsStayValidJson) {
  std::mt19937 rng(3);
  const char* pieces[] = {
      "a@b.io", "+1 555 123 4567", "4111 1111 1111 1111", "x", "\\\"", "\\u00e9", "12345678", " ",
      "token"};
  const PiiScrubber scrubber;
  for (int i = 0; i < 2000; ++i) {
    nlohmann::json j = nlohmann::json::object();
    for (int k = 0; k < 4; ++k) {
      std::string v;
      for (int p = 0; p < 3; ++p) v += pieces[rng() % 9];
      std::string key = pieces[3 + rng() % 6];  // keys are never scrubbed: no e-mail in them
      j[key] = rng() % 3 == 0 ? nlohmann::json::array({v, 1}) : nlohmann::json(v);
    }
    const std::string text = j.dump();
    std::string out;
    if (scrubber.Scrub(text, &out)) {
      EXPECT_TRUE(nlohmann::json::accept(out)) << text << " -> " << out;
      EXPECT_EQ(out.find("a@b.io"), std::string::npos) << out;
    }
  }
}

TEST(PiiScrubberTest, ScrubInPlaceGivesWhatScrubGives) {
  const PiiScrubber scrubber({.truncate_ip = true});
  for (std::string text : {std::string(R"({"ip":"203.0.113.9","ua":"x"})"),
                           std::string(R"({"ip":"2001:db8:85a3:1:2:3:4:5","n":{"ip":"1.2.3.4"}})"),
                           std::string(R"({"ip":"1.2.3.4","mail":"a@b.io"})"),
                           std::string(R"({"nothing":"to do"})"), std::string("not json")}) {
    std::string expected;
    const bool changed = scrubber.Scrub(text, &expected);
    if (!changed) expected = text;
    std::string in_place = text;
    EXPECT_EQ(scrubber.ScrubInPlace(&in_place), changed) << text;
    EXPECT_EQ(in_place, expected) << text;
  }
}

// SurveyString must give what the bytewise survey gives, on strings made of the pieces that
// matter (digits, separators, '@', escapes, quotes) at every length and alignment, including
// the last bytes of the text (where it reads a padded copy).
TEST(PiiScrubberTest, TheBlockwiseSurveyAgreesWithTheBytewiseOne) {
  std::mt19937 rng(11);
  const char* pieces[] = {"a",
                          "Mozilla/5.0 ",
                          "1",
                          "12",
                          "1234567",
                          " ",
                          "-",
                          "(",
                          ")",
                          "+",
                          "@",
                          "\\",
                          R"(\")",
                          R"(\\)",
                          ".",
                          "\xc3\xa9",
                          "x1",
                          "\"",
                          "0000000000000000"};
  int flagged = 0, closed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const int n = static_cast<int>(rng() % 24);
    for (int k = 0; k < n; ++k) text += pieces[rng() % std::size(pieces)];
    if (rng() % 2) text += "\"";
    if (rng() % 2) text += R"(,"next":"value"})";
    const char* end = text.data() + text.size();
    const StringSurvey fast = SurveyString(text.data(), end);
    const StringSurvey slow = SurveyStringBytewise(text.data(), end);
    ASSERT_EQ(fast.close, slow.close) << text;
    if (fast.close == nullptr) continue;
    ++closed;
    EXPECT_EQ(fast.escaped, slow.escaped) << text;
    EXPECT_EQ(fast.may_have_pii, slow.may_have_pii) << text;
    flagged += slow.may_have_pii;
  }
  EXPECT_GT(closed, 10000);
  EXPECT_GT(flagged, 1000);
  EXPECT_LT(flagged, closed);
}

}  // namespace
}  // namespace ca::ingest
