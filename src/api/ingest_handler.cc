#include "api/ingest_handler.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <utility>

#include <spdlog/spdlog.h>
#include "api/cors.h"

#include "base/clock.h"
#include "http/errors.h"
#include "ingest/body_key.h"

namespace ca::api {
namespace {

// Media types accepted for a JSON body. text/plain is what browsers' sendBeacon sends.
bool AcceptedContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  std::string lower(media);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower.empty() || lower == "application/json" || lower == "text/plain";
}

// Standard base64 (with or without padding); nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

std::string HeaderWriteKey(const http::Request& request) {
  std::string_view key = request.Header("x-write-key");
  if (!key.empty()) return std::string(key);
  std::string_view auth = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ", kBasic = "Basic ";
  if (auth.size() > kBearer.size() && auth.substr(0, kBearer.size()) == kBearer) {
    return std::string(auth.substr(kBearer.size()));
  }
  if (auth.size() > kBasic.size() && auth.substr(0, kBasic.size()) == kBasic) {
    std::optional<std::string> user_pass = DecodeBase64(auth.substr(kBasic.size()));
    if (!user_pass) return {};
    return user_pass->substr(0, user_pass->find(':'));
  }
  return {};
}

ingest::RequestContext RequestContextOf(const http::Request& request) {
  ingest::RequestContext context;
  context.do_not_track = request.Header("dnt") == "1" || request.Header("sec-gpc") == "1";
  context.client_ip = request.remote_address;
  context.user_agent = std::string(request.Header("user-agent"));
  return context;
}

http::Response ReceiptResponse(const ingest::Receipt& receipt) {
  nlohmann::ordered_json rejected = nlohmann::ordered_json::array();
  bool all_too_large = !receipt.rejected.empty();
  for (const auto& r : receipt.rejected) {
    rejected.push_back(
        {{"index", r.index}, {"code", ErrorCodeName(r.code)}, {"message", r.message}});
    all_too_large = all_too_large && r.code == ErrorCode::kEventTooLarge;
  }
  nlohmann::ordered_json body = {{"accepted", receipt.accepted},
                                 {"duplicates", receipt.duplicates},
                                 {"rejected", std::move(rejected)}};
  int status = 200;
  if (receipt.accepted + receipt.duplicates == 0) status = all_too_large ? 413 : 400;
  return http::Response::Json(status, body.dump());
}

void IngestHandler::Handle(http::Request& request, http::Responder respond) {
  const int64_t received_at = NowMillis();
  respond = WithCorsHeaders(request, std::move(respond));
  if (!AcceptedContentType(request.Header("content-type"))) {
    respond(http::ErrorResponse(Status(ErrorCode::kUnsupportedMediaType,
                                       "content type must be application/json or text/plain")));
    return;
  }

  // Authenticate before decoding, so that unauthenticated bodies cost little.
  std::string presented = HeaderWriteKey(request);
  if (presented.empty()) presented = ingest::ExtractBodyWriteKey(request.body);
  auto tenant = Authenticate(request, presented,
                             "X-Write-Key, Authorization: Bearer, or body field write_key");
  if (!tenant.ok()) {
    respond(http::ErrorResponse(tenant.status()));
    return;
  }
  std::string body = std::move(request.body);
  Commit(
      *tenant, received_at, [&body](const event::Catalogue&) { return std::move(body); },
      std::move(respond), DeadLetterSource(), RequestContextOf(request));
}

Result<std::string> IngestHandler::Authenticate(const http::Request& request,
                                                std::string_view presented,
                                                std::string_view where) {
  if (guards_.overloaded) {
    if (std::string why = guards_.overloaded(); !why.empty()) {
      return Status(ErrorCode::kOverloaded, "ingest is behind (" + why + "); retry shortly");
    }
  }
  if (presented.empty()) {
    return Status(ErrorCode::kUnauthorized, "missing write key: send " + std::string(where));
  }
  auto match = keys_->Lookup(presented);
  if (!match.ok()) return match.status();
  if (!match->has_value()) return Status(ErrorCode::kUnauthorized, "unknown write key");
  CA_RETURN_IF_ERROR(CheckOrigin(request, (*match)->allowed_origins));
  if (guards_.rate_limiter != nullptr) {
    if (int wait_s = guards_.rate_limiter->Acquire(presented); wait_s > 0) {
      return Status(ErrorCode::kRateLimited,
                    "this key sent more requests than its rate limit; retry in " +
                        std::to_string(wait_s) + " s");
    }
  }
  return (*match)->tenant;
}

void IngestHandler::CommitBody(
    const std::string& tenant, int64_t received_at,
    const std::function<std::string(const event::Catalogue&)>& make_body,
    const std::function<void(const std::vector<ingest::Rejection>&)>& on_rejected,
    ReceiptCallback done, const ingest::RequestContext& request) {
  auto catalogue = catalogues_->ForTenant(tenant);
  if (!catalogue.ok()) {
    done(catalogue.status());
    return;
  }
  std::shared_ptr<const services::TenantIngestRules> rules;
  // Held until the events are appended (or the request fails): a user deletion waits for the
  // requests that may have checked their events against the suppression list from before it.
  std::optional<ingest::IngestFence::Ticket> fence_ticket;
  if (rules_ != nullptr) {
    fence_ticket.emplace(rules_->Enter());
    auto found = rules_->ForTenant(tenant);
    if (!found.ok()) {
      done(found.status());
      return;
    }
    rules = *std::move(found);
  }
  const std::string body = make_body(*catalogue);
  ingest::DecodeOptions options;
  options.max_event_bytes = limits_.max_event_bytes;
  options.max_events = limits_.max_batch_events;
  options.received_at_ms = received_at;
  options.tenant = tenant;
  options.catalogue = &catalogue.value();
  options.keep_rejected_raw = static_cast<bool>(on_rejected);
  options.max_future_ms = ingest::kMaxFutureMs;
  options.max_late_ms = rules ? rules->max_late_ms : 0;
  if (enricher_ != nullptr) options.context_headroom = ingest::kContextHeadroom;
  auto batch = ingest::DecodeBatch(body, options);
  if (!batch.ok()) {
    done(batch.status());
    return;
  }
  for (auto& e : batch->events) e.tenant = tenant;
  std::vector<int64_t> late_days;
  if (rules) {
    ingest::ApplyTenantRules(rules->rules, request, received_at, &batch.value(), &late_days);
    batch->privacy = rules->privacy;
  }
  // Enrichment sees the raw IP; the privacy stage that follows (in Commit) truncates it.
  if (enricher_ != nullptr) enricher_->EnrichBatch(request, &batch->events);
  for (event::Event& e : batch->events) ingest::StripAnonymized(&e);
  if (on_rejected && !batch->rejected.empty()) {
    std::vector<ingest::Rejection> kept;
    for (const ingest::Rejection& r : batch->rejected) {
      if (!ingest::IsPrivacyRejection(r.code)) kept.push_back(r);
    }
    if (!kept.empty()) on_rejected(kept);
  }
  // The days are marked before the events are written: a recomputation too many is harmless, a
  // late event its day's rollup never sees is not.
  if (!late_days.empty() && state_ != nullptr) {
    if (Status s = state_->MarkRecomputeDays(tenant, late_days, NowMillis()); !s.ok()) {
      done(s);
      return;
    }
  }
  pipeline_->Commit(std::move(batch).value(), std::move(done));
}

void IngestHandler::KeepDeadLetters(const std::string& tenant, int64_t received_at,
                                    const DeadLetterSource& source,
                                    const std::vector<ingest::Rejection>& rejected) {
  std::vector<state::DeadLetter> letters;
  for (const ingest::Rejection& r : rejected) {
    state::DeadLetter letter;
    letter.received_at_ms = received_at;
    letter.code = std::string(ErrorCodeName(r.code));
    letter.message = r.message;
    letter.format = source.format;
    letter.raw = source.raw_of ? source.raw_of(r.index) : r.raw;
    letters.push_back(std::move(letter));
  }
  // A failure to keep them is logged, not answered: the client has each rejection already.
  if (Status s = state_->AddDeadLetters(tenant, letters, kMaxDeadLettersPerTenant); !s.ok()) {
    spdlog::warn("ingest: could not keep {} dead letter(s) of tenant {}: {}", letters.size(),
                 tenant, s.ToString());
  }
}

void IngestHandler::Commit(const std::string& tenant, int64_t received_at,
                           const std::function<std::string(const event::Catalogue&)>& make_body,
                           http::Responder respond, const DeadLetterSource& source,
                           const ingest::RequestContext& request) {
  std::function<void(const std::vector<ingest::Rejection>&)> keep;
  if (state_ != nullptr) {
    keep = [&](const std::vector<ingest::Rejection>& rejected) {
      KeepDeadLetters(tenant, received_at, source, rejected);
    };
  }
  CommitBody(
      tenant, received_at, make_body, keep,
      [respond = std::move(respond)](Result<ingest::Receipt> receipt) {
        respond(receipt.ok() ? ReceiptResponse(*receipt) : http::ErrorResponse(receipt.status()));
      },
      request);
}

}  // namespace ca::api
