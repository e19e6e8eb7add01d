#pragma once
// The gateway's side of model versions and rollouts (issue 8; docs/rollouts.md): a thin adapter
// between the Gateway (snapshots, admin listener, proxy phases) and rollout::RolloutManager.
// The gateway calls it at a few marked places:
//   gateway.cc  start/reload -> configure(); start -> start(); stop -> stop();
//               handleAdmin /admin/rollouts* -> admin(); statusJson -> statusMembers()
//   proxy.cc    phase 4 -> pinPool(); phase 7 -> versionOf(); phase 9 -> onCompleted()
// Threads: data-plane calls read an immutable RolloutView (atomic shared_ptr, no lock); the
// control loop (tick: discovery, pre-warm, parity, step gates, metrics) runs on its own thread.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/snapshot.h"
#include "metrics/registry.h"
#include "rollout/manager.h"

namespace regiongate::gateway {

class RolloutHooks {
public:
  // `peer_strings_refused`: counts discovered versions refused by validation (kind model_version).
  // Renders regiongate_model_version_info through a collector on `registry`: one series per
  // endpoint and model, for the version it serves now, so versions an upstream announces one
  // after another never accumulate series.
  // `replica_id`: this gateway's id in the shared rollout store (audit.replica_id).
  RolloutHooks(const Clock& clock, metrics::Registry& registry,
               metrics::CounterFamily& peer_strings_refused, std::string replica_id);
  ~RolloutHooks();

  Status configure(ConfigPtr config);  // start and every reload (control plane)
  void start();                        // the control-loop thread
  void stop();

  // Phase 4: filters the pool to one version per request (rollout weights, discovered versions).
  // False = nothing concerns this model; the caller keeps its own version pinning.
  bool pinPool(const Snapshot& snap, const std::string& model, bool allow_mixed, uint64_t draw,
               std::vector<uint32_t>& members, std::string& pool_version) const;
  // Phase 7: the version `endpoint` serves (discovered where known, else configured).
  std::string versionOf(const Snapshot& snap, uint32_t endpoint, const std::string& model) const;
  // Phase 9: gate observations (only while a rollout of the model shifts in that region) and the
  // pre-warm prompt sample.
  void onCompleted(const Snapshot& snap, const std::string& jurisdiction, uint32_t endpoint,
                   const std::string& model, const std::string& version, unsigned status,
                   bool upstream_ok, double ttft_ms, std::string_view canonical_text,
                   uint32_t block_chars, std::string_view body);

  bool isAdminPath(std::string_view target) const { return target.starts_with("/admin/rollouts"); }
  // The admin API rendered for the edge: status and JSON body (errors via gateway/error_table.h).
  struct AdminResponse {
    unsigned status = 200;
    std::string body;
  };
  AdminResponse admin(std::string_view method, std::string_view target, std::string_view body);
  // `"rollouts":[...],"versions":[...],"version_skew":{...}` members for /admin/status, and in
  // shared mode `"rollout_store":{...},"replicas":[...]`.
  std::string statusMembers() const;
  // Shared mode: "up" or "unavailable"; "" in single-node mode (for /readyz).
  std::string storeState() const;
  rollout::RolloutManager& manager() { return manager_; }

private:
  void run();
  void exportMetrics();

  // The label sets of regiongate_model_version_info, shared with the registry's collector (which
  // may outlive this object).
  struct VersionInfo {
    std::mutex mu;
    std::set<std::vector<std::string>> current;  // {region, endpoint, model, version}
  };

  rollout::RolloutManager manager_;
  std::shared_ptr<VersionInfo> version_info_ = std::make_shared<VersionInfo>();
  metrics::GaugeFamily& skew_;
  metrics::GaugeFamily& green_weight_;
  metrics::CounterFamily& peer_strings_refused_;
  metrics::GaugeFamily& store_up_;
  metrics::GaugeFamily& leases_held_;
  uint64_t refused_exported_ = 0;  // guarded by export_mu_
  std::mutex export_mu_;

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;  // an admin change is queued: tick now
  uint32_t tick_ms_ = 500;
};

}  // namespace regiongate::gateway
