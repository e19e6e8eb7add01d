#include "routing/scoped_indexes.h"

namespace regiongate::routing {

PrefixIndex& ScopedIndexes::get(std::string_view jurisdiction, std::string_view model) {
  auto jit = by_jurisdiction_.find(jurisdiction);
  if (jit == by_jurisdiction_.end())
    jit = by_jurisdiction_.emplace(std::string(jurisdiction), ByModel{}).first;
  auto mit = jit->second.find(model);
  if (mit == jit->second.end())
    mit = jit->second.emplace(std::string(model), std::make_unique<PrefixIndex>(capacity_, ttl_))
              .first;
  return *mit->second;
}

const PrefixIndex* ScopedIndexes::find(std::string_view jurisdiction,
                                       std::string_view model) const {
  auto jit = by_jurisdiction_.find(jurisdiction);
  if (jit == by_jurisdiction_.end()) return nullptr;
  auto mit = jit->second.find(model);
  return mit == jit->second.end() ? nullptr : mit->second.get();
}

std::vector<std::string> ScopedIndexes::jurisdictions() const {
  std::vector<std::string> out;
  for (const auto& [j, _] : by_jurisdiction_) out.push_back(j);
  return out;
}

}  // namespace regiongate::routing
