// libFuzzer target for the Mooncake trace reader (sim/trace.h): any bytes must parse or fail
// with an Error, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = regiongate::sim::parseMooncakeTrace(text, 1000);
  if (t.ok()) (void)t->inputTokens();
  return 0;
}
