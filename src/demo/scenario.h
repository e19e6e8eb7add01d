#pragma once
// `regiongate demo`: the whole product in one process, on a built-in deployment.
//
// Five mock backends (EU: eu-central-1 x2, eu-west-1; US: us-east-1, us-west-2) with the mock's
// calibrated latency model, the gateway in front of them, and the workload of demo/workload.h.
// The schedule, as fractions of the run: a staged model rollout first, from a steady state:
// eu-central-1 is updated in place to v2 (0.30: its KV caches are emptied, the gateway discovers
// the new version and keeps each EU request on one version, so eu-west-1 waits), eu-west-1
// follows (0.55); then one EU region fails (0.70), then every EU endpoint (0.78), and all is
// restored (0.86). The report (demo/report.h) covers residency, the cache-isolation penalty, the
// rollout's warm-up and the budget; then every audit chain is verified.
//
// With keep_running the same gateway, backends and audit stay up afterwards with a light
// background workload, until `interrupted` is set.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

namespace regiongate::demo {

struct DemoOptions {
  int seconds = 30;
  bool keep_running = false;
  int us_clients = 6;  // client threads of the US user pool
  int eu_clients = 2;  // ... and of the smaller EU one
  std::string dir;     // audit stores; empty = a new temp dir
  double time_scale = 0.2;  // mock latency scale (1 = the calibrated GPU timings)
  uint16_t port = 0;        // gateway data port, 0 = any
};

// Runs the demo and prints its progress and report to `out`. Returns 0 when the residency
// checks and every audit chain pass, 1 when not, 2 when it could not start.
int runDemo(const DemoOptions& options, const std::atomic<bool>& interrupted, std::FILE* out);

}  // namespace regiongate::demo
