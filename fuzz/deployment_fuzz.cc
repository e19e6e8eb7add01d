// Fuzz target: the planner's deployment YAML (src/sim/deployment.h) and, for deployments that
// parse, the gateway config they imply (through the real config loader).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/deployment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // deployments are small; keep iterations fast
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = regiongate::sim::parseDeployment(text, "fuzz.yaml");
  if (!d.ok()) return 0;
  (void)regiongate::sim::deploymentConfig(*d);
  return 0;
}
