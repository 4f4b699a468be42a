#include "base/time_zone.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <cctz/civil_time.h>

namespace ca {
namespace {

// The UTC offset of `tz` at 2025-01-15T12:00:00Z, in hours.
int OffsetHoursInJanuary(const cctz::time_zone& tz) {
  const auto noon = cctz::convert(cctz::civil_second(2025, 1, 15, 12, 0, 0), cctz::utc_time_zone());
  return static_cast<int>(tz.lookup(noon).offset / 3600);
}

TEST(TimeZoneTest, ZonesOfTheDatabaseLoad) {
  for (const auto& [name, hours] : {std::pair<const char*, int>{"UTC", 0},
                                    {"Europe/Paris", 1},
                                    {"America/New_York", -5},
                                    {"Asia/Kolkata", 5},
                                    {"Etc/GMT+5", -5}}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(IsKnownTimeZone(name));
    cctz::time_zone tz;
    ASSERT_TRUE(LoadTimeZone(name, &tz));
    EXPECT_EQ(OffsetHoursInJanuary(tz), hours);
  }
}

TEST(TimeZoneTest, NamesOutsideTheDatabaseAreRefused) {
  const std::vector<std::string> names = {"",
                                          "Mars/Olympus",
                                          "Europe",
                                          "../etc/passwd",
                                          "Europe/../UTC",
                                          "./UTC",
                                          "localtime",
                                          "/usr/share/zoneinfo/UTC",
                                          "Europe//Berlin",
                                          "Europe/Berlin/",
                                          "Europe/Berlin\n",
                                          "Europe/Berlin ",
                                          "Fixed/UTC+05:00",
                                          std::string(65, 'A'),
                                          std::string("Europe/Berlin\0x", 15)};
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(IsKnownTimeZone(name));
    cctz::time_zone tz;
    EXPECT_FALSE(LoadTimeZone(name, &tz));
  }
}

// cctz reads $TZDIR when it is set; the check must look where cctz will.
TEST(TimeZoneTest, TheDatabaseIsWhereTzdirSays) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "ca-tzdir";
  fs::remove_all(dir);
  fs::create_directories(dir / "Test");
  fs::copy_file("/usr/share/zoneinfo/Asia/Tokyo", dir / "Test" / "Nine");
  const char* before = std::getenv("TZDIR");
  const std::optional<std::string> saved =
      before ? std::optional<std::string>(before) : std::nullopt;
  ::setenv("TZDIR", dir.c_str(), 1);
  EXPECT_TRUE(IsKnownTimeZone("Test/Nine"));
  EXPECT_FALSE(IsKnownTimeZone("Europe/Paris"));  // not in this database
  EXPECT_TRUE(IsKnownTimeZone("UTC"));            // cctz's own
  cctz::time_zone tz;
  ASSERT_TRUE(LoadTimeZone("Test/Nine", &tz));
  EXPECT_EQ(OffsetHoursInJanuary(tz), 9);
  if (saved) {
    ::setenv("TZDIR", saved->c_str(), 1);
  } else {
    ::unsetenv("TZDIR");
  }
  EXPECT_FALSE(IsKnownTimeZone("Test/Nine"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ca
