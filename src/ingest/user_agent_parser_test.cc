#include "ingest/user_agent_parser.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

namespace ca::ingest {
namespace {

/// Debian's uap-core package.
const std::string kUapCore = "/usr/share/uap-core";
const std::string kRegexes = kUapCore + "/regexes.yaml";

class UserAgentParserTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    UserAgentParser::Options options;
    options.cache_capacity = 1000;
    Result<std::unique_ptr<UserAgentParser>> parser = UserAgentParser::Load(kRegexes, options);
    ASSERT_TRUE(parser.ok()) << parser.status().ToString();
    parser_ = std::move(parser).value().release();
  }
  static void TearDownTestSuite() {
    delete parser_;
    parser_ = nullptr;
  }

  static const UserAgentParser* parser_;
};
const UserAgentParser* UserAgentParserTest::parser_ = nullptr;

std::optional<std::string> Field(const YAML::Node& test_case, const char* key) {
  const YAML::Node node = test_case[key];
  if (!node || !node.IsScalar() || node.as<std::string>().empty()) return std::nullopt;
  return node.as<std::string>();
}

std::string Show(const std::optional<std::string>& s) { return s ? "'" + *s + "'" : "null"; }

/// Compares the fields `keys` of a test case with what the parser found; "" when they agree,
/// else the differences. Keys absent from the case are not compared.
std::string Diff(const YAML::Node& test_case,
                 const std::vector<std::pair<const char*, std::optional<std::string>>>& got) {
  std::string diff;
  for (const auto& [key, value] : got) {
    if (!test_case[key]) continue;
    const std::optional<std::string> want = Field(test_case, key);
    if (want != value)
      diff += std::string(" ") + key + ": want " + Show(want) + " got " + Show(value);
  }
  return diff;
}

enum class Kind { kBrowser, kOs, kDevice };

struct Outcome {
  size_t passed = 0;
  std::map<std::string, std::string> failed;  // user agent -> differences
};

/// Runs every case of one of uap-core's test files through ParseUncached.
Outcome RunCases(const UserAgentParser& parser, const std::string& file, Kind kind) {
  Outcome outcome;
  const YAML::Node cases = YAML::LoadFile(file)["test_cases"];
  for (const YAML::Node& test_case : cases) {
    const std::string ua = test_case["user_agent_string"].as<std::string>();
    const UserAgent parsed = parser.ParseUncached(ua);
    std::string diff;
    switch (kind) {
      case Kind::kBrowser: {
        const UserAgent::Browser& b = parsed.browser;
        diff = Diff(test_case, {{"family", b.family},
                                {"major", b.major},
                                {"minor", b.minor},
                                {"patch", b.patch},
                                {"patch_minor", b.patch_minor}});
        break;
      }
      case Kind::kOs: {
        const UserAgent::Os& o = parsed.os;
        diff = Diff(test_case, {{"family", o.family},
                                {"major", o.major},
                                {"minor", o.minor},
                                {"patch", o.patch},
                                {"patch_minor", o.patch_minor}});
        break;
      }
      case Kind::kDevice: {
        const UserAgent::Device& d = parsed.device;
        diff = Diff(test_case, {{"family", d.family}, {"brand", d.brand}, {"model", d.model}});
        break;
      }
    }
    if (diff.empty()) {
      ++outcome.passed;
    } else {
      outcome.failed.emplace(ua, diff);
    }
  }
  return outcome;
}

/// Checks a test file: the failures must be exactly `known` (user agent -> why), and at least
/// `min_passed` cases must pass.
void ExpectCases(const std::string& file, Kind kind, size_t min_passed,
                 const std::map<std::string, std::string>& known, const UserAgentParser& parser) {
  const Outcome outcome = RunCases(parser, file, kind);
  for (const auto& [ua, diff] : outcome.failed) {
    EXPECT_TRUE(known.count(ua)) << "unexpected failure: " << ua << "\n " << diff;
  }
  for (const auto& [ua, why] : known) {
    EXPECT_TRUE(outcome.failed.count(ua)) << "known failure now passes (" << why << "): " << ua;
  }
  EXPECT_GE(outcome.passed, min_passed) << file;
  std::printf("%s: %zu passed, %zu failed\n", file.c_str(), outcome.passed, outcome.failed.size());
}

