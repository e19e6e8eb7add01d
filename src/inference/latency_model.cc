#include "inference/latency_model.h"

#include <algorithm>
#include <cmath>

namespace regiongate::inference {

LatencyModel::LatencyModel(LatencyParams params, const Clock& clock) : clock_(clock) {
  setParams(params);
}

void LatencyModel::setParams(LatencyParams params) {
  if (params.batch_slots == 0) params.batch_slots = 1;
  if (params.time_scale < 0) params.time_scale = 0;
  params_ = params;
  slot_free_at_.resize(params_.batch_slots, 0);
}

LatencyPlan LatencyModel::admit(uint64_t uncached_prompt_tokens, uint32_t output_tokens) {
  LatencyPlan plan;
  const double s = params_.time_scale;
  plan.output_tokens = output_tokens;
  plan.prefill_ms = s * (params_.ttft_fixed_ms + params_.prefill_ms_per_token *
                                                     static_cast<double>(uncached_prompt_tokens));
  plan.decode_ms_per_token = s * params_.decode_ms_per_token;
  if (s == 0) return plan;
  const int64_t now = clock_.nowNanos();
  auto slot = std::min_element(slot_free_at_.begin(), slot_free_at_.end());
  int64_t start = std::max(now, *slot);
  if (params_.serial_prefill) {
    // FIFO: this prefill follows the previous admitted one (admissions are serialised).
    start = std::max(start, prefill_free_at_);
    prefill_free_at_ = start + static_cast<int64_t>(std::llround(plan.prefill_ms * 1e6));
  }
  plan.queue_ms = static_cast<double>(start - now) / 1e6;
  const double service_ms = plan.totalMs() - plan.queue_ms;
  *slot = start + static_cast<int64_t>(std::llround(service_ms * 1e6));
  if (start > now) {
    pending_starts_.erase(std::remove_if(pending_starts_.begin(), pending_starts_.end(),
                                         [now](int64_t t) { return t <= now; }),
                          pending_starts_.end());
    pending_starts_.push_back(start);
  }
  return plan;
}

uint32_t LatencyModel::busySlots() const {
  const int64_t now = clock_.nowNanos();
  return static_cast<uint32_t>(std::count_if(slot_free_at_.begin(), slot_free_at_.end(),
                                             [now](int64_t t) { return t > now; }));
}

uint32_t LatencyModel::queued() const {
  const int64_t now = clock_.nowNanos();
  return static_cast<uint32_t>(std::count_if(pending_starts_.begin(), pending_starts_.end(),
                                             [now](int64_t t) { return t > now; }));
}

}  // namespace regiongate::inference
