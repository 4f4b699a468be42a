#pragma once

#include <string>

namespace ca::ingest {

/// What the HTTP request that carried a batch says about its sender, for the stages after
/// decoding (consent, enrichment). Empty for imports and replays.
struct RequestContext {
  /// `DNT: 1` or `Sec-GPC: 1`: consent is withheld for every event of the request.
  bool do_not_track = false;
  /// The peer address, used for geo when an event has no `context.ip`.
  std::string client_ip;
  /// The User-Agent header, used when an event has no `context.user_agent`.
  std::string user_agent;
};

}  // namespace ca::ingest
