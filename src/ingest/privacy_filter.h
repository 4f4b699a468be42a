#pragma once

#include <string>
#include <vector>

#include "event/event.h"
#include "ingest/pii_scrubber.h"

namespace ca::ingest {

/// What the privacy stage does (docs/privacy.md); the server's `privacy.*` settings.
struct PrivacyOptions {
  /// Replace e-mail addresses, phone and card numbers, and the values of secret-looking keys in
  /// properties and context (PiiScrubber).
  bool scrub_pii = true;
  /// Property or context keys (exact names, any depth) whose values are never scrubbed.
  std::vector<std::string> pii_allowed_keys;
  /// Keep `context.ip` whole instead of truncating it to its /24 (IPv4) or /48 (IPv6).
  bool keep_raw_ip = false;
};

/// The privacy stage of ingest (decode -> validate -> enrich -> privacy -> dedup): applied to
/// every accepted event before it is written, so nothing it removes reaches the disk.
/// Thread-safe.
class PrivacyFilter {
 public:
  explicit PrivacyFilter(const PrivacyOptions& options);

  /// Scrubs `event`'s properties and context and truncates its context.ip, per the options.
  void Apply(event::Event* event) const;
  /// Apply to each event, in order. Consecutive events whose contexts have the same bytes (a
  /// page's events from tracker.js, enriched alike) share one scrub of it.
  void ApplyBatch(std::vector<event::Event>* events) const;

 private:
  void ScrubContext(event::Event* event) const;

  bool scrub_;
  bool truncate_ip_;
  PiiScrubber properties_;
  PiiScrubber context_;
};

}  // namespace ca::ingest
