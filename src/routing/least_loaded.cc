#include "routing/least_loaded.h"

namespace regiongate::routing {

size_t leastLoadedIndex(std::span<const Candidate> c) {
  size_t best = 0;
  for (size_t i = 1; i < c.size(); ++i) {
    if (c[i].in_flight < c[best].in_flight ||
        (c[i].in_flight == c[best].in_flight && c[i].weight > c[best].weight))
      best = i;
  }
  return best;
}

}  // namespace regiongate::routing
