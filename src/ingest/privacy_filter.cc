#include "ingest/privacy_filter.h"

#include <utility>

namespace ca::ingest {

PrivacyFilter::PrivacyFilter(const PrivacyOptions& options)
    : scrub_(options.scrub_pii),
      properties_(PiiScrubber::Options{options.pii_allowed_keys, false, options.scrub_pii}),
      context_(PiiScrubber::Options{options.pii_allowed_keys, !options.keep_raw_ip,
                                    options.scrub_pii}) {}

void PrivacyFilter::Apply(event::Event* event) const {
  std::string out;
  if (scrub_ && properties_.Scrub(event->properties_json, &out)) {
    event->properties_json = std::move(out);
  }
  if (context_.Scrub(event->context_json, &out, event->clean_context_tail)) {
    event->context_json = std::move(out);
    event->clean_context_tail = 0;  // rewritten whole: its tail moved, and is clean anyway
  }
}

}  // namespace ca::ingest
