#pragma once
// PrefixIndex: which endpoints (probably) hold which prefix blocks in their KV cache, learned from
// the requests the gateway routed (approximate: the gateway never sees the backend's eviction).
//
// Key: a chained block hash (block i's hash identifies the whole prefix [0, i]), so a radix tree
// at block granularity is a flat hash map. Each block remembers up to kMaxHolders endpoints with
// the time it last routed that prefix there; a holder older than the TTL no longer counts.
// Memory is bounded: at most `capacity_blocks` blocks, least recently inserted evicted first.
// Blocks of one prompt are touched leaf-first so a prompt's root blocks are evicted after its
// leaves (a missing root block would hide all its descendants).
//
// Not thread-safe: owned by one policy instance (one worker thread).
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

namespace regiongate::routing {

class PrefixIndex {
public:
  static constexpr size_t kMaxHolders = 8;

  PrefixIndex(size_t capacity_blocks, int64_t ttl_nanos);

  // Records that `blocks` (a prompt's chained hashes) were sent to `endpoint` at `now`.
  void insert(std::span<const uint64_t> blocks, uint32_t endpoint, int64_t now);
  // Number of leading blocks `endpoint` holds (unexpired).
  size_t matchedBlocks(std::span<const uint64_t> blocks, uint32_t endpoint, int64_t now) const;
  // depths[i] = matchedBlocks(blocks, endpoints[i], now), in one walk over the blocks.
  void matchDepths(std::span<const uint64_t> blocks, std::span<const uint32_t> endpoints,
                   int64_t now, std::span<uint32_t> depths) const;

  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }
  bool contains(uint64_t block) const { return map_.contains(block); }
  // Blocks currently attributed to `endpoint` (including expired holders not yet swept).
  size_t blocksOf(uint32_t endpoint) const {
    return endpoint < per_endpoint_.size() ? per_endpoint_[endpoint] : 0;
  }
  void removeEndpoint(uint32_t endpoint);
  void clear();

private:
  struct Holder {
    int64_t seen = 0;
    uint32_t endpoint = 0;
  };
  struct Entry {
    uint64_t hash = 0;
    uint32_t prev = kNil;
    uint32_t next = kNil;
    uint8_t n = 0;
    std::array<Holder, kMaxHolders> holders;
  };
  static constexpr uint32_t kNil = UINT32_MAX;

  bool alive(const Holder& h, int64_t now) const { return now - h.seen <= ttl_; }
  void unlink(uint32_t i);
  void pushFront(uint32_t i);
  void evict(uint32_t i);
  void sweepExpired(int64_t now, int max_steps);
  void countAdd(uint32_t endpoint, int delta);

  size_t capacity_;
  int64_t ttl_;
  boost::unordered_flat_map<uint64_t, uint32_t> map_;  // block hash -> entries_ index
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;
  uint32_t head_ = kNil;  // most recently touched
  uint32_t tail_ = kNil;  // least recently touched
  std::vector<uint32_t> per_endpoint_;
};

}  // namespace regiongate::routing
