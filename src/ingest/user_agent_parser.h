#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ca::ingest {

/// The values of `UserAgent::device_type`.
inline constexpr std::string_view kDeviceTypeDesktop = "desktop";
inline constexpr std::string_view kDeviceTypeMobile = "mobile";
inline constexpr std::string_view kDeviceTypeTablet = "tablet";
inline constexpr std::string_view kDeviceTypeBot = "bot";
inline constexpr std::string_view kDeviceTypeOther = "other";

/// What uap-core's regexes make of a User-Agent header. A field is nullopt when the regex that
/// matched has no capture for it, the capture is empty, or its replacement expands to nothing
/// (after trimming). A family is "Other" when no regex of its list matched.
struct UserAgent {
  struct Browser {
    std::string family = "Other";
    std::optional<std::string> major;
    std::optional<std::string> minor;
    std::optional<std::string> patch;
    std::optional<std::string> patch_minor;
    bool operator==(const Browser&) const = default;
  };
  struct Os {
    std::string family = "Other";
    std::optional<std::string> major;
    std::optional<std::string> minor;
    std::optional<std::string> patch;
    std::optional<std::string> patch_minor;
    bool operator==(const Os&) const = default;
  };
  struct Device {
    std::string family = "Other";
    std::optional<std::string> brand;
    std::optional<std::string> model;
    bool operator==(const Device&) const = default;
  };

  Browser browser;
  Os os;
  Device device;
  /// One of the kDeviceType* values, as DeviceTypeOf decides.
  std::string device_type = std::string(kDeviceTypeOther);

  bool operator==(const UserAgent&) const = default;
};

/// The coarse device class of a parsed user agent; `ua` is the (normalised) header it came from.
/// The first rule that applies wins:
/// 1. bot: the device family is "Spider" (uap-core's family for crawlers, monitors and
///    HTTP libraries that announce themselves as bots);
/// 2. other: a TV or a game console: the device family or `ua` names one ("TV", "HbbTV",
///    "PlayStation", "Xbox", "Nintendo"), or the OS is tvOS, ATV OS X or Chromecast;
/// 3. tablet: the device family, brand or model contains "iPad", "Kindle", "Tablet" or
///    "PlayBook" (any case), the OS is "BlackBerry Tablet OS", or the OS is Android and `ua` is
///    a browser's ("Mozilla/...") without "Mobile" (Android browsers say "Mobile" on phones
///    only);
/// 4. mobile: the OS is a phone OS (iOS, Android, Windows Phone, Windows Mobile, BlackBerry OS,
///    Symbian, KaiOS, Firefox OS, Tizen, webOS, Bada, Sailfish, MeeGo, Maemo, Nokia Series 30/40,
///    Brew MP, HarmonyOS, WatchOS), `ua` holds "Mobi" or "MIDP", or the device has a brand and is
///    not a Mac (uap-core's device list is nearly all handsets);
/// 5. desktop: the device family is "Other" or "Mac" and the OS is a desktop OS (Windows but
///    not Windows CE, Mac OS X / Mac OS, Chrome OS, Linux and its distributions, the BSDs,
///    Solaris);
/// 6. other: everything else (HTTP libraries, unknown clients).
/// Heuristics, not truths: an Android tablet app's own HTTP client (Dalvik, okhttp) counts as
/// mobile; a desktop browser that hides its OS counts as other.
std::string_view DeviceTypeOf(const UserAgent& parsed, std::string_view ua);

