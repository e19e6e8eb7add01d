#include "rollout/view.h"

#include <algorithm>

namespace regiongate::rollout {

const std::string& RolloutView::versionOf(uint32_t endpoint, std::string_view model) const {
  static const std::string kEmpty;
  if (endpoint >= versions.size()) return kEmpty;
  for (const auto& m : versions[endpoint])
    if (m.name == model) return m.version;
  return kEmpty;
}

const ViewEntry* RolloutView::entry(std::string_view region, std::string_view model) const {
  for (const auto& e : entries)
    if (e.region == region && e.model == model) return &e;
  return nullptr;
}

bool RolloutView::pin(std::string_view model, bool allow_mixed, uint64_t draw,
                      std::vector<uint32_t>& members, std::string& pool_version) const {
  bool relevant = any_override;
  for (const auto& e : entries) relevant = relevant || e.model == model;
  if (!relevant) return false;
  const uint32_t permille = static_cast<uint32_t>(draw % 1000);
  std::string green_choice;
  std::erase_if(members, [&](uint32_t m) {
    if (m >= region_of_endpoint.size()) return true;
    const ViewEntry* e = entry(region_of_endpoint[m], model);
    if (!e) return false;
    bool green = permille < e->green_permille;
    const std::string& want = green ? e->green : e->blue;
    if (versionOf(m, model) != want) return true;
    if (green && green_choice.empty()) green_choice = e->green;
    return false;
  });
  pool_version.clear();
  if (!allow_mixed && !members.empty()) {
    pool_version = !green_choice.empty() ? green_choice : versionOf(members.front(), model);
    std::erase_if(members, [&](uint32_t m) { return versionOf(m, model) != pool_version; });
  }
  return true;
}

}  // namespace regiongate::rollout