TEST_F(UserAgentParserTest, LoadsEveryUapCoreRegex) {
  EXPECT_EQ(parser_->skipped_patterns(), 0u) << parser_->SkippedPatternsSummary();
  EXPECT_EQ(parser_->SkippedPatternsSummary(), "");
  EXPECT_GT(parser_->pattern_count(), 1000u);
  EXPECT_EQ(parser_->prefiltered_lists(), 3);
}

// uap-core's own harness (tests/test.js) checks family, major, minor and patch of browsers; the
// patch_minor that 103 fixtures of test_ua.yaml also carry is not part of it, and these three
// expect a value no rule of "group 5 or nothing" gives (the regex has 4 groups, or its 5th group
// is followed by more digits). We compare patch_minor anyway and name the exceptions.
const std::map<std::string, std::string> kKnownBrowserFailures = {
    {"Mozilla/5.0 (Series40; NokiaC3-01/05.60; Profile/MIDP-2.1 Configuration/CLDC-1.1) "
     "Gecko/20100401 S40OviBrowser/2.2.0.0.31",
     "patch_minor: the fixture wants null for group 5 ('0' of 2.2.0.0.31)"},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 11_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15G77 "
     "[FBAN/FBIOS;FBAV/194.0.0.38.99;FBBV/127868476;FBDV/iPhone7,2;FBMD/iPhone;FBSN/iOS;FBSV/"
     "11.4.1;FBSS/2;FBCR/OrangeBotswana;FBID/phone;FBLC/en_GB;FBOP/5;FBRV/128807018]",
     "patch_minor: the fixture wants '38'; the Facebook regex has 4 groups"},
    {"aws-sdk-dotnet-45/3.3.11.0 aws-sdk-dotnet-core/3.3.17.10 .NET_Runtime/4.0 "
     ".NET_Framework/4.0 OS/Microsoft_Windows_NT_6.2.9200.0 ClientSync",
     "patch_minor: the fixture wants '0'; the aws-sdk regex has 4 groups"},
};

TEST_F(UserAgentParserTest, PassesUapCoreBrowserCases) {
  ExpectCases(kUapCore + "/tests/test_ua.yaml", Kind::kBrowser, 1422, kKnownBrowserFailures,
              *parser_);
}

TEST_F(UserAgentParserTest, PassesUapCoreOsCases) {
  ExpectCases(kUapCore + "/tests/test_os.yaml", Kind::kOs, 456, {}, *parser_);
}

TEST_F(UserAgentParserTest, PassesUapCoreDeviceCases) {
  ExpectCases(kUapCore + "/tests/test_device.yaml", Kind::kDevice, 16111, {}, *parser_);
}

// The further fixtures uap-core's harness runs.
TEST_F(UserAgentParserTest, PassesUapCoreResourceCases) {
  const std::string dir = kUapCore + "/test_resources/";
  ExpectCases(dir + "firefox_user_agent_strings.yaml", Kind::kBrowser, 243, {}, *parser_);
  ExpectCases(dir + "opera_mini_user_agent_strings.yaml", Kind::kBrowser, 203, {}, *parser_);
  ExpectCases(dir + "pgts_browser_list.yaml", Kind::kBrowser, 12500, {}, *parser_);
  ExpectCases(dir + "podcasting_user_agent_strings.yaml", Kind::kBrowser, 144, {}, *parser_);
  ExpectCases(dir + "additional_os_tests.yaml", Kind::kOs, 23, {}, *parser_);
}

