#pragma once
// An immutable view of everything a worker needs to serve a request under one config generation:
// the config, the residency index (tenants, pools), and each endpoint's shared health state.
// Built on the control plane at start and at every reload, then posted to each worker; in-flight
// requests keep their snapshot alive through the shared_ptr.
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "residency/residency_index.h"
#include "upstream/health.h"
#include "upstream/tls_client.h"

namespace regiongate::gateway {

struct Snapshot {
  uint64_t generation = 0;
  ConfigPtr config;
  residency::ResidencyIndexPtr residency;
  std::vector<std::shared_ptr<upstream::EndpointHealth>> health;  // by endpoint index
  std::vector<std::string> region_of_endpoint;                     // by endpoint index
  // By endpoint index: an https:// endpoint's TLS client context (null for http://), shared
  // read-only by the workers' pools.
  std::vector<upstream::ClientTlsPtr> upstream_tls;

  // The version `endpoint` serves `model` at ("" when unversioned).
  const std::string& versionOf(uint32_t endpoint, std::string_view model) const;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// `upstream_tls`: by endpoint index (gateway/tls_material.h); empty when no endpoint is https://.
SnapshotPtr buildSnapshot(ConfigPtr config, upstream::HealthRegistry& health, uint64_t generation,
                          std::vector<upstream::ClientTlsPtr> upstream_tls = {});

}  // namespace regiongate::gateway
