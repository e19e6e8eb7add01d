#pragma once
// A small bounded sample of recent prompt bodies per key "jurisdiction|region|model", for cache
// pre-warm (docs/rollouts.md "Cache pre-warm"). The routing prefix index keeps only hashes; to
// replay a region's hottest prefixes to a green endpoint we need real bodies, so this keeps, per
// key, at most `capacity` prefix entries (block-chain hash -> hit count, prefix depth, the first
// body seen with that prefix, at most kMaxBodyBytes). It lives in the jurisdiction's own gateway
// process memory only: never persisted, never sent anywhere but that region's green endpoints.
//
// Thread-safety: record() is called by data-plane workers (one short mutex section; a body is
// copied only when a new prefix entry is created); hottest() by the control plane.
#include <cstdint>
#include <map>
#include <memory>
#include <atomic>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace regiongate::rollout {

class PromptSampler {
public:
  static constexpr size_t kMaxBodyBytes = 32 * 1024;
  static constexpr size_t kMaxDepth = 8;  // prefix blocks counted per request

  explicit PromptSampler(size_t capacity) : capacity_(capacity), enabled_(capacity > 0) {}

  static std::string key(std::string_view jurisdiction, std::string_view region,
                         std::string_view model);
  void record(const std::string& key, std::span<const uint64_t> blocks, std::string_view body);
  // Up to `k` distinct bodies, hottest first (score = hits x prefix depth, i.e. tokens a warm
  // cache saves), from every key whose region and model match.
  std::vector<std::string> hottest(std::string_view region, std::string_view model, size_t k) const;
  size_t entries(const std::string& key) const;
  void setCapacity(size_t capacity) {
    std::lock_guard lock(mu_);
    capacity_ = capacity;
    enabled_.store(capacity > 0, std::memory_order_relaxed);
  }
  // Lock-free: read on every request.
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }

private:
  struct Entry {
    uint64_t hits = 0;
    uint32_t depth = 0;
    uint64_t last = 0;
    std::shared_ptr<const std::string> body;
  };
  struct Bucket {
    std::unordered_map<uint64_t, Entry> entries;
    uint64_t tick = 0;
  };
  void evict(Bucket& b);

  size_t capacity_;
  std::atomic<bool> enabled_;
  mutable std::mutex mu_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

// The body replayed for pre-warm: the sampled request with max_tokens 1, non-streaming
// (stream, stream_options, n, max_tokens, max_completion_tokens dropped and replaced). Empty on
// invalid JSON.
std::string prewarmBody(std::string_view body);

}  // namespace regiongate::rollout
