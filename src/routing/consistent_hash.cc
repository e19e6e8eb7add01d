#include "routing/consistent_hash.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/hash.h"
#include "routing/least_loaded.h"

namespace regiongate::routing {

void ConsistentHashPolicy::addEndpoint(uint32_t endpoint, uint32_t weight) {
  if (endpoint >= on_ring_.size()) on_ring_.resize(endpoint + 1, false);
  on_ring_[endpoint] = true;
  uint32_t points = std::max<uint32_t>(1, options_.virtual_nodes) * std::max<uint32_t>(1, weight);
  for (uint32_t v = 0; v < points; ++v) {
    std::string key = std::to_string(endpoint) + "#" + std::to_string(v);
    ring_.emplace_back(xxh3(key, 0x9e3779b97f4a7c15ULL), endpoint);
  }
  std::sort(ring_.begin(), ring_.end());
}

size_t ConsistentHashPolicy::pick(const RouteRequest& req, std::span<const Candidate> c) {
  if (req.blocks.empty() || c.size() == 1) return leastLoadedIndex(c);
  for (const auto& cand : c)
    if (cand.endpoint >= on_ring_.size() || !on_ring_[cand.endpoint])
      addEndpoint(cand.endpoint, cand.weight);

  size_t k = std::clamp<size_t>(options_.hash_key_blocks, 1, req.blocks.size());
  // Mix: block hashes are already uniform, but callers (tests, traces) may pass small ids.
  uint64_t key = req.blocks[k - 1];
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  key *= 0xc4ceb9fe1a85ec53ULL;
  key ^= key >> 33;

  uint64_t total = 0;
  for (const auto& cand : c) total += cand.in_flight;
  double cap = options_.bounded_load_factor > 0
                   ? std::ceil(options_.bounded_load_factor * double(total + 1) / double(c.size()))
                   : INFINITY;

  auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(key, uint32_t{0}));
  size_t start = static_cast<size_t>(it - ring_.begin());
  uint64_t seen = 0;  // candidates already checked (first 64)
  size_t checked = 0;
  for (size_t step = 0; step < ring_.size() && checked < c.size(); ++step) {
    uint32_t ep = ring_[(start + step) % ring_.size()].second;
    for (size_t i = 0; i < c.size(); ++i) {
      if (c[i].endpoint != ep) continue;
      if (i < 64) {
        if (seen & (1ULL << i)) break;
        seen |= 1ULL << i;
      }
      ++checked;
      if (double(c[i].in_flight) + 1.0 <= cap) return i;
      break;
    }
  }
  return leastLoadedIndex(c);
}

}  // namespace regiongate::routing
