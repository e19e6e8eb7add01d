#pragma once
// One PrefixIndex per (jurisdiction, model). Prefix knowledge never crosses a jurisdiction: a
// request only reads and writes the index of its own jurisdiction (tests/routing checks it).
// Not thread-safe: owned by one policy instance.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "routing/prefix_index.h"

namespace regiongate::routing {

class ScopedIndexes {
public:
  ScopedIndexes(size_t capacity_blocks, int64_t ttl_nanos)
      : capacity_(capacity_blocks), ttl_(ttl_nanos) {}

  PrefixIndex& get(std::string_view jurisdiction, std::string_view model);
  const PrefixIndex* find(std::string_view jurisdiction, std::string_view model) const;
  std::vector<std::string> jurisdictions() const;

private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using ByModel = std::unordered_map<std::string, std::unique_ptr<PrefixIndex>, Hash,
                                     std::equal_to<>>;
  size_t capacity_;
  int64_t ttl_;
  std::unordered_map<std::string, ByModel, Hash, std::equal_to<>> by_jurisdiction_;
};

}  // namespace regiongate::routing
