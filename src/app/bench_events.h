#pragma once

#include <cstdint>
#include <string>

namespace ca::app {

/// Synthetic events of about 300 bytes for benchmarks: unique ids from `first_id`, a handful of
/// event types with their required properties, user and session ids, a page context.
/// `NativeBatch` is a body for POST /api/analytics/events; `ClickHouseRows` the same events as
/// JSONEachRow lines for ClickHouse's HTTP insert (columns: event_id, type, user_id, session_id,
/// ts, properties).
std::string NativeBatch(uint64_t first_id, int count, int64_t timestamp_ms);
/// The same events with what a browser sends in `context` (for the enrichment benchmark): one of
/// a dozen real user agents, a client IP among 50,000, a page URL (with UTM parameters on one
/// event in eight) and a referrer; no session id, so that the server sessionises them.
std::string NativeBatchWithBrowserContext(uint64_t first_id, int count, int64_t timestamp_ms);
/// Browser events as browsers send them: visits of 10 events (one tracker.js batch) by one user
/// from one IP and user agent, three events per page, the landing page with a referrer (and UTM
/// parameters on one visit in eight), later pages referred by the previous one.
std::string NativeBatchOfVisits(uint64_t first_id, int count, int64_t timestamp_ms);
std::string ClickHouseRows(uint64_t first_id, int count, int64_t timestamp_ms);

}  // namespace ca::app
