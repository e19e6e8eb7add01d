#pragma once
// Workloads for the simulator: the Mooncake trace format and a seedable synthetic generator.
//
// Mooncake (kvcache-ai/Mooncake, FAST25-release/traces): one JSON object per line,
//   {"timestamp": ms since start, "input_length": tokens, "output_length": tokens,
//    "hash_ids": [int, ...]}
// plus, as our extension, an optional "session_id": int naming the conversation a request
// belongs to (it then replaces the key derived from the blocks).
// Each hash id names one 512-token prompt block; equal ids at equal positions are a reusable
// prefix. In the conversation trace every request starts with the same block (a shared system
// prompt). We turn the ids into chained 64-bit hashes (block i = chainHash(block i-1, id i)), the
// same shape routing::promptBlocks produces, so the routing policies see ordinary prefix blocks.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace regiongate::sim {

struct TraceRequest {
  double arrival_ms = 0;
  uint32_t input_tokens = 0;
  uint32_t output_tokens = 0;
  std::vector<uint64_t> blocks;  // chained prefix hashes, one per (possibly partial) block
  uint64_t conversation = 0;     // key that keeps a conversation together (see conversationKey)
  bool has_session = false;      // `conversation` comes from an explicit session id
  // Simulated ms (not scaled by time_scale), 0 for a trace. plan-validate sets them to what it
  // measured per request: the request is routed at arrival_ms but reaches its instance
  // transit_ms later, and the router hears of its first token and of its end return_ms after
  // they happen (the gateway's view: in flight from routing until it has read the end).
  double transit_ms = 0;
  double return_ms = 0;
};

struct Trace {
  std::vector<TraceRequest> requests;  // sorted by arrival
  uint32_t tokens_per_block = 512;
  std::string source;
  double durationMs() const {
    return requests.empty() ? 0 : requests.back().arrival_ms - requests.front().arrival_ms;
  }
  uint64_t inputTokens() const;
  uint64_t outputTokens() const;
};

// Chained hash of a raw block id (the Mooncake hash id) onto its parent.
uint64_t chainBlockId(uint64_t parent, uint64_t id);

// The conversation key: the chained hash of the first block after the shared first block (block
// 1), which every later turn of the same conversation repeats. A one-block request has no such
// block; it gets a key from its position in the trace (it is its own conversation).
uint64_t conversationKey(const std::vector<uint64_t>& blocks, uint64_t fallback);

// One line. Errors name the problem (Error::code "invalid_trace").
Result<TraceRequest> parseMooncakeLine(std::string_view line);
// Whole file / text; blank lines are skipped; `limit` > 0 keeps the first `limit` requests.
Result<Trace> parseMooncakeTrace(std::string_view text, size_t limit = 0);
Result<Trace> readMooncakeTrace(const std::string& path, size_t limit = 0);

// Synthetic workload: tenants with a shared system prompt each, multi-turn sessions (each turn
// repeats the whole conversation so far and appends the new user message), Poisson or bursty
// (two-state Markov-modulated Poisson) arrivals. Deterministic for a given seed.
struct SyntheticOptions {
  uint64_t seed = 1;
  size_t requests = 10000;
  uint32_t tokens_per_block = 512;
  uint32_t tenants = 8;
  uint32_t system_prompt_blocks = 4;  // shared by every session of one tenant
  double rate_per_s = 5.0;            // mean arrival rate
  bool bursty = false;
  double burst_factor = 4.0;          // rate multiplier while in a burst
  double burst_fraction = 0.2;        // long-run share of time in bursts
  double burst_mean_s = 30.0;         // mean length of one burst
  double mean_turns = 4.0;            // geometric number of turns per session
  uint32_t max_active_sessions = 256; // open conversations a new turn is drawn from
  uint32_t mean_user_blocks = 2;      // new blocks per turn (user message + previous answer)
  uint32_t max_blocks = 64;           // a conversation stops growing here (context window)
  uint32_t mean_output_tokens = 300;
  double tenant_skew = 0;             // 0: tenants equally popular; s > 0: Zipf(s) popularity
};
// A session's requests share its conversation key (the key a session_id of the session's
// number reads back as), so jurisdictions are assigned per user session, not per tenant.
Trace generateSynthetic(const SyntheticOptions& options);

// The trace as Mooncake JSONL: timestamps rounded to ms, block hashes renumbered as small ids,
// and a "session_id" per line (conversations numbered by first appearance).
std::string writeMooncakeTrace(const Trace& trace);

// Multiplies every arrival by `factor` (> 1 spreads, < 1 compresses); bursts keep their shape.
void scaleArrivals(Trace& trace, double factor);

}  // namespace regiongate::sim
