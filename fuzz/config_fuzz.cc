// libFuzzer target: the config loader (YAML -> validated Config) and, for configs that load,
// the residency proof. Must never crash, hang or throw; errors are Results.
#include <cstddef>
#include <cstdint>
#include <chrono>
#include <string_view>

#include "config/loader.h"
#include "residency/proof.h"
#include "residency/residency_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // configs are small; keep iterations fast
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = regiongate::loadConfigString(text, "fuzz.yaml");
  if (!cfg.ok()) return 0;
  regiongate::residency::ResidencyIndex index(*cfg);
  for (uint32_t t = 0; t < (*cfg)->tenants.size(); ++t) {
    (void)index.pool(t, "m");
    for (const auto& r : (*cfg)->regions) (void)index.narrow(t, r.name);
  }
  auto report = regiongate::residency::proveResidency(
      **cfg, std::chrono::year{2026} / std::chrono::January / std::chrono::day{15});
  (void)report.json();
  return 0;
}
