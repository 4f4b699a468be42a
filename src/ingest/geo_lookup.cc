#include "ingest/geo_lookup.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "base/utf8.h"
#include "ingest/thread_memo.h"

namespace ca::ingest {
namespace {

/// Regions longer than this are dropped as damage: the longest English subdivision names in
/// GeoIP2 are well under it.
constexpr size_t kMaxRegionBytes = 100;

/// The UTF-8 string at `path` (a null-terminated list of map keys and array indexes) in `entry`;
/// nullopt when it is missing or of another type. Sets `*damaged` when the data cannot be decoded.
std::optional<std::string_view> StringAt(MMDB_entry_s* entry, const char* const* path,
                                         bool* damaged) {
  MMDB_entry_data_s data;
  const int status = MMDB_aget_value(entry, &data, path);
  if (status != MMDB_SUCCESS) {
    if (status != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR &&
        status != MMDB_INVALID_LOOKUP_PATH_ERROR) {
      *damaged = true;
    }
    return std::nullopt;
  }
  if (!data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING) return std::nullopt;
  return std::string_view(data.utf8_string, data.data_size);
}

bool IsAsciiLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/// `code` in upper case if it has the form of an ISO 3166-1 alpha-2 code.
std::optional<std::string> CountryCode(std::string_view code) {
  if (code.size() != 2 || !IsAsciiLetter(code[0]) || !IsAsciiLetter(code[1])) return std::nullopt;
  std::string upper(code);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return upper;
}

/// Whether `s` is well-formed UTF-8 without control characters (what a region name may hold).
bool IsPrintableUtf8(std::string_view s) {
  return ForEachCodePoint(s, [](uint32_t cp) { return cp >= 0x20 && (cp < 0x7f || cp >= 0xa0); });
}

Status OpenError(const std::string& path, int status, int open_errno) {
  std::string message = "cannot open geo database " + path + ": " + MMDB_strerror(status);
  const bool system_error = status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR;
  if (system_error && open_errno != 0) {
    message += std::string(" (") + std::strerror(open_errno) + ")";
  }
  struct stat st;
  if (status == MMDB_IO_ERROR && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      st.st_size == 0) {
    return Corruption("cannot open geo database " + path + ": the file is empty");
  }
  switch (status) {
    case MMDB_FILE_OPEN_ERROR:
      return open_errno == ENOENT ? NotFound(message) : IoError(message);
    case MMDB_IO_ERROR:
      return IoError(message);
    case MMDB_OUT_OF_MEMORY_ERROR:
      return Internal(message);
    default:  // no or bad metadata, unknown format version, bad data
      return Corruption(message);
  }
}

}  // namespace

std::string GeoDatabaseInfo::ToString() const {
  char built[32] = "?";
  const auto t = static_cast<time_t>(build_epoch);
  tm utc;
  if (gmtime_r(&t, &utc) != nullptr)
    std::strftime(built, sizeof(built), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return database_type + " built " + built + ", IPv" + std::to_string(ip_version) + ", " +
         std::to_string(node_count) + " nodes: " + path;
}

Result<std::unique_ptr<GeoLookup>> GeoLookup::Open(const std::string& mmdb_path) {
  auto mmdb = std::make_unique<MMDB_s>();
  errno = 0;
  const int status = MMDB_open(mmdb_path.c_str(), MMDB_MODE_MMAP, mmdb.get());
  const int open_errno = errno;
  if (status != MMDB_SUCCESS) return OpenError(mmdb_path, status, open_errno);
  GeoDatabaseInfo info;
  info.path = mmdb_path;
  if (mmdb->metadata.database_type != nullptr) info.database_type = mmdb->metadata.database_type;
  info.build_epoch = mmdb->metadata.build_epoch;
  info.ip_version = mmdb->metadata.ip_version;
  info.node_count = mmdb->metadata.node_count;
  if (info.ip_version != 4 && info.ip_version != 6) {
    MMDB_close(mmdb.get());
    return Corruption("cannot open geo database " + mmdb_path + ": ip_version " +
                      std::to_string(info.ip_version) + " is neither 4 nor 6");
  }
  return std::unique_ptr<GeoLookup>(new GeoLookup(std::move(mmdb), std::move(info)));
}

GeoLookup::GeoLookup(std::unique_ptr<MMDB_s> mmdb, GeoDatabaseInfo info)
    : mmdb_(std::move(mmdb)), info_(std::move(info)), memo_owner_(NewMemoOwner()) {}

GeoLookup::~GeoLookup() { MMDB_close(mmdb_.get()); }

std::optional<GeoLocation> GeoLookup::Lookup(std::string_view ip) const {
  // inet_pton needs a terminated string; no address is longer than INET6_ADDRSTRLEN - 1.
  char text[INET6_ADDRSTRLEN];
  if (ip.empty() || ip.size() >= sizeof(text) || ip.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';

  sockaddr_in v4{};
  sockaddr_in6 v6{};
  const sockaddr* address;
  if (inet_pton(AF_INET, text, &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    address = reinterpret_cast<const sockaddr*>(&v4);
  } else if (inet_pton(AF_INET6, text, &v6.sin6_addr) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      // Databases need not alias ::ffff:0:0/96 to their IPv4 data (DB-IP's does not).
      v4.sin_family = AF_INET;
      std::memcpy(&v4.sin_addr, v6.sin6_addr.s6_addr + 12, 4);
      address = reinterpret_cast<const sockaddr*>(&v4);
    } else {
      if (info_.ip_version == 4) return std::nullopt;
      v6.sin6_family = AF_INET6;
      address = reinterpret_cast<const sockaddr*>(&v6);
    }
  } else {
    return std::nullopt;
  }

  int mmdb_error = MMDB_SUCCESS;
  MMDB_lookup_result_s result = MMDB_lookup_sockaddr(mmdb_.get(), address, &mmdb_error);
  if (mmdb_error != MMDB_SUCCESS) {
    lookup_errors_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (!result.found_entry) return std::nullopt;

  // Many networks share one data record (a country): what a record says is decoded once per
  // thread, and found again by the record's offset.
  struct Decoded {
    uint64_t owner = 0;  // 0: empty
    uint32_t offset = 0;
    std::optional<GeoLocation> location;
  };
  thread_local std::array<Decoded, 512> decoded;
  Decoded& slot = decoded[result.entry.offset % decoded.size()];
  if (slot.owner == memo_owner_ && slot.offset == result.entry.offset) return slot.location;
  bool damaged = false;
  std::optional<GeoLocation> location = DecodeRecord(&result.entry, &damaged);
  if (damaged) {
    lookup_errors_.fetch_add(1, std::memory_order_relaxed);  // counted at every lookup
  } else {
    slot = Decoded{memo_owner_, result.entry.offset, location};
  }
  return location;
}

std::optional<GeoLocation> GeoLookup::DecodeRecord(MMDB_entry_s* entry, bool* damaged) {
  static constexpr const char* kCountryIso[] = {"country", "iso_code", nullptr};
  static constexpr const char* kCountryCode[] = {"country_code", nullptr};
  static constexpr const char* kRegionIso[] = {"subdivisions", "0", "iso_code", nullptr};
  static constexpr const char* kRegionName[] = {"subdivisions", "0", "names", "en", nullptr};
  std::optional<std::string_view> country = StringAt(entry, kCountryIso, damaged);
  if (!country) country = StringAt(entry, kCountryCode, damaged);
  std::optional<std::string> code;
  if (country) code = CountryCode(*country);
  if (!code) return std::nullopt;

  GeoLocation location{.country = std::move(*code)};
  for (const char* const* path : {kRegionIso, kRegionName}) {
    const std::optional<std::string_view> region = StringAt(entry, path, damaged);
    if (region && !region->empty() && region->size() <= kMaxRegionBytes &&
        IsPrintableUtf8(*region)) {
      location.region = *region;
      break;
    }
  }
  return location;
}

}  // namespace ca::ingest