/// Parses User-Agent headers with the regexes of uap-core (`regexes.yaml`, see uap-core's
/// specification.md): the first regex of each list (user_agent_parsers, os_parsers,
/// device_parsers) that matches anywhere in the header decides, its captures fill the fields or
/// the `$1`..`$9` placeholders of its replacements.
///
/// Regexes run on RE2: linear time, no backtracking blow-up on hostile input. Each list has a
/// prefilter (RE2's FilteredRE2): one pass of an RE2::Set over the literal strings the regexes
/// require picks the candidates, which are tried in list order; the first that matches gives the
/// captures. (One RE2::Set over the regexes themselves, tried first, took 0.3-0.9 ms per header
/// on uap-core's 16k device cases, its DFA building new states for every new header; with the
/// prefilter a parse takes about 15 us, 50-90 us while RE2's DFA caches are still cold.)
/// Regexes RE2 cannot compile (lookaround, backreferences) are skipped and reported
/// (`skipped()`), not fatal. Input is untrusted: it is cut to `Options::max_ua_bytes` and invalid
/// UTF-8 is replaced (Normalize) before matching, so every output string is valid UTF-8.
///
/// Thread-safe: Parse and every accessor may be called from any number of threads at once.
class UserAgentParser {
 public:
  struct Options {
    /// Entries of the LRU cache in front of Parse (about 1 KiB each); 0 disables it.
    size_t cache_capacity = 10'000;
    /// Longer headers are cut to this many bytes (on a character boundary) before matching.
    size_t max_ua_bytes = 512;
    /// RE2 memory budget (program and DFA cache) of each list's RE2::Set of prefilter strings.
    /// Should its DFA run out, that parse tries every regex of the list, in order (slow).
    int64_t atom_set_max_mem = int64_t{64} << 20;
    /// RE2 memory budget of each regex (program and DFA caches; RE2's default). The DFA caches
    /// fill as new headers come; a smaller budget bounds memory but resets them more often.
    int64_t regex_max_mem = int64_t{8} << 20;
  };

  /// A regex of regexes.yaml that RE2 rejected.
  struct SkippedPattern {
    std::string list;  ///< "user_agent_parsers", "os_parsers" or "device_parsers"
    size_t index = 0;  ///< position in that list
    std::string regex;
    std::string error;  ///< RE2's message
  };

  /// Counters since Load.
  struct Stats {
    uint64_t cache_hits = 0;
    uint64_t cache_misses = 0;
    size_t cache_entries = 0;
    /// Parses where a prefilter's RE2::Set ran out of DFA memory and every regex was tried.
    uint64_t prefilter_fallbacks = 0;
  };

  /// Reads and compiles uap-core's regexes.yaml at `regexes_yaml_path`. Errors: kNotFound (no
  /// such file), kIoError (unreadable), kConfigInvalid (not YAML, or not the shape of
  /// regexes.yaml: a mapping of the three lists of mappings each with a `regex`).
  static Result<std::unique_ptr<UserAgentParser>> Load(const std::string& regexes_yaml_path);
  static Result<std::unique_ptr<UserAgentParser>> Load(const std::string& regexes_yaml_path,
                                                       const Options& options);
  /// As Load, from the text of a regexes.yaml; a missing list counts as empty.
  static Result<std::unique_ptr<UserAgentParser>> FromYaml(std::string_view yaml_text,
                                                           const Options& options);

  UserAgentParser(const UserAgentParser&) = delete;
  UserAgentParser& operator=(const UserAgentParser&) = delete;
  ~UserAgentParser();

  /// Parses `ua` (any bytes), answering from the cache when the same normalised header was seen
  /// recently. Never fails: what matches nothing is "Other".
  UserAgent Parse(std::string_view ua) const;
  /// Parse without the cache.
  UserAgent ParseUncached(std::string_view ua) const;

  /// `ua` as the regexes see it: invalid UTF-8 bytes become U+FFFD, then it is cut after the last
  /// whole character that fits in `max_bytes`.
  static std::string Normalize(std::string_view ua, size_t max_bytes);

  /// The number of regexes RE2 could not compile (skipped), and which they are.
  size_t skipped_patterns() const;
  const std::vector<SkippedPattern>& skipped() const;
  /// One line for the log: "" when nothing was skipped, else how many of how many regexes were
  /// skipped, each as `list[index] /regex/: error`.
  std::string SkippedPatternsSummary() const;
  /// Regexes in use, over the three lists.
  size_t pattern_count() const;
  /// How many of the three lists have a prefilter: 3 unless one could not be built within
  /// `Options::atom_set_max_mem` (that list then tries all its regexes in order, slowly).
  int prefiltered_lists() const;

  Stats stats() const;

 private:
  struct Impl;
  explicit UserAgentParser(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace ca::ingest
