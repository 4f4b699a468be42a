#include "ingest/geo_lookup.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>
#include <vector>

namespace ca::ingest {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

GeoLocation At(std::string country, std::string region = "") {
  return GeoLocation{.country = std::move(country), .region = std::move(region)};
}

/// The addresses of tests/fixtures/make_test_geo_db.pl and what they map to.
const std::vector<std::pair<std::string, std::optional<GeoLocation>>>& Expected() {
  static const auto* expected = new std::vector<std::pair<std::string, std::optional<GeoLocation>>>{
      {"203.0.113.9", At("DE", "BE")},
      {"198.51.100.1", At("US", "CA")},
      {"198.51.101.77", At("GB", "England")},
      {"2001:db8::1", At("FR")},
      {"2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", At("FR")},
      {"192.0.2.1", At("JP")},
      {"192.0.2.200", At("NL")},
      {"2001:db8:8000::1", At("CH")},
      {"::ffff:203.0.113.9", At("DE", "BE")},
      {"10.0.0.1", std::nullopt},
      {"2001:db9::1", std::nullopt},
      {"not an ip", std::nullopt},
  };
  return *expected;
}

class GeoLookupTest : public ::testing::Test {
 protected:
  /// Builds the test database with perl into a fresh directory; a failure fails every test.
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir() + "ca_geo_test_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      *setup_error_ = "mkdtemp failed for " + tmpl;
      return;
    }
    *dir_ = tmpl;
    *db_path_ = *dir_ + "/test-geo.mmdb";
    const std::string command =
        "perl '" CA_GEO_TEST_DB_SCRIPT "' '" + *db_path_ + "' 2>&1 </dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      *setup_error_ = "cannot run: " + command;
      return;
    }
    std::string output;
    char buf[512];
    while (size_t n = fread(buf, 1, sizeof(buf), pipe)) output.append(buf, n);
    const int status = ::pclose(pipe);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        !std::filesystem::exists(*db_path_)) {
      *setup_error_ =
          "building the test geo database failed (needs perl and Debian's "
          "libmaxmind-db-writer-perl): " +
          command + "\n" + output;
    }
  }

  static void TearDownTestSuite() {
    if (!dir_->empty()) std::filesystem::remove_all(*dir_);
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_->empty()) << *setup_error_;
    auto geo = GeoLookup::Open(*db_path_);
    ASSERT_TRUE(geo.ok()) << geo.status().ToString();
    geo_ = std::move(geo).value();
  }

  static inline std::string* const dir_ = new std::string;
  static inline std::string* const db_path_ = new std::string;
  static inline std::string* const setup_error_ = new std::string;
  std::unique_ptr<GeoLookup> geo_;
};

TEST_F(GeoLookupTest, KnownNetworksMapToCountryAndRegion) {
  EXPECT_EQ(geo_->Lookup("203.0.113.9"), At("DE", "BE"));
  EXPECT_EQ(geo_->Lookup("203.0.113.0"), At("DE", "BE"));
  EXPECT_EQ(geo_->Lookup("203.0.113.255"), At("DE", "BE"));
  EXPECT_EQ(geo_->Lookup("198.51.100.23"), At("US", "CA"));
  EXPECT_EQ(geo_->Lookup("198.51.101.77"), At("GB", "England"));  // only a name for the region
  EXPECT_EQ(geo_->Lookup("2001:db8::1"), At("FR"));
  EXPECT_EQ(geo_->Lookup("2001:DB8:0:0:0:0:0:1"), At("FR"));
}

TEST_F(GeoLookupTest, DbIpLayoutIsUnderstood) {
  EXPECT_EQ(geo_->Lookup("192.0.2.1"), At("JP"));
  EXPECT_EQ(geo_->Lookup("192.0.2.200"), At("NL"));  // stored as "nl"
  EXPECT_EQ(geo_->Lookup("2001:db8:8000::1"), At("CH"));
}

TEST_F(GeoLookupTest, Ipv4MappedIpv6IsLookedUpAsIpv4) {
  // The test database, like DB-IP's, does not alias ::ffff:0:0/96 to its IPv4 data.
  EXPECT_EQ(geo_->Lookup("::ffff:203.0.113.9"), At("DE", "BE"));
  EXPECT_EQ(geo_->Lookup("::FFFF:198.51.100.1"), At("US", "CA"));
  EXPECT_EQ(geo_->Lookup("::ffff:cb00:7109"), At("DE", "BE"));  // 203.0.113.9 in hex
  EXPECT_EQ(geo_->Lookup("0:0:0:0:0:ffff:192.0.2.1"), At("JP"));
  EXPECT_EQ(geo_->Lookup("::ffff:10.0.0.1"), std::nullopt);
}

TEST_F(GeoLookupTest, UnknownAddressesAreNullopt) {
  for (const char* ip : {"10.0.0.1", "127.0.0.1", "192.168.1.1", "8.8.8.8", "0.0.0.0",
                         "255.255.255.255", "::1", "::", "fe80::1", "2001:db9::1", "ff02::1"}) {
    EXPECT_EQ(geo_->Lookup(ip), std::nullopt) << ip;
  }
  // Records without a country code, or with one that is not two letters.
  EXPECT_EQ(geo_->Lookup("198.51.102.1"), std::nullopt);
  EXPECT_EQ(geo_->Lookup("198.51.103.1"), std::nullopt);
  EXPECT_EQ(geo_->lookup_errors(), 0u);
}

