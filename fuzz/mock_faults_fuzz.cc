// Fuzzes the mock backend's admin bodies: POST /admin/faults and POST /admin/version.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mock/faults.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace regiongate::mock;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  FaultConfig f;
  if (applyFaultsJson(body, f).ok()) {
    // Whatever was accepted must be valid and must round-trip through its own JSON.
    if (!validateFaults(f).ok()) __builtin_trap();
    FaultConfig g;
    if (!applyFaultsJson(faultsJson(f), g).ok()) __builtin_trap();
  }
  (void)parseVersionChange(body);
  return 0;
}
