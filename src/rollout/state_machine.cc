#include "rollout/state_machine.h"

#include <fmt/format.h>

namespace regiongate::rollout {

namespace {
constexpr Phase kPhases[] = {Phase::Staged, Phase::Gating, Phase::Shifting,
                             Phase::Paused, Phase::Promoted, Phase::RolledBack};
}

std::string_view phaseName(Phase p) {
  switch (p) {
    case Phase::Staged: return "staged";
    case Phase::Gating: return "gating";
    case Phase::Shifting: return "shifting";
    case Phase::Paused: return "paused";
    case Phase::Promoted: return "promoted";
    case Phase::RolledBack: return "rolled_back";
  }
  return "staged";
}

bool parsePhase(std::string_view s, Phase& out) {
  for (Phase p : kPhases)
    if (phaseName(p) == s) {
      out = p;
      return true;
    }
  return false;
}

RolloutMachine::RolloutMachine(RolloutRecord record, const Clock& clock)
    : rec_(std::move(record)), clock_(clock), step_started_(clock.nowNanos()) {
  if (rec_.history.empty()) {
    rec_.history.push_back({clock_.wallMicros(), rec_.phase, rec_.phase, rec_.step,
                            "rollout created: " + rec_.from_version + " -> " + rec_.to_version});
  }
}

uint32_t RolloutMachine::greenWeightPermille() const {
  if (rec_.phase == Phase::Promoted) return 1000;
  if (rec_.phase == Phase::Shifting && rec_.step < rec_.steps.size())
    return rec_.steps[rec_.step] * 10;
  // Paused keeps the weight it had when it paused (a person decides): green stays at its step.
  if (rec_.phase == Phase::Paused && rec_.paused_from == Phase::Shifting &&
      rec_.step < rec_.steps.size())
    return rec_.steps[rec_.step] * 10;
  return 0;
}

void RolloutMachine::moveTo(Phase to, std::string reason) {
  rec_.history.push_back({clock_.wallMicros(), rec_.phase, to, rec_.step, std::move(reason)});
  if (rec_.history.size() > 200) rec_.history.erase(rec_.history.begin() + 1);
  rec_.phase = to;
}

void RolloutMachine::startStep(uint32_t step, std::string reason) {
  rec_.step = step;
  step_started_ = clock_.nowNanos();
  ++step_generation_;
  moveTo(Phase::Shifting, std::move(reason));
}

void RolloutMachine::setGate(GateResult g) {
  for (auto& x : rec_.gates)
    if (x.gate == g.gate) {
      x = std::move(g);
      return;
    }
  rec_.gates.push_back(std::move(g));
}

Status RolloutMachine::prewarmDone(uint64_t prompts, std::string detail) {
  if (rec_.phase != Phase::Staged)
    return Error::config("prewarm finished but the rollout is " + std::string(phaseName(rec_.phase)),
                         "invalid_transition");
  rec_.prewarmed = prompts;
  moveTo(Phase::Gating, "green staged (" + detail + "); parity gate running");
  return {};
}

Status RolloutMachine::parityResult(GateResult result) {
  if (rec_.phase != Phase::Gating)
    return Error::config("parity result but the rollout is " + std::string(phaseName(rec_.phase)),
                         "invalid_transition");
  std::string detail = result.detail;
  GateOutcome o = result.outcome;
  setGate(std::move(result));
  if (o == GateOutcome::Successful) {
    startStep(0, "parity gate successful: " + detail);
  } else if (o == GateOutcome::Failed) {
    moveTo(Phase::RolledBack, "parity gate failed: " + detail);
  } else {
    rec_.paused_from = Phase::Gating;
    moveTo(Phase::Paused, "parity gate inconclusive: " + detail);
  }
  return {};
}

bool RolloutMachine::tick(const VersionObservations& green_step, const VersionObservations& blue) {
  return tickAt((clock_.nowNanos() - step_started_) / 1'000'000, green_step, blue);
}

bool RolloutMachine::tickAt(int64_t elapsed_ms, const VersionObservations& green_step,
                            const VersionObservations& blue, std::string_view source) {
  if (rec_.phase != Phase::Shifting) return false;
  if (elapsed_ms < static_cast<int64_t>(rec_.step_ms)) return false;
  GateResult err = errorRateGate(green_step, blue, rec_.thresholds);
  GateResult ttft = ttftGate(green_step, blue, rec_.thresholds, rec_.steps[rec_.step] < 100);
  if (!source.empty())
    for (auto* g : {&err, &ttft}) g->detail += fmt::format(" ({})", source);
  setGate(err);
  setGate(ttft);
  uint32_t pct = rec_.steps[rec_.step];
  for (const auto* g : {&err, &ttft})
    if (g->outcome == GateOutcome::Failed) {
      moveTo(Phase::RolledBack, fmt::format("{} gate failed at {}%: {}", g->gate, pct, g->detail));
      return true;
    }
  for (const auto* g : {&err, &ttft})
    if (g->outcome == GateOutcome::Inconclusive) {
      if (elapsed_ms < static_cast<int64_t>(rec_.step_max_ms)) return false;  // keep collecting
      rec_.paused_from = Phase::Shifting;
      moveTo(Phase::Paused,
             fmt::format("{} gate inconclusive at {}% after {} ms: {}", g->gate, pct, elapsed_ms, g->detail));
      return true;
    }
  if (rec_.step + 1 >= rec_.steps.size()) {
    moveTo(Phase::Promoted, fmt::format("gates successful at {}%: promoted", pct));
  } else {
    startStep(rec_.step + 1, fmt::format("gates successful at {}%, shifting to {}%", pct,
                                         rec_.steps[rec_.step + 1]));
  }
  return true;
}

Status RolloutMachine::promote(std::string reason) {
  if (rec_.terminal())
    return Error::config("the rollout is already " + std::string(phaseName(rec_.phase)), "invalid_transition");
  moveTo(Phase::Promoted, std::move(reason));
  return {};
}

Status RolloutMachine::abort(std::string reason) {
  if (rec_.terminal())
    return Error::config("the rollout is already " + std::string(phaseName(rec_.phase)), "invalid_transition");
  moveTo(Phase::RolledBack, std::move(reason));
  return {};
}

Status RolloutMachine::resume(std::string reason) {
  if (rec_.phase != Phase::Paused)
    return Error::config("only a paused rollout can resume (it is " +
                             std::string(phaseName(rec_.phase)) + ")", "invalid_transition");
  if (rec_.paused_from == Phase::Gating) {
    startStep(0, reason + ": inconclusive parity accepted");
  } else if (rec_.step + 1 >= rec_.steps.size()) {
    moveTo(Phase::Promoted, reason + ": inconclusive last step accepted");
  } else {
    startStep(rec_.step + 1, reason + ": inconclusive step accepted");
  }
  return {};
}

}  // namespace regiongate::rollout