TEST_F(UserAgentParserTest, ParsesACommonBrowser) {
  const UserAgent ua = parser_->Parse(
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.1 Safari/605.1.15");
  EXPECT_EQ(ua.browser, (UserAgent::Browser{"Safari", "17", "1", std::nullopt, std::nullopt}));
  EXPECT_EQ(ua.os, (UserAgent::Os{"Mac OS X", "10", "15", "7", std::nullopt}));
  EXPECT_EQ(ua.device, (UserAgent::Device{"Mac", "Apple", "Mac"}));
  EXPECT_EQ(ua.device_type, kDeviceTypeDesktop);
}

TEST_F(UserAgentParserTest, DeviceTypeOfRealUserAgents) {
  const std::pair<std::string_view, const char*> kCases[] = {
      {kDeviceTypeDesktop,
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36"},
      {kDeviceTypeDesktop,
       "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"},
      {kDeviceTypeDesktop,
       "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36"},
      {kDeviceTypeMobile,
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
       "like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"},
      {kDeviceTypeMobile,
       "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.6099.144 Mobile Safari/537.36"},
      {kDeviceTypeMobile,
       "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) "
       "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 "
       "Edge/15.15063"},
      {kDeviceTypeMobile, "Nokia6230i/2.0 (03.80) Profile/MIDP-2.0 Configuration/CLDC-1.1"},
      {kDeviceTypeMobile, "Dalvik/2.1.0 (Linux; U; Android 9; SM-G960F Build/PPR1.180610.011)"},
      {kDeviceTypeTablet,
       "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36"},
      {kDeviceTypeTablet,
       "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/16.6 Mobile/15E148 Safari/604.1"},
      {kDeviceTypeTablet,
       "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/534.30 "
       "(KHTML, like Gecko) Version/4.0 Safari/534.30 Silk/3.4"},
      {kDeviceTypeBot, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
      {kDeviceTypeBot, "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"},
      {kDeviceTypeOther,
       "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/538.1 (KHTML, like Gecko) "
       "Version/6.0 TV Safari/538.1"},
      {kDeviceTypeOther,
       "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko)"},
      {kDeviceTypeOther, "curl/8.4.0"},
      {kDeviceTypeOther, ""},
  };
  for (const auto& [type, ua] : kCases) EXPECT_EQ(parser_->Parse(ua).device_type, type) << ua;
}

TEST(UserAgentNormalizeTest, ReplacesInvalidUtf8AndCutsOnACharacterBoundary) {
  EXPECT_EQ(UserAgentParser::Normalize("Mozilla/5.0", 512), "Mozilla/5.0");
  EXPECT_EQ(UserAgentParser::Normalize("a\xff"
                                       "b",
                                       512),
            "a\xEF\xBF\xBD"
            "b");
  // Overlong, surrogate, truncated and above-U+10FFFF sequences are invalid byte by byte.
  EXPECT_EQ(UserAgentParser::Normalize("\xC0\xAF", 512), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(UserAgentParser::Normalize("\xED\xA0\x80", 512),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(UserAgentParser::Normalize("x\xE2\x82", 512), "x\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(UserAgentParser::Normalize("\xF4\x90\x80\x80", 512).size(), 12u);
  EXPECT_EQ(UserAgentParser::Normalize("caf\xC3\xA9 \xF0\x9F\x98\x80", 512),
            "caf\xC3\xA9 \xF0\x9F\x98\x80");
  // "é" is two bytes: a 4-byte cap keeps "caf", not half of it.
  EXPECT_EQ(UserAgentParser::Normalize("caf\xC3\xA9", 4), "caf");
  EXPECT_EQ(UserAgentParser::Normalize(std::string(100'000, 'x'), 512), std::string(512, 'x'));
}

/// Whether `s` is valid UTF-8: Normalize leaves exactly those strings alone.
bool IsUtf8(const std::string& s) { return UserAgentParser::Normalize(s, s.size()) == s; }

bool AllUtf8(const UserAgent& ua) {
  const std::optional<std::string> fields[] = {
      ua.browser.family, ua.browser.major, ua.browser.minor, ua.browser.patch,
      ua.os.family,      ua.os.major,      ua.os.minor,      ua.os.patch,
      ua.os.patch_minor, ua.device.family, ua.device.brand,  ua.device.model};
  for (const auto& f : fields) {
    if (f && !IsUtf8(*f)) return false;
  }
  return true;
}

TEST_F(UserAgentParserTest, SurvivesGarbageHugeAndInvalidUtf8Input) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 2000);
  for (int i = 0; i < 300; ++i) {
    std::string junk(length(rng), '\0');
    for (char& c : junk) c = static_cast<char>(byte(rng));
    const UserAgent ua = parser_->ParseUncached(junk);
    EXPECT_TRUE(AllUtf8(ua));
  }
  // A real header with invalid bytes inside a capture: the capture comes out as U+FFFD.
  const UserAgent bad = parser_->ParseUncached(
      "Mozilla/5.0 (Linux; Android 14; Pix\xff\xfe"
      "el 8) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.6099.144 Mobile Safari/537.36");
  EXPECT_EQ(bad.browser.family, "Chrome Mobile");
  EXPECT_TRUE(AllUtf8(bad));
  EXPECT_EQ(bad.device.model,
            "Pix\xEF\xBF\xBD\xEF\xBF\xBD"
            "el 8");

  // 1 MiB headers are cut to 512 bytes: a browser token past the cut is not seen.
  const std::string padding(600, ' ');
  EXPECT_EQ(parser_->ParseUncached("Mozilla/5.0" + padding + "Firefox/121.0").browser.family,
            "Other");
  EXPECT_EQ(parser_->ParseUncached("Firefox/121.0" + std::string(1 << 20, 'A')).browser.family,
            "Firefox");
  EXPECT_EQ(parser_->ParseUncached(std::string(1 << 20, '\xff')).browser.family, "Other");
  EXPECT_EQ(parser_->ParseUncached(std::string("\0Firefox/121.0\0", 15)).browser.major, "121");
}

TEST(UserAgentParserCacheTest, CountsHitsAndMissesAndEvictsTheLeastRecentlyUsed) {
  UserAgentParser::Options options;
  options.cache_capacity = 2;
  Result<std::unique_ptr<UserAgentParser>> loaded = UserAgentParser::Load(kRegexes, options);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const UserAgentParser& parser = **loaded;
  const std::string a = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
  const std::string b = "curl/8.4.0";
  const std::string c = "Wget/1.21";

  const UserAgent first = parser.Parse(a);
  EXPECT_EQ(parser.Parse(a), first);
  EXPECT_EQ(first, parser.ParseUncached(a));
  UserAgentParser::Stats stats = parser.stats();
  EXPECT_EQ(stats.cache_hits, 1u);
  EXPECT_EQ(stats.cache_misses, 1u);
  EXPECT_EQ(stats.cache_entries, 1u);

  (void)parser.Parse(b);  // a, b
  (void)parser.Parse(a);  // hit; b is now the least recently used
  (void)parser.Parse(c);  // evicts b
  (void)parser.Parse(a);  // hit
  (void)parser.Parse(b);  // miss
  stats = parser.stats();
  EXPECT_EQ(stats.cache_hits, 3u);
  EXPECT_EQ(stats.cache_misses, 4u);
  EXPECT_EQ(stats.cache_entries, 2u);

  // Headers equal after normalisation share an entry.
  (void)parser.Parse(b + std::string(1000, ' '));
  (void)parser.Parse(b + std::string(2000, ' '));
  EXPECT_EQ(parser.stats().cache_hits, 4u);
}

TEST(UserAgentParserCacheTest, CapacityZeroDisablesTheCache) {
  UserAgentParser::Options options;
  options.cache_capacity = 0;
  Result<std::unique_ptr<UserAgentParser>> loaded = UserAgentParser::Load(kRegexes, options);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->Parse("curl/8.4.0").browser.family, "curl");
  EXPECT_EQ((*loaded)->Parse("curl/8.4.0").browser.family, "curl");
  const UserAgentParser::Stats stats = (*loaded)->stats();
  EXPECT_EQ(stats.cache_hits + stats.cache_misses + stats.cache_entries, 0u);
}

TEST_F(UserAgentParserTest, ParsesFromManyThreadsAtOnce) {
  std::vector<std::string> uas;
  const YAML::Node cases = YAML::LoadFile(kUapCore + "/tests/test_os.yaml")["test_cases"];
  for (const YAML::Node& c : cases) uas.push_back(c["user_agent_string"].as<std::string>());
  uas.resize(std::min<size_t>(uas.size(), 200));
  std::vector<UserAgent> want;
  for (const std::string& ua : uas) want.push_back(parser_->ParseUncached(ua));

  UserAgentParser::Options options;
  options.cache_capacity = 64;  // smaller than the working set: hits, misses and evictions
  Result<std::unique_ptr<UserAgentParser>> loaded = UserAgentParser::Load(kRegexes, options);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const UserAgentParser& parser = **loaded;
  constexpr int kThreads = 6;
  constexpr int kRounds = 3;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        for (size_t i = 0; i < uas.size(); ++i) {
          const size_t k = (i * (t + 1) + round) % uas.size();
          if (parser.Parse(uas[k]) != want[k]) ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  const UserAgentParser::Stats stats = parser.stats();
  EXPECT_EQ(stats.cache_hits + stats.cache_misses, uint64_t{kThreads} * kRounds * uas.size());
  EXPECT_LE(stats.cache_entries, 64u);
  EXPECT_GT(stats.cache_hits, 0u);
}

Result<std::unique_ptr<UserAgentParser>> FromYaml(std::string_view yaml) {
  return UserAgentParser::FromYaml(yaml, UserAgentParser::Options());
}

TEST(UserAgentParserLoadTest, MissingOrInvalidFilesAreClearErrors) {
  Result<std::unique_ptr<UserAgentParser>> missing =
      UserAgentParser::Load("/nonexistent/regexes.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/regexes.yaml"), std::string::npos);
  EXPECT_EQ(UserAgentParser::Load(kUapCore).status().code(), ErrorCode::kNotFound);  // a dir

  const std::string path =
      (std::filesystem::temp_directory_path() / "user_agent_parser_test_bad.yaml").string();
  std::ofstream(path) << "user_agent_parsers: [ {regex: 'a' \n";  // unterminated
  Result<std::unique_ptr<UserAgentParser>> bad = UserAgentParser::Load(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(bad.status().message().find(path), std::string::npos);

  std::ofstream(path).flush();  // empty: YAML null, not a mapping
  Result<std::unique_ptr<UserAgentParser>> empty = UserAgentParser::Load(path);
  std::filesystem::remove(path);
  EXPECT_EQ(empty.status().code(), ErrorCode::kConfigInvalid);

  EXPECT_EQ(FromYaml("- just a list").status().code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ(FromYaml("os_parsers: 3").status().code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ(FromYaml("os_parsers: [ {os_replacement: x} ]").status().code(),
            ErrorCode::kConfigInvalid);
  EXPECT_EQ(FromYaml("os_parsers: [ [1, 2] ]").status().code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ(FromYaml("os_parsers: [ {regex: [1]} ]").status().code(), ErrorCode::kConfigInvalid);
}

TEST(UserAgentParserLoadTest, ReportsAndSkipsRegexesRe2CannotCompile) {
  Result<std::unique_ptr<UserAgentParser>> loaded = FromYaml(R"(
user_agent_parsers:
  - regex: '(Foo)(?=Bar)/(\d+)'
  - regex: '(Foo)/(\d+)'
os_parsers:
  - regex: '(Baz)\1'
  - regex: '(Baz) (\d+)'
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const UserAgentParser& parser = **loaded;
  EXPECT_EQ(parser.skipped_patterns(), 2u);
  EXPECT_EQ(parser.pattern_count(), 2u);
  ASSERT_EQ(parser.skipped().size(), 2u);
  EXPECT_EQ(parser.skipped()[0].list, "user_agent_parsers");
  EXPECT_EQ(parser.skipped()[0].index, 0u);
  EXPECT_EQ(parser.skipped()[1].list, "os_parsers");
  EXPECT_EQ(parser.skipped()[1].regex, R"((Baz)\1)");
  EXPECT_FALSE(parser.skipped()[1].error.empty());
  const std::string summary = parser.SkippedPatternsSummary();
  EXPECT_EQ(summary.find('\n'), std::string::npos);
  EXPECT_NE(summary.find("skipped 2 of 4"), std::string::npos) << summary;
  EXPECT_NE(summary.find("user_agent_parsers[0] /(Foo)(?=Bar)/(\\d+)/: "), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("os_parsers[0] /(Baz)\\1/: "), std::string::npos) << summary;

  const UserAgent ua = parser.Parse("FooBar/1 Foo/2 Baz 7");
  EXPECT_EQ(ua.browser.family, "Foo");
  EXPECT_EQ(ua.browser.major, "2");
  EXPECT_EQ(ua.os.family, "Baz");
  EXPECT_EQ(ua.os.major, "7");
}

TEST(UserAgentParserLoadTest, AppliesTheSpecificationsReplacementRules) {
  Result<std::unique_ptr<UserAgentParser>> loaded = FromYaml(R"(
user_agent_parsers:
  - regex: '(Minefield)/(\d+)\.(\d+)\.(\d+(?:pre)?)'
    family_replacement: 'Firefox ($1)'
  - regex: 'Fixed/(\d+)'
    family_replacement: 'Fixed'
    v1_replacement: '$1'
    v2_replacement: '  '
  - regex: '(Opt)(?:/(\d+)|)( ?)'
os_parsers:
  - regex: 'Win(95|98|NT)'
    os_replacement: 'Windows $1'
    os_v1_replacement: '$9x'
device_parsers:
  - regex: '; *(PEDI)_(PLUS)_(W) Build'
    device_replacement: 'Odys $1 $2 $3'
    brand_replacement: 'Odys'
    model_replacement: '$1 $2 $3'
  - regex: 'nokia(\w+)'
    regex_flag: 'i'
    device_replacement: ' Nokia $1 '
    brand_replacement: '$2'
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const UserAgentParser& parser = **loaded;

  UserAgent ua = parser.Parse(
      "Mozilla/5.0 (Windows; Windows NT 5.1; rv:2.0b3pre) Gecko/20100727 Minefield/4.0.1pre");
  EXPECT_EQ(ua.browser, (UserAgent::Browser{"Firefox (Minefield)", "4", "0", "1pre", {}}));

  ua = parser.Parse("Fixed/12");
  EXPECT_EQ(ua.browser, (UserAgent::Browser{"Fixed", "12", std::nullopt, std::nullopt, {}}));

  ua = parser.Parse("Opt");  // empty or missing captures are absent
  EXPECT_EQ(ua.browser, (UserAgent::Browser{"Opt", std::nullopt, std::nullopt, std::nullopt, {}}));

  ua = parser.Parse("Mozilla/5.0 (Windows; U; Win95; en-US; rv:1.1) Gecko/20020826");
  EXPECT_EQ(ua.os.family, "Windows 95");
  EXPECT_EQ(ua.os.major, "x");  // $9 of a regex with one group is empty

  ua = parser.Parse(
      "Mozilla/5.0 (Linux; U; Android 4.2.2; de-de; PEDI_PLUS_W Build/JDQ39) AppleWebKit/534.30 "
      "(KHTML, like Gecko) Version/4.0 Safari/534.30");
  EXPECT_EQ(ua.device, (UserAgent::Device{"Odys PEDI PLUS W", "Odys", "PEDI PLUS W"}));

  ua = parser.Parse("NOKIA6230i/2.0");  // regex_flag 'i'; trimmed; model falls back to $1
  EXPECT_EQ(ua.device, (UserAgent::Device{"Nokia 6230i", std::nullopt, "6230i"}));

  ua = parser.Parse("nothing known");
  EXPECT_EQ(ua.browser, UserAgent::Browser());
  EXPECT_EQ(ua.os, UserAgent::Os());
  EXPECT_EQ(ua.device, UserAgent::Device());
  EXPECT_EQ(ua.browser.family, "Other");
}

}  // namespace
}  // namespace ca::ingest
