#include "ingest/privacy_filter.h"

namespace ca::ingest {

PrivacyFilter::PrivacyFilter(const PrivacyOptions& options)
    : scrub_(options.scrub_pii),
      truncate_ip_(!options.keep_raw_ip),
      properties_(PiiScrubber::Options{options.pii_allowed_keys, false, options.scrub_pii}),
      context_(PiiScrubber::Options{options.pii_allowed_keys, !options.keep_raw_ip,
                                    options.scrub_pii}) {}

void PrivacyFilter::Apply(event::Event* event) const {
  if (scrub_) properties_.ScrubInPlace(&event->properties_json);
  ScrubContext(event);
}

void PrivacyFilter::ApplyBatch(std::vector<event::Event>* events) const {
  if (!scrub_ && !truncate_ip_) return;    // nothing to do: not even the comparisons
  const event::Event* previous = nullptr;  // when its context came as this one's
  for (size_t i = 0; i < events->size(); ++i) {
    event::Event& e = (*events)[i];
    // Compared before `e` is scrubbed: both as they came.
    const bool next_same = i + 1 < events->size() &&
                           (*events)[i + 1].clean_context_tail == e.clean_context_tail &&
                           (*events)[i + 1].context_json == e.context_json;
    if (scrub_) properties_.ScrubInPlace(&e.properties_json);
    if (previous != nullptr) {
      e.context_json = previous->context_json;
      e.clean_context_tail = previous->clean_context_tail;
    } else {
      ScrubContext(&e);
    }
    previous = next_same ? &e : nullptr;
  }
}

void PrivacyFilter::ScrubContext(event::Event* event) const {
  if (context_.ScrubInPlace(&event->context_json, event->clean_context_tail)) {
    event->clean_context_tail = 0;  // rewritten: its tail may have moved, and is clean anyway
  }
}

}  // namespace ca::ingest
