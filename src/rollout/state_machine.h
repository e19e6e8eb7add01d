#pragma once
// The blue-green rollout state machine of one model in one region (docs/rollouts.md):
//
//   Staged --prewarmDone--> Gating --parity ok--> Shifting[step 0..n-1] --last step ok--> Promoted
//     |                       |  \--inconclusive--> Paused --resume--> (next phase)
//     |                       \--failed--> RolledBack          \--promote--> Promoted
//   abort() from any non-terminal state -> RolledBack; promote() -> Promoted.
//
// In Shifting, green takes steps[i] % of the region's traffic for this model. After step_ms the
// error-rate and TTFT gates judge the step: Successful -> next step (or Promoted after the last),
// Failed -> RolledBack, Inconclusive -> wait, and after step_max_ms -> Paused for a person.
// Time comes from the injected Clock. The record is what is persisted (state_store.h); the step
// timer is not: after a restart the current step starts again.
// Thread: not thread-safe; RolloutManager serialises access.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "rollout/gate.h"

namespace regiongate::rollout {

enum class Phase { Staged, Gating, Shifting, Paused, Promoted, RolledBack };
std::string_view phaseName(Phase p);
bool parsePhase(std::string_view s, Phase& out);

struct Transition {
  int64_t wall_us = 0;
  Phase from = Phase::Staged, to = Phase::Staged;
  uint32_t step = 0;
  std::string reason;
};

struct RolloutRecord {
  uint64_t id = 0;  // unique per state file
  std::string region, model, from_version, to_version;
  std::vector<std::string> green_endpoints;
  std::vector<uint32_t> steps = {10, 50, 100};
  uint32_t step_ms = 60000, step_max_ms = 600000;
  GateThresholds thresholds;
  Phase phase = Phase::Staged;
  Phase paused_from = Phase::Staged;
  uint32_t step = 0;
  uint64_t prewarmed = 0;
  std::vector<GateResult> gates;  // latest result of each gate
  std::vector<Transition> history;
  bool terminal() const { return phase == Phase::Promoted || phase == Phase::RolledBack; }
};

class RolloutMachine {
public:
  RolloutMachine(RolloutRecord record, const Clock& clock);

  const RolloutRecord& record() const { return rec_; }
  Phase phase() const { return rec_.phase; }
  // Green's share of the region's traffic for the model, in permille.
  uint32_t greenWeightPermille() const;
  // Bumped each time a step starts: the manager resets green's step observations on a change.
  uint64_t stepGeneration() const { return step_generation_; }

  // Staged -> Gating. Error in any other phase.
  Status prewarmDone(uint64_t prompts, std::string detail);
  // Gating: Successful -> Shifting step 0, Failed -> RolledBack, Inconclusive -> Paused.
  Status parityResult(GateResult result);
  // Shifting: judges the step once step_ms has passed (see the header comment). Returns true when
  // the phase or step changed.
  bool tick(const VersionObservations& green_step, const VersionObservations& blue);
  // The same judgement with the step's elapsed time given (shared mode: the step started on
  // another replica, measured by the store's clock). `source` (e.g. "pooled from 3 replicas") is
  // appended to every gate's detail.
  bool tickAt(int64_t elapsed_ms, const VersionObservations& green_step,
              const VersionObservations& blue, std::string_view source = {});
  Status promote(std::string reason);
  Status abort(std::string reason);
  // Paused -> the phase after the one that paused (a person accepted the inconclusive gate).
  Status resume(std::string reason);

private:
  void moveTo(Phase to, std::string reason);
  void startStep(uint32_t step, std::string reason);
  void setGate(GateResult g);

  RolloutRecord rec_;
  const Clock& clock_;
  int64_t step_started_ = 0;
  uint64_t step_generation_ = 0;
};

}  // namespace regiongate::rollout
