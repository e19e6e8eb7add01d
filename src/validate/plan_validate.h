#pragma once
// plan-validate: checks the planner against the real gateway (docs/planner.md, "Checked against
// the real gateway").
//
// One deployment file and a slice of a Mooncake trace are run twice:
//   * the planner: sim::runPlan on exactly these requests (arrivals scaled by the deployment's
//     time_scale; after the replay it runs again with each request arriving when it actually
//     reached its mock), per-region token hit rate and TTFT p50, with candidate_info `gateway`
//     unless told otherwise;
//   * the real thing: one in-process mock::MockBackend per instance (its LatencyParams and KV
//     capacity are the instance's InstanceParams; block size = the trace's block; time compressed
//     by `compress`; serial prefill, the planner's instance model; stream tokens written in
//     groups at least stream_write_ms apart), the in-process
//     gateway::Gateway on real loopback sockets in front of them (one worker, so one policy
//     instance, as in the planner), and open-loop clients sending every request at its scaled
//     arrival time to /v1/completions (streaming). Each request's prompt text is built so that
//     every trace block is one fixed text of exactly tokens_per_block mock tokens (3-character
//     words, 4 bytes each) chosen by the block's chained hash: prompts share a text prefix exactly
//     where the trace's hash ids repeat, and the gateway's promptBlocks (block_chars = 4 x
//     tokens_per_block) and the mock's token blocks line up with the trace's blocks.
// Measured: hit rate = sum(usage.prompt_tokens_details.cached_tokens) / sum(usage.prompt_tokens)
// per region (x-regiongate-region); TTFT = client send -> first SSE event, divided by compress.
// The harness's own time per request (send -> the mock's admission, the first token's modelled
// time -> the client's read; from the mocks' first-token hook, one steady clock) is added to the
// planner's TTFT; when its median exceeds the TTFT tolerance the run is SATURATED (Outcome).
// The load generator's threads block and sleep: this is a tool, not the data plane.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "sim/deployment.h"
#include "sim/trace.h"

