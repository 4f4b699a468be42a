#include "base/time_zone.h"

#include <sys/stat.h>

#include <cstdlib>

namespace ca {

bool IsKnownTimeZone(std::string_view name) {
  if (name == "UTC") return true;  // cctz's own, with or without the database
  if (name.empty() || name.size() > 64 || name == "localtime") return false;
  size_t segment = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      const std::string_view part = name.substr(segment, i - segment);
      if (part.empty() || part == "." || part == "..") return false;
      segment = i + 1;
      continue;
    }
    const char c = name[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  // The directory cctz reads (it honours TZDIR too).
  const char* dir = std::getenv("TZDIR");
  std::string path(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo");
  path.append("/").append(name);
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool LoadTimeZone(std::string_view name, cctz::time_zone* tz) {
  return IsKnownTimeZone(name) && cctz::load_time_zone(std::string(name), tz);
}

}  // namespace ca
