#pragma once
// Simulation: replays a Trace over a set of Instances grouped into pools (one per jurisdiction),
// routing every request with a routing::Policy — the same objects the gateway uses, through the
// same interface (the caller owns the policy, so a test double can be passed in). The policy's
// prefix index is keyed by the request's jurisdiction, so caches and cache knowledge stay inside
// a jurisdiction. Time is simulated (EventEngine + ManualClock); no real time is read.
//
// Per request: arrival -> pool's live instances become Candidates (in_flight, queue estimate,
// prefill rate) -> policy.pick -> policy.onRouted -> instance queue -> prefill (TTFT) ->
// policy.onCompleted -> decode -> done. A request whose pool has no live instance is a typed 503
// (residency_pool_exhausted): it never leaves its pool.
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "routing/policy.h"
#include "sim/instance.h"
#include "sim/trace.h"

namespace regiongate::sim {

struct InstanceSpec {
  std::string name;
  std::string region;
  InstanceParams params;
};

struct PoolSpec {
  std::string jurisdiction;
  std::vector<uint32_t> instances;  // indices into SimConfig::instances
};

struct CacheFlush {  // a rollout: new model version -> the instances' KV caches are emptied
  double at_ms = 0;
  std::vector<uint32_t> instances;
  std::string label;
};

struct Outage {  // instances down from from_ms to to_ms (not candidates; cache lost on return)
  double from_ms = 0;
  double to_ms = 0;
  std::vector<uint32_t> instances;
  std::string label;
};

struct SimConfig {
  std::vector<InstanceSpec> instances;
  std::vector<PoolSpec> pools;
  std::string model = "llama-3.1-8b";
  std::vector<CacheFlush> flushes;
  std::vector<Outage> outages;
  // Give the policy each candidate's queue estimate (Candidate::queue_ms, queue_known) and
  // prefill rate. The gateway can estimate both from the requests it has in flight.
  bool expose_queue = true;
  // Call policy.onRouted when the request's first token is out instead of when it is routed: the
  // gateway's proxy tells the policy where a request went only when the upstream's response head
  // arrives (gateway/proxy.cc), so requests routed meanwhile do not see its prefix there yet.
  bool learn_at_first_token = false;
};

constexpr uint32_t kNoInstance = std::numeric_limits<uint32_t>::max();

struct RequestOutcome {
  uint32_t pool = 0;
  uint32_t instance = kNoInstance;  // kNoInstance = 503 (no live instance in the pool)
  double arrival_ms = 0;
  double ttft_ms = 0;
  double done_ms = 0;
  uint32_t input_tokens = 0;
  uint32_t output_tokens = 0;
  uint32_t cached_tokens = 0;
  uint32_t blocks = 0;
  uint32_t hit_blocks = 0;
};

struct InstanceTotals {
  uint64_t requests = 0;
  double prefill_busy_ms = 0;
  double decode_ms = 0;
};

struct SimResult {
  std::vector<RequestOutcome> outcomes;  // in trace order
  std::vector<InstanceTotals> instances;
  double start_ms = 0;  // first arrival
  double end_ms = 0;    // last request completed (the traffic's end, not the last event)
  uint64_t events = 0;
  double spanMs() const { return end_ms - start_ms; }
};

// `pool_of_request[i]` = index into config.pools for trace request i.
using ProgressFn = std::function<void(size_t done, size_t total)>;
SimResult runSimulation(const SimConfig& config, const Trace& trace,
                        std::span<const uint32_t> pool_of_request, routing::Policy& policy,
                        const ProgressFn& progress = {});

// Shared-cache ceiling: the hit rate (blocks) of one unbounded cache seeing every request in
// order, and of one LRU cache of `capacity_tokens` (0 = unbounded).
struct CeilingResult {
  double block_hit_rate = 0;
  double token_hit_rate = 0;
};
CeilingResult sharedCacheCeiling(const Trace& trace, uint64_t capacity_tokens = 0);

// Summary helpers.
struct Summary {
  uint64_t requests = 0;
  uint64_t served = 0;
  uint64_t input_tokens = 0;
  uint64_t cached_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t blocks = 0;
  uint64_t hit_blocks = 0;
  double ttft_mean = 0, ttft_p50 = 0, ttft_p90 = 0, ttft_p99 = 0;
  double blockHitRate() const { return blocks ? double(hit_blocks) / double(blocks) : 0; }
  double tokenHitRate() const {
    return input_tokens ? double(cached_tokens) / double(input_tokens) : 0;
  }
  double availability() const { return requests ? double(served) / double(requests) : 1; }
};
// Over the outcomes for which `keep` is true.
Summary summarise(const SimResult& r, const std::function<bool(const RequestOutcome&)>& keep);

}  // namespace regiongate::sim
