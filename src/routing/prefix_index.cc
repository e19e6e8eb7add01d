#include "routing/prefix_index.h"

#include <algorithm>

namespace regiongate::routing {

PrefixIndex::PrefixIndex(size_t capacity_blocks, int64_t ttl_nanos)
    : capacity_(std::max<size_t>(1, capacity_blocks)), ttl_(ttl_nanos) {
  map_.reserve(std::min<size_t>(capacity_, 1 << 16));
}

void PrefixIndex::unlink(uint32_t i) {
  Entry& e = entries_[i];
  if (e.prev != kNil) entries_[e.prev].next = e.next; else head_ = e.next;
  if (e.next != kNil) entries_[e.next].prev = e.prev; else tail_ = e.prev;
  e.prev = e.next = kNil;
}

void PrefixIndex::pushFront(uint32_t i) {
  Entry& e = entries_[i];
  e.prev = kNil;
  e.next = head_;
  if (head_ != kNil) entries_[head_].prev = i;
  head_ = i;
  if (tail_ == kNil) tail_ = i;
}

void PrefixIndex::countAdd(uint32_t endpoint, int delta) {
  if (endpoint >= per_endpoint_.size()) per_endpoint_.resize(endpoint + 1, 0);
  per_endpoint_[endpoint] = static_cast<uint32_t>(static_cast<int64_t>(per_endpoint_[endpoint]) + delta);
}

void PrefixIndex::evict(uint32_t i) {
  Entry& e = entries_[i];
  for (uint8_t h = 0; h < e.n; ++h) countAdd(e.holders[h].endpoint, -1);
  unlink(i);
  map_.erase(e.hash);
  e.n = 0;
  free_.push_back(i);
}

void PrefixIndex::sweepExpired(int64_t now, int max_steps) {
  // The LRU tail is the least recently touched block; if even its newest holder expired, drop it.
  for (int s = 0; s < max_steps && tail_ != kNil; ++s) {
    const Entry& e = entries_[tail_];
    bool any_alive = false;
    for (uint8_t h = 0; h < e.n; ++h) any_alive |= alive(e.holders[h], now);
    if (any_alive) return;
    evict(tail_);
  }
}

void PrefixIndex::insert(std::span<const uint64_t> blocks, uint32_t endpoint, int64_t now) {
  sweepExpired(now, 4);
  // Leaf first, root last: the root ends up most recently used and is evicted last.
  for (size_t k = blocks.size(); k-- > 0;) {
    uint64_t hash = blocks[k];
    uint32_t idx;
    if (auto it = map_.find(hash); it != map_.end()) {
      idx = it->second;
      unlink(idx);
    } else {
      if (map_.size() >= capacity_ && tail_ != kNil) evict(tail_);
      if (!free_.empty()) {
        idx = free_.back();
        free_.pop_back();
      } else {
        idx = static_cast<uint32_t>(entries_.size());
        entries_.emplace_back();
      }
      Entry& fresh = entries_[idx];
      fresh.hash = hash;
      fresh.n = 0;
      map_.emplace(hash, idx);
    }
    Entry& e = entries_[idx];
    pushFront(idx);
    // Refresh the endpoint's holder, else take a free slot, else replace the oldest holder.
    int slot = -1;
    int oldest = 0;
    for (int h = 0; h < e.n; ++h) {
      if (e.holders[h].endpoint == endpoint) { slot = h; break; }
      if (e.holders[h].seen < e.holders[oldest].seen) oldest = h;
    }
    if (slot >= 0) {
      e.holders[slot].seen = now;
    } else if (e.n < kMaxHolders) {
      e.holders[e.n++] = Holder{now, endpoint};
      countAdd(endpoint, +1);
    } else {
      countAdd(e.holders[oldest].endpoint, -1);
      e.holders[oldest] = Holder{now, endpoint};
      countAdd(endpoint, +1);
    }
  }
}

size_t PrefixIndex::matchedBlocks(std::span<const uint64_t> blocks, uint32_t endpoint,
                                  int64_t now) const {
  size_t depth = 0;
  for (uint64_t hash : blocks) {
    auto it = map_.find(hash);
    if (it == map_.end()) break;
    const Entry& e = entries_[it->second];
    bool held = false;
    for (uint8_t h = 0; h < e.n && !held; ++h)
      held = e.holders[h].endpoint == endpoint && alive(e.holders[h], now);
    if (!held) break;
    ++depth;
  }
  return depth;
}

void PrefixIndex::matchDepths(std::span<const uint64_t> blocks,
                              std::span<const uint32_t> endpoints, int64_t now,
                              std::span<uint32_t> depths) const {
  if (endpoints.size() > 64) {
    for (size_t i = 0; i < endpoints.size(); ++i)
      depths[i] = static_cast<uint32_t>(matchedBlocks(blocks, endpoints[i], now));
    return;
  }
  uint64_t live = endpoints.size() == 64 ? ~0ULL : ((1ULL << endpoints.size()) - 1);
  size_t depth = 0;
  for (; depth < blocks.size() && live; ++depth) {
    auto it = map_.find(blocks[depth]);
    if (it == map_.end()) break;
    const Entry& e = entries_[it->second];
    uint64_t has = 0;
    for (uint8_t h = 0; h < e.n; ++h) {
      if (!alive(e.holders[h], now)) continue;
      for (uint64_t m = live; m; m &= m - 1) {
        int j = __builtin_ctzll(m);
        if (endpoints[j] == e.holders[h].endpoint) has |= 1ULL << j;
      }
    }
    for (uint64_t gone = live & ~has; gone; gone &= gone - 1)
      depths[__builtin_ctzll(gone)] = static_cast<uint32_t>(depth);
    live &= has;
  }
  for (; live; live &= live - 1) depths[__builtin_ctzll(live)] = static_cast<uint32_t>(depth);
}

void PrefixIndex::removeEndpoint(uint32_t endpoint) {
  for (uint32_t i = head_; i != kNil;) {
    Entry& e = entries_[i];
    uint32_t next = e.next;
    for (int h = 0; h < e.n;) {
      if (e.holders[h].endpoint == endpoint) {
        e.holders[h] = e.holders[--e.n];
        countAdd(endpoint, -1);
      } else {
        ++h;
      }
    }
    if (e.n == 0) evict(i);
    i = next;
  }
}

void PrefixIndex::clear() {
  map_.clear();
  entries_.clear();
  free_.clear();
  per_endpoint_.clear();
  head_ = tail_ = kNil;
}

}  // namespace regiongate::routing
