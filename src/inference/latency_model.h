#pragma once
// LatencyModel: when a mock request gets its first and later tokens.
//
//   prefill_ms = ttft_fixed_ms + prefill_ms_per_token * uncached_prompt_tokens
//   service_ms = prefill_ms + decode_ms_per_token * (output_tokens - 1)
//   TTFT       = queue_ms + prefill_ms
// `batch_slots` requests run at once; a request arriving when all slots are busy waits FIFO for
// the slot that frees first (an M/G/c queue with service times known at arrival, so the plan is
// computed once, at admission, with no callbacks). Every duration is multiplied by time_scale
// (0 = instant). A slot stays reserved for the planned service time even if the client leaves.
//
// Opt-in `serial_prefill` (the planner's instance model, docs/planner.md): prompts are prefilled
// one at a time, FIFO, on top of the slot limit. A request starts its prefill when a slot is free
// AND the previous admitted request's prefill has finished; decode is concurrent. The slot is held
// from prefill start to the last token, so the schedule is the simulator's (sim/instance.h) with
// the KV-cache lookup done at admission instead of at prefill start. Off by default: the default
// model runs up to batch_slots prefills in parallel.
//
// Defaults: calibrated from data/splitwise_perf_model.csv (llama2-70b, a100-80gb, TP=2,
// batch_size=1; least-squares fit of prompt_time on prompt_size, mean token_time); see
// docs/mock-backend.md.
//
// Not thread-safe: the owner serialises admit() (the mock server holds a mutex). Clock injected.
#include <cstdint>
#include <vector>

#include "common/clock.h"

namespace regiongate::inference {

struct LatencyParams {
  double prefill_ms_per_token = 0.3617;
  double decode_ms_per_token = 57.16;
  double ttft_fixed_ms = 8.58;
  uint32_t batch_slots = 16;
  double time_scale = 1.0;
  bool serial_prefill = false;  // one prefill at a time, FIFO (the planner's model); see above
  // Streaming: send token i at admission + tokenReadyMs(i) (absolute deadlines). Off: sleep
  // decode_ms_per_token after each chunk is written, so time spent writing adds up (a few % at
  // sub-millisecond scaled token times).
  bool exact_pacing = false;
};

// The schedule of one admitted request, in (scaled) milliseconds from admission.
struct LatencyPlan {
  double queue_ms = 0;    // waiting for a slot
  double prefill_ms = 0;  // fixed + per uncached token
  double decode_ms_per_token = 0;
  uint32_t output_tokens = 0;
  double ttftMs() const { return queue_ms + prefill_ms; }
  // Time from admission until output token i (0-based) is ready.
  double tokenReadyMs(uint32_t i) const { return ttftMs() + decode_ms_per_token * i; }
  double totalMs() const { return output_tokens == 0 ? ttftMs() : tokenReadyMs(output_tokens - 1); }
  // Streaming, the tokens after which a write goes out (ascending; the last is output_tokens - 1).
  // min_write_interval_ms <= 0: every token. Otherwise token 0 and the last token are written at
  // their own ready time, and after a write at token w's ready time the next one is at the first
  // token ready at least min_write_interval_ms later (it carries every token since w). Token
  // counts, the first token's time and the last token's time are the model's; a token in between
  // is delivered less than min_write_interval_ms + decode_ms_per_token late.
  std::vector<uint32_t> writePoints(double min_write_interval_ms) const;
};

class LatencyModel {
 public:
  LatencyModel(LatencyParams params, const Clock& clock);

  // Admits a request now: reserves the earliest-free slot and returns its schedule.
  LatencyPlan admit(uint64_t uncached_prompt_tokens, uint32_t output_tokens);
  // Slots busy at the current time (running requests, not counting the queued ones).
  uint32_t busySlots() const;
  // Requests admitted but not yet started (waiting for a slot) at the current time.
  uint32_t queued() const;

  const LatencyParams& params() const { return params_; }
  void setParams(LatencyParams params);

 private:
  LatencyParams params_;
  const Clock& clock_;
  std::vector<int64_t> slot_free_at_;    // nanos when each slot frees
  std::vector<int64_t> pending_starts_;  // start times of queued requests (pruned lazily)
  int64_t prefill_free_at_ = 0;          // serial_prefill: nanos when the running prefill ends
};

}  // namespace regiongate::inference
