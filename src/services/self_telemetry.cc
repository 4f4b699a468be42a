#include "services/self_telemetry.h"

#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <utility>

#include "base/clock.h"
#include "base/random.h"
#include "event/json_string.h"

namespace ca::services {
namespace {

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

/// `"key":"value"` appended to a JSON object being written (with a comma unless first).
void StringField(std::string_view key, std::string_view value, std::string* out) {
  if (out->back() != '{') out->push_back(',');
  event::AppendJsonString(key, out);
  out->push_back(':');
  event::AppendJsonString(value, out);
}

void RawField(std::string_view key, std::string_view raw, std::string* out) {
  if (out->back() != '{') out->push_back(',');
  event::AppendJsonString(key, out);
  out->push_back(':');
  out->append(raw);
}

}  // namespace

SelfTelemetry::SelfTelemetry(ingest::IngestPipeline* pipeline, Options options)
    : pipeline_(pipeline), options_(std::move(options)), thread_([this] { Run(); }) {}

SelfTelemetry::~SelfTelemetry() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  Flush();
}

void SelfTelemetry::Push(event::Event e) {
  e.tenant = options_.tenant;
  e.user_id = options_.node;
  e.event_id = RandomUuid();
  e.received_at_ms = NowMillis();
  e.timestamp_ms = e.received_at_ms;
  e.context_json = "{\"source\":\"self-telemetry\"}";
  std::lock_guard lock(mu_);
  if (queue_.size() >= options_.max_queued) {
    ++stats_.dropped;
    return;
  }
  ++stats_.recorded;
  queue_.push_back(std::move(e));
}

void SelfTelemetry::RecordRequest(std::string_view method, std::string_view route, int status,
                                  double latency_ms) {
  event::Event e;
  e.type = "perf_metric";
  e.properties_json = "{";
  StringField("name", "http_request", &e.properties_json);
  RawField("value", Number(latency_ms), &e.properties_json);
  StringField("unit", "ms", &e.properties_json);
  StringField("method", method, &e.properties_json);
  StringField("route", route, &e.properties_json);
  RawField("status", std::to_string(status), &e.properties_json);
  e.properties_json.push_back('}');
  Push(std::move(e));
}

void SelfTelemetry::RecordTask(std::string_view task, double duration_ms, bool ok,
                               std::string_view error) {
  event::Event run;
  run.type = "task_run";
  run.properties_json = "{";
  StringField("task", task, &run.properties_json);
  StringField("status", ok ? "success" : "failure", &run.properties_json);
  RawField("seconds", Number(duration_ms / 1000), &run.properties_json);
  run.properties_json.push_back('}');
  Push(std::move(run));
  if (ok) return;
  event::Event failure;
  failure.type = "error";
  failure.properties_json = "{";
  StringField("message", error, &failure.properties_json);
  StringField("task", task, &failure.properties_json);
  failure.properties_json.push_back('}');
  Push(std::move(failure));
}

SelfTelemetry::Stats SelfTelemetry::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void SelfTelemetry::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.flush_interval_ms));
    lock.unlock();
    Flush();
    lock.lock();
  }
}

void SelfTelemetry::Flush() {
  ingest::DecodedBatch batch;
  {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return;
    batch.events.swap(queue_);
  }
  const auto n = static_cast<uint32_t>(batch.events.size());
  batch.received = n;
  for (uint32_t i = 0; i < n; ++i) batch.event_indexes.push_back(i);
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  pipeline_->Commit(std::move(batch), [this, done, n](Result<ingest::Receipt> receipt) {
    {
      std::lock_guard lock(mu_);
      if (receipt.ok()) {
        stats_.committed += receipt->accepted;
      } else {
        stats_.failed += n;
      }
    }
    done->set_value();
  });
  finished.wait();
}

}  // namespace ca::services
