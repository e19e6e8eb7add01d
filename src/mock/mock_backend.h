#pragma once
// MockBackend: an OpenAI-compatible inference server that behaves like vLLM where the gateway and
// the planner care: KV-cache reuse (kv_cache.h), prefill/decode time and queueing
// (latency_model.h), model versions, region evidence and faults (faults.h).
// See docs/mock-backend.md for the endpoints and every option.
//
// Several instances can live in one process (the demo): each owns its HttpServer and threads.
// Thread-safety: start()/stop() from one owner thread; setFaults(), setVersion(), faults(),
// stats() from any thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "inference/latency_model.h"
#include "mock/faults.h"

namespace regiongate::mock {

struct ModelSpec {
  std::string name;
  std::string version = "v1";
};
// "NAME" or "NAME@VERSION" (version defaults to v1).
Result<ModelSpec> parseModelSpec(std::string_view spec);

enum class StreamUsage { Always, Requested };

// When a stream's first token was due and written (MockOptions::on_first_token).
struct FirstTokenTiming {
  std::string request_id;                           // x-regiongate-request-id, as received
  std::chrono::steady_clock::time_point admitted;   // the latency model's admission
  std::chrono::steady_clock::time_point due;        // admitted + the modelled TTFT (scaled)
  std::chrono::steady_clock::time_point written;    // the first chunk was handed to the socket
};

struct MockOptions {
  std::string region;                 // required: reported in x-inference-region
  std::string listen = "127.0.0.1:0";
  std::vector<ModelSpec> models;      // at least one
  size_t workers = 1;
  uint64_t cache_tokens = 262144;     // KV-cache capacity per model, in tokens
  uint32_t block_tokens = 16;
  inference::LatencyParams latency;
  uint32_t output_tokens = 16;        // tokens generated when the request does not ask fewer
  StreamUsage stream_usage = StreamUsage::Always;  // final usage chunk in streams
  // Streams: tokens ready less than this many wall ms after the previous write are written with
  // a later one (several SSE events, one per token, in one chunk); the first and the last token
  // keep their modelled times (inference::LatencyPlan::writePoints). 0 = one write per token.
  // Lets a replay at a tiny time scale stream without one timer and one write per token.
  double stream_min_write_ms = 0;
  // In-process callers only (plan-validate): called on the worker thread after a stream's first
  // chunk is written; must be thread-safe and quick. Empty = not called.
  std::function<void(const FirstTokenTiming&)> on_first_token;
  FaultConfig faults;
  double divergence = 0;              // fraction of prompts whose output is perturbed
  std::string request_log;            // path; empty = none
  bool admin = true;                  // /admin/* endpoints on the same listener
  std::string kv_events;              // ZMQ endpoint to publish KV events on; empty = none
  std::string kv_events_topic;
  uint64_t seed = 1;                  // random draws for error_rate / report_fraction
  const Clock* clock = nullptr;       // default SystemClock (latency model, timestamps)
};

struct MockStats {
  uint64_t requests = 0;            // every request received (all paths)
  uint64_t inference_requests = 0;  // chat + text completions
  uint64_t stream_requests = 0;
  uint64_t bad_requests = 0;        // 4xx from parsing / unknown model
  uint64_t errors_injected = 0;
  uint64_t hung = 0;
  uint64_t closed_mid_stream = 0;
  uint64_t reported_other_region = 0;
  uint64_t prompt_tokens = 0;
  uint64_t cached_tokens = 0;
  uint64_t completion_tokens = 0;
  uint64_t in_flight = 0;
  uint64_t cache_blocks = 0;        // summed over models
  uint64_t evicted_blocks = 0;
  uint32_t busy_slots = 0;
  uint32_t queued = 0;
};

class MockBackend {
public:
  explicit MockBackend(MockOptions options);
  ~MockBackend();
  MockBackend(const MockBackend&) = delete;
  MockBackend& operator=(const MockBackend&) = delete;

  // Validates options, opens the request log / KV-event socket, binds and starts serving.
  Status start();
  uint16_t port() const;
  // Stops serving; in-flight requests get up to `deadline_ms`, hung ones are dropped. Idempotent.
  void stop(uint32_t deadline_ms = 200);

  void setFaults(const FaultConfig& faults);
  FaultConfig faults() const;
  // Changes a model's version and empties its KV cache (as a real model update does).
  Status setVersion(const std::string& model, const std::string& version);
  std::string version(const std::string& model) const;
  MockStats stats() const;
  std::string statsJson() const;
  const MockOptions& options() const;
  // The bound KV-event endpoint after start() (wildcard ports resolved); empty when disabled.
  std::string kvEventsEndpoint() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

Status validateOptions(const MockOptions& options);

}  // namespace regiongate::mock
