#pragma once
// The routing policy interface shared by the gateway and the simulator (docs/routing.md).
//
// Threading: a Policy instance is NOT thread-safe and takes no locks. The gateway creates one
// instance per worker thread (each worker learns prefixes from the requests it routed); the
// simulator creates one per run. The only shared state a policy may read is the optional precise
// KV-event index (PolicyOptions::kv_events), which guards itself with a reader lock.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace regiongate::routing {

class KvEventIndex;

struct Candidate {
  uint32_t endpoint = 0;             // index into config.endpoints
  uint32_t in_flight = 0;            // current requests on it (from the gateway / simulator)
  double queue_ms = 0;               // estimated queueing delay (0 if unknown)
  double prefill_ms_per_token = 0;   // observed prefill rate; 0 = policy's learned / default
  uint32_t weight = 1;
  // True when queue_ms is a real estimate even if 0 (an idle endpoint); estimated_ttft then uses
  // queue_ms instead of in_flight * service_ms_per_request. The simulator sets it.
  bool queue_known = false;
};

struct RouteRequest {
  std::string_view jurisdiction;    // the prefix index is kept per jurisdiction (never shared)
  std::string_view model;
  std::span<const uint64_t> blocks;  // chained prefix block hashes of the prompt (promptBlocks)
  uint32_t tokens_per_block = 64;    // approx tokens in one block
  uint64_t prompt_tokens = 0;
  int64_t now_nanos = 0;
  // Precise mode only: chained token-block hashes (tokenBlocks) when token ids are known.
  std::span<const uint64_t> token_blocks;
  uint32_t tokens_per_token_block = 16;
};

struct PolicyOptions {
  // Prefix index (per jurisdiction and model, per policy instance).
  size_t index_capacity_blocks = 65536;  // LRU bound, blocks
  uint64_t index_ttl_ms = 600'000;       // a learned (block, endpoint) pair expires after this
  // consistent_hash
  uint32_t hash_key_blocks = 2;          // key = chained hash of the first K blocks
  uint32_t virtual_nodes = 64;           // ring points per unit of weight
  double bounded_load_factor = 1.25;     // c in "consistent hashing with bounded loads"; 0 = off
  // sglang_cache_aware (SGLang's cache-aware defaults)
  uint32_t balance_abs_threshold = 64;
  double balance_rel_threshold = 1.5;
  double cache_threshold = 0.3;
  // estimated_ttft
  double default_prefill_ms_per_token = 0.1;  // until learned / when the caller supplies none
  double service_ms_per_request = 25.0;       // queue estimate per in-flight request
  double fixed_ms = 0.0;                      // constant part of TTFT (same for every endpoint)
  double learn_alpha = 0.0;  // EWMA weight of onCompleted samples; 0 = off (caller supplies rate)
  // Weight of the uncached prefill in the score when the caller supplies real queue times
  // (Candidate::queue_ms / queue_known): a miss also costs the conversation's later turns (their
  // prefix now lives on two instances) and every request queued behind it. docs/routing.md.
  double miss_weight = 8.0;
  // Precise mode: vLLM KV events (shared, read-locked). Null = approximate index only.
  std::shared_ptr<const KvEventIndex> kv_events;

  bool operator==(const PolicyOptions&) const = default;
};

class Policy {
public:
  virtual ~Policy() = default;
  virtual std::string_view name() const = 0;
  // Returns an index into `candidates` (never empty when called). Candidates already tried are
  // removed by the caller.
  virtual size_t pick(const RouteRequest& req, std::span<const Candidate> candidates) = 0;
  // The request was sent to `endpoint`: learn its prefix.
  virtual void onRouted(const RouteRequest& req, uint32_t endpoint) {}
  // A peer (another worker of this gateway, or another replica in the same jurisdiction) routed
  // this prefix to `endpoint`: learn it as if routed here. Only the prefix index changes; the
  // request is not this worker's traffic. docs/operations.md "Several replicas".
  virtual void learnPeerRoute(const RouteRequest& req, uint32_t endpoint) {}
  virtual void onCompleted(uint32_t endpoint, const RouteRequest& req, double ttft_ms,
                           uint64_t cached_tokens) {}
};

enum class PolicyKind { RoundRobin, LeastLoaded, ConsistentHash, SglangCacheAware, EstimatedTtft };

std::string_view policyName(PolicyKind kind);
// A policy name as configured. The names before the rename are still accepted, flagged
// `deprecated` with the current name in `replacement`: prefix_tree (now sglang_cache_aware) and
// cache_aware (now estimated_ttft; SGLang's `cache_aware` is sglang_cache_aware).
struct ParsedPolicyName {
  PolicyKind kind = PolicyKind::EstimatedTtft;
  bool deprecated = false;
};
std::optional<ParsedPolicyName> parsePolicyName(std::string_view name);

std::unique_ptr<Policy> makePolicy(PolicyKind kind, const PolicyOptions& options,
                                   const Clock& clock);
// By name (current or deprecated, see parsePolicyName). Null if unknown.
std::unique_ptr<Policy> makePolicy(std::string_view name, const PolicyOptions& options,
                                   const Clock& clock);
// The current names, in PolicyKind order.
std::span<const std::string_view> policyNames();

}  // namespace regiongate::routing
