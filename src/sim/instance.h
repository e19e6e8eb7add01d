#pragma once
// Instance: the simulator's model of one inference server (one GPU running vLLM-style
// continuous batching). docs/planner.md "Instance model" explains the approximations.
//
//  * KV cache: inference::KvCache (the mock backend's LRU block cache), `kv_tokens` of capacity in
//    blocks of `block_tokens`. A request's blocks are looked up (longest cached prefix) when its
//    prefill starts and inserted then (vLLM allocates them at scheduling).
//  * Batch slots: at most `batch_slots` requests are admitted at once (vLLM max_num_seqs); later
//    arrivals wait FIFO for a slot. A slot is held from prefill start to the last output token.
//  * Prefill: one prompt at a time, FIFO (the GPU's compute is the bottleneck; chunked prefill
//    interleaves decode steps but the prompts' compute is serial), taking
//    ttft_fixed_ms + prefill_ms_per_token * uncached_tokens. TTFT = arrival -> end of prefill.
//  * Decode: concurrent in the batch, decode_ms_per_token per output token after the first, not
//    slowed by the batch size and not stalling prefill (continuous batching approximated).
//
// The parameters default to Llama-3.1-8B on one 80 GB H100-class GPU (docs/planner.md).
// Not thread-safe; owned by one simulation run.
#include <cstdint>
#include <deque>
#include <vector>

#include "inference/kv_cache.h"
#include "inference/latency_model.h"

namespace regiongate::sim {

struct InstanceParams {
  uint64_t kv_tokens = 450'000;        // (80 GB - 16 GB weights - ~5 GB headroom) / 128 KiB
  uint32_t block_tokens = 512;
  double prefill_ms_per_token = 0.1;   // ~10k tokens/s prefill
  double ttft_fixed_ms = 10.0;
  double decode_ms_per_token = 15.0;
  uint32_t batch_slots = 32;

  // The mock backend's latency parameters (same meaning, same units).
  static InstanceParams fromLatency(const inference::LatencyParams& p, uint64_t kv_tokens,
                                    uint32_t block_tokens);
  double prefillMs(uint64_t uncached_tokens) const {
    return ttft_fixed_ms + prefill_ms_per_token * double(uncached_tokens);
  }
};

// A request waiting in or running on an instance (indices into the run's tables).
struct InstanceJob {
  uint32_t request = 0;
  double est_prefill_ms = 0;  // estimate at admission (for the queue estimate)
};

class Instance {
public:
  Instance(uint32_t id, const InstanceParams& params)
      : id_(id), params_(params), cache_(params.kv_tokens, params.block_tokens) {}

  uint32_t id() const { return id_; }
  const InstanceParams& params() const { return params_; }
  inference::KvCache& cache() { return cache_; }

  // Longest cached prefix of `blocks` in blocks, without touching the LRU order.
  size_t peekCachedBlocks(const std::vector<uint64_t>& blocks) const;
  // Estimated queueing before a new request's prefill could start, ms: the rest of the running
  // prefill plus the estimated prefill of every waiting request.
  double backlogMs(double now_ms) const;
  // As the router counts them: also requests routed here and not arrived yet, and requests
  // finished whose end the router has not heard of yet (TraceRequest::transit_ms, return_ms).
  uint32_t inFlight() const { return uint32_t(waiting_.size()) + running_ + unseen_; }

  // State, driven by the simulation (sim/simulation.cc).
  std::deque<InstanceJob> waiting_;
  double waiting_work_ms_ = 0;
  bool prefilling_ = false;
  double prefill_end_ms_ = 0;
  uint32_t running_ = 0;  // slots held (prefilling + decoding)
  uint32_t unseen_ = 0;   // in transit to it, or finished and not yet heard of by the router
  bool up_ = true;
  // Totals.
  uint64_t requests_ = 0;
  double prefill_busy_ms_ = 0;
  double decode_ms_ = 0;

private:
  uint32_t id_;
  InstanceParams params_;
  inference::KvCache cache_;
};

}  // namespace regiongate::sim
