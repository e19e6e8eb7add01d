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

std::vector<uint32_t> LatencyPlan::writePoints(double min_write_interval_ms) const {
  std::vector<uint32_t> points;
  if (output_tokens == 0) return points;
  // Tokens between two writes: the first one ready at least the interval after the last write.
  uint32_t step = 1;
  if (min_write_interval_ms > 0)
    step = decode_ms_per_token > 0
               ? static_cast<uint32_t>(std::min<double>(
                     output_tokens, std::max(1.0, std::ceil(min_write_interval_ms /
                                                            decode_ms_per_token - 1e-9))))
               : output_tokens;  // every token is ready at TTFT: the first, then the rest at once
  points.push_back(0);
  for (uint64_t i = step; i < output_tokens - 1; i += step) points.push_back(uint32_t(i));
  if (output_tokens > 1) points.push_back(output_tokens - 1);
  return points;
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
