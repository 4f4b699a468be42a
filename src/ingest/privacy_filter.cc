#include "ingest/privacy_filter.h"

namespace ca::ingest {

PrivacyFilter::PrivacyFilter(const PrivacyOptions& options)
    : scrub_(options.scrub_pii),
      properties_(PiiScrubber::Options{options.pii_allowed_keys, false, options.scrub_pii}),
      context_(PiiScrubber::Options{options.pii_allowed_keys, !options.keep_raw_ip,
                                    options.scrub_pii}) {}

void PrivacyFilter::Apply(event::Event* event) const {
  if (scrub_) properties_.ScrubInPlace(&event->properties_json);
  if (context_.ScrubInPlace(&event->context_json, event->clean_context_tail)) {
    event->clean_context_tail = 0;  // rewritten: its tail may have moved, and is clean anyway
  }
}

}  // namespace ca::ingest
