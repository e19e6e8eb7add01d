// libFuzzer target: the vLLM KV-event batch decoder (routing/kv_events.h). Any input must decode
// or return an error without crashing; a decoded batch must survive an encode/decode round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "routing/kv_events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace regiongate::routing;
  auto r = decodeKvEventBatch({reinterpret_cast<const char*>(data), size});
  if (!r.ok()) return 0;
  for (auto enc : {KvEncoding::Array, KvEncoding::Map}) {
    auto again = decodeKvEventBatch(encodeKvEventBatch(*r, enc));
    if (!again.ok() || again->events.size() != r->events.size()) std::abort();
  }
  return 0;
}
