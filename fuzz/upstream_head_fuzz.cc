// Fuzz target: an upstream's response head as Exchange reads and checks it
// (src/upstream/response_head.h). An upstream is not trusted: any bytes must give a head or a
// typed error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "upstream/response_head.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  regiongate::upstream::ResponseParser parser;
  auto r = regiongate::upstream::parseUpstreamHead(bytes, parser);
  if (r.ok() && *r > size) __builtin_trap();
  return 0;
}
