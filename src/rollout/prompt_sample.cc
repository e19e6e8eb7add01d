#include "rollout/prompt_sample.h"

#include <simdjson.h>

#include <algorithm>

#include "common/json.h"

namespace regiongate::rollout {

std::string PromptSampler::key(std::string_view jurisdiction, std::string_view region,
                               std::string_view model) {
  std::string k;
  k.reserve(jurisdiction.size() + region.size() + model.size() + 2);
  k.append(jurisdiction).append("|").append(region).append("|").append(model);
  return k;
}

void PromptSampler::record(const std::string& key, std::span<const uint64_t> blocks,
                           std::string_view body) {
  if (blocks.empty() || body.size() > kMaxBodyBytes) return;
  std::shared_ptr<const std::string> shared;
  // Data plane: never wait for the lock. A sample skipped under contention costs nothing that
  // matters (the hottest prefixes recur), a worker blocked on a mutex would.
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock() || capacity_ == 0) return;
  auto& b = buckets_[key];
  ++b.tick;
  size_t depth = std::min(blocks.size(), kMaxDepth);
  for (size_t i = 0; i < depth; ++i) {
    auto& e = b.entries[blocks[i]];
    if (!e.body) {
      if (!shared) shared = std::make_shared<const std::string>(body);
      e.body = shared;
      e.depth = static_cast<uint32_t>(i + 1);
    }
    ++e.hits;
    e.last = b.tick;
  }
  if (b.entries.size() > capacity_) evict(b);
}

void PromptSampler::evict(Bucket& b) {
  // Drop the coldest (fewest hits, then oldest) down to 90% of capacity: amortised O(1).
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, uint64_t>> order;
  order.reserve(b.entries.size());
  for (const auto& [h, e] : b.entries) order.push_back({{e.hits, e.last}, h});
  size_t target = capacity_ - capacity_ / 10;
  if (target >= order.size()) return;
  std::nth_element(order.begin(), order.begin() + (order.size() - target), order.end());
  for (size_t i = 0; i < order.size() - target; ++i) b.entries.erase(order[i].second);
}

std::vector<std::string> PromptSampler::hottest(std::string_view region, std::string_view model,
                                                size_t k) const {
  std::vector<std::pair<uint64_t, std::shared_ptr<const std::string>>> scored;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, b] : buckets_) {
      auto p1 = key.find('|');
      auto p2 = key.find('|', p1 + 1);
      if (key.substr(p1 + 1, p2 - p1 - 1) != region || key.substr(p2 + 1) != model) continue;
      for (const auto& [h, e] : b.entries) scored.push_back({e.hits * e.depth, e.body});
    }
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  std::vector<const std::string*> seen;
  for (const auto& [score, body] : scored) {
    if (out.size() >= k) break;
    if (std::find(seen.begin(), seen.end(), body.get()) != seen.end()) continue;
    seen.push_back(body.get());
    out.push_back(*body);
  }
  return out;
}

size_t PromptSampler::entries(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  return it == buckets_.end() ? 0 : it->second.entries.size();
}

std::string prewarmBody(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) return "";
  simdjson::dom::object obj;
  if (doc.get(obj) != simdjson::SUCCESS) return "";
  std::string out = "{";
  for (auto field : obj) {
    std::string_view k = field.key;
    if (k == "stream" || k == "stream_options" || k == "n" || k == "max_tokens" ||
        k == "max_completion_tokens")
      continue;
    appendJsonString(out, k);
    out += ":";
    out += simdjson::minify(field.value);
    out += ",";
  }
  out += "\"max_tokens\":1,\"stream\":false}";
  return out;
}

}  // namespace regiongate::rollout
