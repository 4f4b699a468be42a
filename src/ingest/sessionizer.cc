#include "ingest/sessionizer.h"

#include <xxhash.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "event/json_string.h"
#include "ingest/tenant_key.h"

namespace ca::ingest {

Sessionizer::Sessionizer() : Sessionizer(Options()) {}
Sessionizer::Sessionizer(Options options) : options_(options) {}

SessionContext Sessionizer::Assign(std::string_view tenant, std::string_view sender,
                                   int64_t timestamp_ms, int64_t received_at_ms,
                                   SessionContext first) {
  const SessionSeed seed{first.entry_path, first.referrer_host, first.channel,
                         first.utm_source, first.utm_medium,    first.utm_campaign};
  SessionContext out;
  Visit(tenant, sender, timestamp_ms, received_at_ms, seed,
        [&](const SessionContext& context, const std::string&) { out = context; });
  return out;
}

void Sessionizer::Assign(std::string_view tenant, std::string_view sender, int64_t timestamp_ms,
                         int64_t received_at_ms, const SessionSeed& first, Rendered* out) {
  Visit(tenant, sender, timestamp_ms, received_at_ms, first,
        [&](const SessionContext& context, const std::string& members_after_id) {
          out->id.assign(context.id);
          out->members_after_id.assign(members_after_id);
        });
}

template <typename Use>
void Sessionizer::Visit(std::string_view tenant, std::string_view sender, int64_t timestamp_ms,
                        int64_t received_at_ms, const SessionSeed& first, Use use) {
  const uint64_t hash = TenantKeyHash(tenant, sender);
  Shard& shard = shards_[hash % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.open.find(hash);
  // Two senders with one 64-bit hash (about never): the later one takes the slot over.
  const bool same_sender =
      it != shard.open.end() && IsTenantKey(it->second.tenant_and_sender, tenant, sender);
  if (same_sender) {
    Open& s = it->second;
    if (timestamp_ms >= s.start_ms - options_.gap_ms &&
        timestamp_ms <= s.last_ms + options_.gap_ms) {
      s.start_ms = std::min(s.start_ms, timestamp_ms);
      s.last_ms = std::max(s.last_ms, timestamp_ms);
      s.touched_at_ms = received_at_ms;
      if (s.context.entry_path.empty() && first.has_page()) {
        // The session began without a page (an identify, a login): its first page is its entry.
        Seed(first, &s.context);
        s.members_after_id = RenderMembersAfterId(s.context);
      }
      use(s.context, s.members_after_id);
      return;
    }
    // Much earlier than the open session: an old session of its own, which does not replace
    // the open one. Later than the gap: a new session.
    if (timestamp_ms < s.start_ms) {
      SessionContext old;
      Seed(first, &old);
      old.id = SessionIdFor(hash, timestamp_ms);
      use(old, RenderMembersAfterId(old));
      return;
    }
  } else if (it == shard.open.end() && shard.open.size() >= options_.max_senders / kShards) {
    MakeRoom(shard, received_at_ms);
  }
  Open& s = shard.open[hash];
  s.tenant_and_sender = TenantKey(tenant, sender);
  Seed(first, &s.context);
  s.context.id = SessionIdFor(hash, timestamp_ms);
  s.members_after_id = RenderMembersAfterId(s.context);
  s.start_ms = s.last_ms = timestamp_ms;
  s.touched_at_ms = received_at_ms;
  use(s.context, s.members_after_id);
}

void Sessionizer::Seed(const SessionSeed& seed, SessionContext* context) {
  context->entry_path.assign(seed.entry_path);
  context->referrer_host.assign(seed.referrer_host);
  context->channel.assign(seed.channel);
  context->utm_source.assign(seed.utm_source);
  context->utm_medium.assign(seed.utm_medium);
  context->utm_campaign.assign(seed.utm_campaign);
}

std::string Sessionizer::RenderMembersAfterId(const SessionContext& context) {
  std::string out;
  auto add = [&](std::string_view key, std::string_view value) {
    if (value.empty()) return;
    out.push_back(',');
    event::AppendJsonString(key, &out);
    out.push_back(':');
    event::AppendJsonString(value, &out);
  };
  add("entry_path", context.entry_path);
  add("referrer_host", context.referrer_host);
  add("channel", context.channel);
  add("utm_source", context.utm_source);
  add("utm_medium", context.utm_medium);
  add("utm_campaign", context.utm_campaign);
  return out;
}

std::string Sessionizer::SessionIdFor(uint64_t sender_hash, int64_t start_ms) {
  uint64_t mixed = XXH3_64bits_withSeed(&start_ms, sizeof start_ms, sender_hash);
  // 16 letters a..p, one per 4 bits: no digits, so that an id never looks like a phone number to
  // the privacy stage (which then has nothing to scan for).
  std::string id = "s_";
  for (int i = 0; i < 16; ++i, mixed >>= 4) id.push_back(static_cast<char>('a' + (mixed & 15)));
  return id;
}

void Sessionizer::MakeRoom(Shard& shard, int64_t now_ms) {
  std::erase_if(shard.open, [&](const auto& entry) {
    return entry.second.touched_at_ms < now_ms - options_.gap_ms;
  });
  if (shard.open.size() < options_.max_senders / kShards) return;
  std::vector<int64_t> touched;
  touched.reserve(shard.open.size());
  for (const auto& [key, s] : shard.open) touched.push_back(s.touched_at_ms);
  auto middle = touched.begin() + static_cast<std::ptrdiff_t>(touched.size() / 2);
  std::nth_element(touched.begin(), middle, touched.end());
  const int64_t cutoff = *middle;
  std::erase_if(shard.open,
                [&](const auto& entry) { return entry.second.touched_at_ms <= cutoff; });
}

size_t Sessionizer::open_sessions() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.open.size();
  }
  return n;
}

}  // namespace ca::ingest