namespace regiongate::validate {

struct PlanValidateOptions {
  std::string deployment;      // deployment YAML (as for `plan`)
  std::string trace;           // Mooncake JSONL trace
  size_t limit = 400;          // requests to replay
  size_t skip = 0;             // requests skipped at the start of the trace
  double compress = 0.05;      // wall-clock seconds per simulated second
  size_t clients = 128;        // client threads (open loop)
  double hit_points = 5.0;     // hit-rate tolerance, percentage points
  double ttft_percent = 15.0;  // TTFT p50 tolerance, percent of the planner's
  bool parallel_prefill = false;
  bool quiet = false;          // no progress on stderr
  std::string dump;            // CSV per request when not empty
  double spread_ms = 20;       // simulated ms between requests sharing a trace timestamp
  // The planner's routing.candidate_info for this run, whatever the deployment says: `gateway`
  // (the view the real gateway's policy has, which is what the replay runs) unless overridden.
  std::string candidate_info = "gateway";
  // The mocks' MockOptions::stream_min_write_ms (wall ms): tokens are written in groups, so the
  // replay's streaming load does not grow as 1/compress (0 = one write per token).
  double stream_write_ms = 5;
};

// What the instance model leaves out, on an idle machine: the gateway (parse, route, forward),
// loopback and the mock's parsing and tokenising, per request, in wall milliseconds, fitted as
// fixed + per-token. It is measured before the replay on a rig of its own (the same gateway
// configuration in front of one mock per region whose latency model is off) and reported as the
// idle reference; the comparison uses each request's harness time measured during the replay
// (the idle figure stands in only for a request that got no answer).
struct OverheadModel {
  double fixed_ms = 0;
  double per_ktoken_ms = 0;
  double wallMs(uint32_t tokens) const;
};


struct RegionCheck {
  std::string name;
  uint64_t plan_requests = 0, real_requests = 0;
  double plan_hit = 0, real_hit = 0;            // fractions
  // Trace milliseconds. plan_ttft_p50 includes each request's measured harness time (inbound +
  // outbound), as real_ttft_p50 does; plan_model_ttft_p50 is the planner's alone.
  double plan_ttft_p50 = 0, real_ttft_p50 = 0;
  double plan_model_ttft_p50 = 0;
  double harness_p50 = 0;  // median of the region's requests' harness delay (late + in + out)
  double harness_fixed_p50 = 0;  // the same without the send lateness (in + out)
  bool hit_ok = true, ttft_ok = true;
  // The replay's own delays are larger than the TTFT tolerance of the planner's TTFT p50: at
  // this compression the machine cannot replay the trace finely enough to judge the planner.
  bool saturated = false;
  bool empty() const { return plan_requests == 0 && real_requests == 0; }
  bool ok() const { return empty() || (hit_ok && ttft_ok); }
  std::string verdict() const;  // "PASS", "FAIL (hit)", ..., "SATURATED", "no traffic"
};

// The tool's verdict and exit code: Pass 0, Fail 1 (a region disagrees or a request failed),
// Saturated 3 (no failed request, but the harness's own delays exceed what the TTFT tolerance
// can resolve in some region: the comparison says nothing about the planner). Errors are 2.
enum class Outcome { Pass, Fail, Saturated };
int exitCode(Outcome o);
std::string_view outcomeName(Outcome o);

struct PlanValidateReport {
  std::string deployment, policy, candidate_info, trace_source;
  size_t requests = 0, skip = 0;
  double compress = 0, spread_ms = 0;
  bool parallel_prefill = false;
  double replay_s = 0, plan_s = 0;
  double late_p50_ms = 0, late_max_ms = 0;
  // Wall ms, medians over answered requests: client send -> mock admission; the first token's
  // modelled time -> read by the client; the mock's first-token write after its due time.
  double inbound_p50_ms = 0, outbound_p50_ms = 0, timer_late_p50_ms = 0, timer_late_p99_ms = 0;
  size_t errors = 0;
  std::string first_error;
  double hit_points = 0, ttft_percent = 0;
  OverheadModel overhead;             // wall ms
  double overhead_median_sim_ms = 0;  // at the median prompt, simulated ms
  std::vector<RegionCheck> regions;

  bool pass() const { return outcome() == Outcome::Pass; }
  Outcome outcome() const;
  // The smallest compression at which every region's inbound + outbound harness time, as
  // measured in this run in wall ms and taken as fixed, would stay within the TTFT tolerance
  // (send lateness, which queues up when the client cannot keep up, is not extrapolated; a
  // saturated machine inflates the wall times, so this is an estimate, not a bound).
  double minUsableCompress() const;
  // The tool's output: a header, a Markdown table, then one machine-readable `check` line per
  // region, `errors=N` and the verdict line (tests parse the last three).
  std::string text() const;
};

Result<PlanValidateReport> runPlanValidate(const PlanValidateOptions& options);

// Pieces, exposed for tests.
// The prompt of one trace request: block b is the fixed text of hash blocks[b] (tokens_per_block
// 3-character words); tokens beyond the trace's blocks get text unique to `index`.
std::string promptText(const sim::TraceRequest& r, uint32_t tokens_per_block, size_t index);
// The gateway's config for the deployment in front of `endpoints` ({name, port}).
std::string gatewayYaml(const sim::Deployment& d,
                        const std::vector<std::pair<std::string, uint16_t>>& endpoints,
                        const std::vector<std::string>& endpoint_regions, uint32_t block_chars);
// Least squares of wall ms (y) on prompt tokens (x); a flat line when x does not vary; the
// per-token slope is never negative.
OverheadModel fitOverhead(const std::vector<std::pair<double, double>>& points);
// Judges one region against the tolerances, and whether its harness delay is too large to judge.
RegionCheck judgeRegion(RegionCheck c, double hit_points, double ttft_percent);

}  // namespace regiongate::validate
