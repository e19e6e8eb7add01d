#include "gateway/snapshot.h"

namespace regiongate::gateway {

const std::string& Snapshot::versionOf(uint32_t endpoint, std::string_view model) const {
  static const std::string kEmpty;
  for (const auto& m : config->endpoints[endpoint].models)
    if (m.name == model) return m.version;
  return kEmpty;
}

SnapshotPtr buildSnapshot(ConfigPtr config, upstream::HealthRegistry& health, uint64_t generation,
                          std::vector<upstream::ClientTlsPtr> upstream_tls) {
  auto s = std::make_shared<Snapshot>();
  s->generation = generation;
  s->residency = residency::ResidencyIndex::build(config);
  for (const auto& ep : config->endpoints) {
    s->health.push_back(health.get(ep.name));
    s->region_of_endpoint.push_back(ep.region);
  }
  upstream_tls.resize(config->endpoints.size());
  s->upstream_tls = std::move(upstream_tls);
  s->config = std::move(config);
  return s;
}

}  // namespace regiongate::gateway
