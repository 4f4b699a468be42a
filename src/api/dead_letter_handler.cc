#include "api/dead_letter_handler.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/auth.h"
#include "event/timestamp.h"
#include "http/errors.h"
#include "ingest/sdk_formats.h"

namespace ca::api {
namespace {

/// The native batch body that replays `letter` (its raw event read per its format); "" when the
/// raw event no longer parses, which the decoder then refuses.
std::string ReplayBody(const state::DeadLetter& letter, const event::Catalogue& catalogue) {
  if (letter.format == "native") return "{\"events\":[" + letter.raw + "]}";
  Result<ingest::SdkBody> sdk = Status(ErrorCode::kBadRequest, "unknown dead-letter format");
  if (letter.format == "segment") {
    sdk = ingest::SdkBody::Parse(ingest::SdkFormat::kSegment, "batch",
                                 "{\"batch\":[" + letter.raw + "]}", ingest::kSdkMaxDepth, 1);
  } else if (letter.format.starts_with("segment:")) {
    sdk = ingest::SdkBody::Parse(ingest::SdkFormat::kSegment, letter.format.substr(8), letter.raw,
                                 ingest::kSdkMaxDepth, 1);
  } else if (letter.format == "posthog") {
    sdk = ingest::SdkBody::Parse(ingest::SdkFormat::kPostHog, "", letter.raw, ingest::kSdkMaxDepth,
                                 1);
  }
  return sdk.ok() ? sdk->ToNative(catalogue) : std::string();
}

Result<int64_t> IntParam(const http::Request& request, std::string_view name, int64_t fallback,
                         int64_t min, int64_t max) {
  const std::string text = request.QueryParam(name);
  if (text.empty()) return fallback;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Status(ErrorCode::kBadRequest, std::string(name) + ": must be an integer from " +
                                              std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

/// What one replay request adds up, answered when the last letter is done.
struct Replay {
  std::mutex mu;
  size_t remaining = 0;
  std::vector<int64_t> resolved;  // accepted or already stored: deleted at the end
  uint64_t accepted = 0, duplicates = 0, still_rejected = 0, failed = 0;
  std::string tenant;
  state::StateStore* state = nullptr;
  http::Responder respond;
  std::promise<void> all_done;

  // Runs where the commit's answer comes: mostly the WAL's sync thread, which every ingest
  // request waits for. So it only counts; Finish writes to the state store.
  void Done(int64_t id, const Result<ingest::Receipt>& receipt) {
    std::lock_guard lock(mu);
    if (receipt.ok() && receipt->accepted + receipt->duplicates > 0) {
      resolved.push_back(id);
      accepted += receipt->accepted;
      duplicates += receipt->duplicates;
    } else if (receipt.ok() || receipt.status().code() == ErrorCode::kMalformedJson ||
               receipt.status().code() == ErrorCode::kBadRequest) {
      ++still_rejected;
    } else {
      ++failed;  // could not be written (disk full...): kept, try again later
    }
    if (--remaining == 0) all_done.set_value();
  }

  // After the last Done: deletes the replayed letters and answers.
  void Finish() {
    std::lock_guard lock(mu);
    Status deleted = state->DeleteDeadLetters(tenant, resolved);
    if (!deleted.ok()) {
      respond(http::ErrorResponse(deleted));
      return;
    }
    const nlohmann::ordered_json body = {{"replayed", resolved.size() + still_rejected + failed},
                                         {"accepted", accepted},
                                         {"duplicates", duplicates},
                                         {"still_rejected", still_rejected},
                                         {"failed", failed}};
    respond(http::Response::Json(200, body.dump()));
  }
};

}  // namespace

void DeadLetterHandler::HandleList(http::Request& request, http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  auto after = IntParam(request, "after", 0, 0, INT64_MAX);
  auto limit = IntParam(request, "limit", 100, 1, kMaxPerRequest);
  for (const Status& s : {reader.status(), after.status(), limit.status()}) {
    if (!s.ok()) {
      respond(http::ErrorResponse(s));
      return;
    }
  }
  const std::string& tenant = reader->tenant;
  auto letters = state_->ListDeadLetters(tenant, *after, static_cast<size_t>(*limit));
  auto total = state_->CountDeadLetters(tenant);
  if (!letters.ok() || !total.ok()) {
    respond(http::ErrorResponse(letters.ok() ? total.status() : letters.status()));
    return;
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const state::DeadLetter& d : *letters) {
    nlohmann::ordered_json event = nlohmann::ordered_json::parse(d.raw, nullptr, false);
    if (event.is_discarded()) event = d.raw;  // kept as text when it is not JSON
    list.push_back({{"id", d.id},
                    {"received_at", event::FormatIso8601Millis(d.received_at_ms)},
                    {"code", d.code},
                    {"message", d.message},
                    {"format", d.format},
                    {"event", std::move(event)}});
  }
  nlohmann::ordered_json body = {{"total", *total}, {"dead_letters", std::move(list)}};
  body["next_after"] = letters->size() == static_cast<size_t>(*limit)
                           ? nlohmann::ordered_json(letters->back().id)
                           : nlohmann::ordered_json(nullptr);
  respond(http::Response::Json(200, body.dump()));
}

void DeadLetterHandler::HandleReplay(http::Request& request, http::Responder respond) {
  auto reader = auth_->TenantReader(request);
  if (!reader.ok()) {
    respond(http::ErrorResponse(reader.status()));
    return;
  }
  auto tenant = std::move(reader->tenant);
  // Optional body {"ids": [...]}: only those; else the oldest kMaxPerRequest.
  std::vector<int64_t> ids;
  if (!request.body.empty()) {
    auto spec = nlohmann::json::parse(request.body, nullptr, false);
    const bool ok = spec.is_object() && (!spec.contains("ids") || spec["ids"].is_array());
    if (ok && spec.contains("ids")) {
      for (const auto& id : spec["ids"]) {
        if (!id.is_number_integer()) {
          respond(http::ErrorResponse(Status(ErrorCode::kBadRequest, "ids: integers only")));
          return;
        }
        ids.push_back(id.get<int64_t>());
      }
    }
    if (!ok || ids.size() > kMaxPerRequest) {
      respond(http::ErrorResponse(Status(
          ErrorCode::kBadRequest, "body: {\"ids\": [up to 1000 dead-letter ids]}, or empty")));
      return;
    }
  }
  std::vector<state::DeadLetter> letters;
  int64_t after = 0;
  while (letters.size() < kMaxPerRequest) {
    auto page = state_->ListDeadLetters(tenant, after, kMaxPerRequest);
    if (!page.ok()) {
      respond(http::ErrorResponse(page.status()));
      return;
    }
    for (auto& d : *page) {
      if ((ids.empty() || std::find(ids.begin(), ids.end(), d.id) != ids.end()) &&
          letters.size() < kMaxPerRequest) {
        letters.push_back(std::move(d));
      }
    }
    if (page->size() < kMaxPerRequest || ids.empty()) break;
    after = page->back().id;
  }

  auto replay = std::make_shared<Replay>();
  replay->remaining = letters.size();
  replay->tenant = tenant;
  replay->state = state_;
  replay->respond = respond;
  if (letters.empty()) {
    respond(http::Response::Json(
        200, R"({"replayed":0,"accepted":0,"duplicates":0,"still_rejected":0,"failed":0})"));
    return;
  }
  std::future<void> all_done = replay->all_done.get_future();
  for (const state::DeadLetter& letter : letters) {
    ingest_->CommitBody(
        tenant, letter.received_at_ms,
        [&letter](const event::Catalogue& catalogue) { return ReplayBody(letter, catalogue); }, {},
        [replay, id = letter.id](Result<ingest::Receipt> r) { replay->Done(id, r); });
  }
  // A replay is an operator's rare request: its HTTP thread waits for the commits (a sync or
  // two) and does the state store's write itself, off the WAL's sync thread.
  all_done.wait();
  replay->Finish();
}

}  // namespace ca::api
