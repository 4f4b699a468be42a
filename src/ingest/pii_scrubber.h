#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ca::ingest {

/// Markers written in place of what the scrubber removes (docs/privacy.md).
inline constexpr std::string_view kEmailMarker = "[email]";
inline constexpr std::string_view kPhoneMarker = "[phone]";
inline constexpr std::string_view kCardMarker = "[card]";
inline constexpr std::string_view kRedactedMarker = "[redacted]";

/// Removes personal data from the values of minified JSON objects (an event's properties and
/// context) before they are stored:
/// - in every string: e-mail addresses, card numbers (13 to 19 digits, optionally grouped by
///   single spaces or dashes, passing the Luhn check) and phone numbers (7 to 15 digits written
///   with a leading `+` or with separators: `+49 30 1234567`, `(030) 123-4567`; a bare run of
///   digits is an id, not a phone) are replaced by a marker, the rest of the string is kept;
/// - every value (of any JSON type, at any depth) of a key whose name, in lower case without `_`
///   and `-`, contains password, passwd, secret, token, apikey, authorization or ssn becomes the
///   string "[redacted]".
/// Keys listed in `allowed_keys` (exact names, at any depth) are left alone with their values.
/// With `truncate_ip`, a top-level `ip` string is truncated (TruncateIp) instead of scrubbed: the
/// context of an event. Thread-safe; the options are copied.
class PiiScrubber {
 public:
  struct Options {
    std::vector<std::string> allowed_keys;
    bool truncate_ip = false;
    bool scrub = true;  ///< false: only truncate_ip applies
  };
  PiiScrubber();
  explicit PiiScrubber(Options options);

  /// Scrubs the minified JSON object `json`. Returns false and leaves `*out` untouched when
  /// nothing had to change (the common case, found in one pass over its strings when no value
  /// holds an `@` or 7 digits and no key looks sensitive); else writes the scrubbed object,
  /// minified the same way, to `*out` and returns true. When the only change is a top-level `ip`
  /// to truncate, it is spliced in and the rest is copied as it is. Text that is not a JSON
  /// object is left alone.
  /// `clean_tail`: bytes before the closing '}' known to need nothing (Event::clean_context_tail);
  /// they are only looked at when something before them has to be rewritten.
  bool Scrub(std::string_view json, std::string* out, size_t clean_tail = 0) const;

  /// Scrub, written over `*json` itself; returns whether it changed. A lone IP to truncate is
  /// replaced where it stands (no copy of the rest).
  bool ScrubInPlace(std::string* json, size_t clean_tail = 0) const;

  /// Scrubs one string value (the first rule above); false when nothing changed.
  static bool ScrubString(std::string_view text, std::string* out);
  /// True for a key whose values are redacted whole (the second rule above).
  static bool IsSensitiveKey(std::string_view key);

 private:
  /// What Scrub has to do to a text, from one survey of it.
  struct Decision {
    enum Action { kNothing, kSpliceIp, kRewrite } action = kNothing;
    size_t ip_begin = 0, ip_end = 0;  // kSpliceIp: the IP's text, to become `truncated_ip`
    std::string truncated_ip;
    bool scrub = false;  // kRewrite: personal data to replace (else only the IP)
  };
  Decision Decide(std::string_view json, size_t clean_tail) const;
  // The Rewriter's output in `*out` (which may be `json`'s own string); false when unchanged.
  bool Rewrite(std::string_view json, bool scrub, std::string* out) const;

  Options options_;
};

/// An IP address with its host part zeroed: IPv4 to its /24 (`203.0.113.0`), IPv6 to its /48
/// (`2001:db8:85a3::`); nullopt when `ip` is not an address.
std::optional<std::string> TruncateIp(std::string_view ip);

}  // namespace ca::ingest
