#pragma once

#include <string>
#include <string_view>

#include <cctz/time_zone.h>

namespace ca {

/// True for an IANA zone name ("Europe/Paris", "UTC") whose file is in the system's zone database
/// ($TZDIR, else /usr/share/zoneinfo): letters, digits and "_+-." in '/'-separated segments,
/// none of them "." or "..", at most 64 bytes, and not the special "localtime".
bool IsKnownTimeZone(std::string_view name);

/// Loads a time zone for a name from outside (a query, a profile's traits, a schedule). Only
/// names that IsKnownTimeZone accepts reach cctz: cctz keeps every name it is asked for in a
/// process-wide map, also the ones it failed to load, so unchecked names would grow memory
/// without bound. False for any other name.
bool LoadTimeZone(std::string_view name, cctz::time_zone* tz);

}  // namespace ca
