// libFuzzer target: the shared-routes payload decoder (routing/peer_routes.h), fed by other
// replicas through PostgreSQL NOTIFY. Any input must decode or return an error without crashing;
// a decoded batch must survive an encode/decode round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "routing/peer_routes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace regiongate::routing;
  auto r = decodePeerRoutes({reinterpret_cast<const char*>(data), size});
  if (!r.ok()) return 0;
  size_t skipped = 0;
  auto payloads = encodePeerRoutes(r->sender, r->jurisdiction, r->routes, skipped);
  if (skipped != 0) std::abort();
  size_t routes = 0;
  for (const auto& p : payloads) {
    auto again = decodePeerRoutes(p);
    if (!again.ok() || again->sender != r->sender || again->jurisdiction != r->jurisdiction)
      std::abort();
    for (const auto& route : again->routes) {
      const auto& orig = r->routes[routes++];
      if (route.model != orig.model || route.endpoint != orig.endpoint ||
          route.blocks.size() > orig.blocks.size())
        std::abort();
    }
  }
  if (routes != r->routes.size()) std::abort();
  return 0;
}