TEST_F(GeoLookupTest, GarbageIsNullopt) {
  const std::string long_text(1000, '1');
  for (std::string_view text :
       {std::string_view(""),
        std::string_view(" "),
        std::string_view("not an ip"),
        std::string_view("localhost"),
        std::string_view(" 203.0.113.9"),
        std::string_view("203.0.113.9 "),
        std::string_view("203.0.113"),
        std::string_view("203.0.113.9.1"),
        std::string_view("203.0.113.256"),
        std::string_view("203.0.113.9:443"),
        std::string_view("0xcb.0.113.9"),
        std::string_view("[2001:db8::1]"),
        std::string_view("2001:db8::1%eth0"),
        std::string_view("2001:db8:::1"),
        std::string_view("2001:db8::1::2"),
        std::string_view("::ffff:203.0.113"),
        std::string_view("\xff\xfe\xfd"),
        std::string_view("203.0.113.9\0garbage", 19),
        std::string_view(long_text),
        std::string_view("203.0.113.9xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")}) {
    EXPECT_EQ(geo_->Lookup(text), std::nullopt) << text;
  }
  // A view into a longer buffer: only the viewed characters count.
  const std::string buffer = "203.0.113.9123";
  EXPECT_EQ(geo_->Lookup(std::string_view(buffer).substr(0, 11)), At("DE", "BE"));
}

TEST_F(GeoLookupTest, MetadataIsExposed) {
  const GeoDatabaseInfo& info = geo_->info();
  EXPECT_EQ(info.path, *db_path_);
  EXPECT_EQ(info.database_type, "CA-Test-Geo");
  EXPECT_EQ(info.ip_version, 6);
  EXPECT_GT(info.node_count, 0u);
  const auto now = static_cast<uint64_t>(std::time(nullptr));
  EXPECT_GT(info.build_epoch, now - 3600);  // written by SetUpTestSuite
  EXPECT_LE(info.build_epoch, now + 60);
  const std::string text = info.ToString();
  EXPECT_NE(text.find("CA-Test-Geo built 20"), std::string::npos) << text;
  EXPECT_NE(text.find(*db_path_), std::string::npos) << text;
}

TEST_F(GeoLookupTest, MissingFileIsNotFound) {
  const std::string path = *dir_ + "/no-such.mmdb";
  auto geo = GeoLookup::Open(path);
  ASSERT_FALSE(geo.ok());
  EXPECT_EQ(geo.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(geo.status().message().find(path), std::string_view::npos) << geo.status().ToString();
}

TEST_F(GeoLookupTest, FilesThatAreNotDatabasesAreErrors) {
  std::mt19937 rng(7);
  std::string random(64 * 1024, '\0');
  for (char& c : random) c = static_cast<char>(rng());
  const std::string whole = ReadFile(*db_path_);
  ASSERT_FALSE(whole.empty());
  const std::pair<const char*, std::string> files[] = {
      {"random.mmdb", random},
      {"empty.mmdb", ""},
      {"text.mmdb", "hello, world\n"},
      {"truncated.mmdb", whole.substr(0, whole.size() / 2)},  // the metadata is at the end
  };
  for (const auto& [name, contents] : files) {
    const std::string path = *dir_ + "/" + name;
    WriteFile(path, contents);
    auto geo = GeoLookup::Open(path);
    ASSERT_FALSE(geo.ok()) << name;
    EXPECT_NE(geo.status().code(), ErrorCode::kNotFound) << geo.status().ToString();
    EXPECT_NE(geo.status().message().find(path), std::string_view::npos) << geo.status().ToString();
  }
  for (const char* name : {"random.mmdb", "empty.mmdb", "truncated.mmdb"}) {
    auto geo = GeoLookup::Open(*dir_ + "/" + name);
    EXPECT_EQ(geo.status().code(), ErrorCode::kCorruption) << geo.status().ToString();
  }
  EXPECT_FALSE(GeoLookup::Open(*dir_).ok());  // a directory
}

TEST_F(GeoLookupTest, DamagedTreeAndDataDoNotCrashLookups) {
  // Random bytes over everything before the metadata: Open may succeed, lookups must not crash
  // and may only return well-formed countries.
  const std::string whole = ReadFile(*db_path_);
  const size_t metadata = whole.rfind("\xab\xcd\xefMaxMind.com");
  ASSERT_NE(metadata, std::string::npos);
  std::mt19937 rng(11);
  int opened = 0;
  for (int round = 0; round < 200; ++round) {
    std::string damaged = whole;
    const size_t flips = round % 2 == 0 ? metadata : 1 + rng() % 8;
    for (size_t i = 0; i < flips; ++i) {
      damaged[round % 2 == 0 ? i : rng() % metadata] = static_cast<char>(rng());
    }
    const std::string path = *dir_ + "/damaged.mmdb";
    WriteFile(path, damaged);
    auto geo = GeoLookup::Open(path);
    if (!geo.ok()) continue;
    ++opened;
    for (const auto& [ip, expected] : Expected()) {
      const std::optional<GeoLocation> found = (*geo)->Lookup(ip);
      if (!found) continue;
      ASSERT_EQ(found->country.size(), 2u) << ip;
      EXPECT_TRUE(std::isupper(static_cast<unsigned char>(found->country[0])) &&
                  std::isupper(static_cast<unsigned char>(found->country[1])))
          << found->country;
    }
  }
  EXPECT_GT(opened, 0);  // the damage reached lookups, not only Open
}

TEST_F(GeoLookupTest, ConcurrentLookupsAgree) {
  const auto& expected = Expected();
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        const auto& [ip, location] = expected[(i + t) % expected.size()];
        if (geo_->Lookup(ip) != location) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace ca::ingest
