// The rollout state machine with an injected ManualClock: every transition, a restart from the
// persisted state mid-rollout, an abort, and the persisted JSON round trip.
#include <gtest/gtest.h>

#include <filesystem>

#include "rollout/state_machine.h"
#include "rollout/state_store.h"
#include "testing/process.h"

namespace regiongate::rollout {
namespace {

RolloutRecord makeRecord() {
  RolloutRecord r;
  r.id = 7;
  r.region = "eu-central-1";
  r.model = "llama-3.1-8b";
  r.from_version = "v1";
  r.to_version = "v2";
  r.green_endpoints = {"fra-green"};
  r.steps = {10, 50, 100};
  r.step_ms = 1000;
  r.step_max_ms = 5000;
  r.thresholds.min_requests = 10;
  return r;
}

VersionObservations obs(uint64_t requests, uint64_t errors, double ttft_ms) {
  VersionObservations o;
  o.requests = requests;
  o.errors = errors;
  for (uint64_t i = 0; i < requests - errors; ++i) o.ttft_ms.push_back(ttft_ms);
  return o;
}

GateResult parity(GateOutcome o) { return {"parity", o, "test"}; }

TEST(RolloutMachine, HappyPathWalksEveryStepToPromoted) {
  ManualClock clock;
  RolloutMachine m(makeRecord(), clock);
  EXPECT_EQ(m.phase(), Phase::Staged);
  EXPECT_EQ(m.greenWeightPermille(), 0u);
  ASSERT_TRUE(m.prewarmDone(5, "5 prompts").ok());
  EXPECT_EQ(m.phase(), Phase::Gating);
  EXPECT_EQ(m.greenWeightPermille(), 0u);
  ASSERT_TRUE(m.parityResult(parity(GateOutcome::Successful)).ok());
  EXPECT_EQ(m.phase(), Phase::Shifting);
  EXPECT_EQ(m.greenWeightPermille(), 100u);
  auto good = obs(20, 0, 50), blue = obs(100, 0, 50);
  // Before step_ms nothing is judged, however good the numbers.
  clock.advanceMs(999);
  EXPECT_FALSE(m.tick(good, blue));
  EXPECT_EQ(m.greenWeightPermille(), 100u);
  clock.advanceMs(1);
  EXPECT_TRUE(m.tick(good, blue));
  EXPECT_EQ(m.greenWeightPermille(), 500u);
  clock.advanceMs(1000);
  EXPECT_TRUE(m.tick(good, blue));
  EXPECT_EQ(m.greenWeightPermille(), 1000u);
  EXPECT_EQ(m.phase(), Phase::Shifting);
  clock.advanceMs(1000);
  EXPECT_TRUE(m.tick(good, blue));
  EXPECT_EQ(m.phase(), Phase::Promoted);
  EXPECT_EQ(m.greenWeightPermille(), 1000u);
  EXPECT_TRUE(m.record().terminal());
  // history: created, gating, shifting x3, promoted
  EXPECT_EQ(m.record().history.size(), 6u);
  EXPECT_FALSE(m.abort("late").ok());
}

TEST(RolloutMachine, ParityFailureRollsBackAndInconclusivePauses) {
  ManualClock clock;
  RolloutMachine failed(makeRecord(), clock);
  ASSERT_TRUE(failed.prewarmDone(0, "off").ok());
  ASSERT_TRUE(failed.parityResult(parity(GateOutcome::Failed)).ok());
  EXPECT_EQ(failed.phase(), Phase::RolledBack);
  EXPECT_EQ(failed.greenWeightPermille(), 0u);

  RolloutMachine paused(makeRecord(), clock);
  ASSERT_TRUE(paused.prewarmDone(0, "off").ok());
  ASSERT_TRUE(paused.parityResult(parity(GateOutcome::Inconclusive)).ok());
  EXPECT_EQ(paused.phase(), Phase::Paused);
  EXPECT_EQ(paused.greenWeightPermille(), 0u);
  ASSERT_TRUE(paused.resume("operator").ok());
  EXPECT_EQ(paused.phase(), Phase::Shifting);
  EXPECT_EQ(paused.greenWeightPermille(), 100u);
}

TEST(RolloutMachine, WrongPhaseEventsAreRefused) {
  ManualClock clock;
  RolloutMachine m(makeRecord(), clock);
  EXPECT_FALSE(m.parityResult(parity(GateOutcome::Successful)).ok());
  EXPECT_FALSE(m.resume("x").ok());
  ASSERT_TRUE(m.prewarmDone(0, "").ok());
  EXPECT_FALSE(m.prewarmDone(0, "").ok());
  EXPECT_EQ(m.phase(), Phase::Gating);
}

TEST(RolloutMachine, ErrorGateFailureRollsBack) {
  ManualClock clock;
  RolloutMachine m(makeRecord(), clock);
  ASSERT_TRUE(m.prewarmDone(0, "").ok());
  ASSERT_TRUE(m.parityResult(parity(GateOutcome::Successful)).ok());
  clock.advanceMs(1000);
  EXPECT_TRUE(m.tick(obs(20, 5, 50), obs(100, 0, 50)));
  EXPECT_EQ(m.phase(), Phase::RolledBack);
  EXPECT_NE(m.record().history.back().reason.find("error_rate"), std::string::npos);
}

TEST(RolloutMachine, TtftGateFailureRollsBack) {
  ManualClock clock;
  RolloutMachine m(makeRecord(), clock);
  ASSERT_TRUE(m.prewarmDone(0, "").ok());
  ASSERT_TRUE(m.parityResult(parity(GateOutcome::Successful)).ok());
  clock.advanceMs(1000);
  EXPECT_TRUE(m.tick(obs(20, 0, 500), obs(100, 0, 50)));
  EXPECT_EQ(m.phase(), Phase::RolledBack);
  EXPECT_NE(m.record().history.back().reason.find("ttft_p99"), std::string::npos);
}

TEST(RolloutMachine, TooFewSamplesWaitsThenPausesAndResumeContinues) {
  ManualClock clock;
  RolloutMachine m(makeRecord(), clock);
  ASSERT_TRUE(m.prewarmDone(0, "").ok());
  ASSERT_TRUE(m.parityResult(parity(GateOutcome::Successful)).ok());
  clock.advanceMs(1000);
  EXPECT_FALSE(m.tick(obs(3, 0, 50), obs(100, 0, 50)));  // keeps collecting
  EXPECT_EQ(m.phase(), Phase::Shifting);
  clock.advanceMs(4000);
  EXPECT_TRUE(m.tick(obs(3, 0, 50), obs(100, 0, 50)));
  EXPECT_EQ(m.phase(), Phase::Paused);
  EXPECT_EQ(m.greenWeightPermille(), 100u);  // holds its step while a person decides
  uint64_t gen = m.stepGeneration();
  ASSERT_TRUE(m.resume("operator").ok());
  EXPECT_EQ(m.phase(), Phase::Shifting);
  EXPECT_EQ(m.greenWeightPermille(), 500u);
  EXPECT_GT(m.stepGeneration(), gen);
}

TEST(RolloutMachine, AbortAndPromoteFromAnyLivePhase) {
  ManualClock clock;
  for (int stage = 0; stage < 3; ++stage) {
    RolloutMachine a(makeRecord(), clock), p(makeRecord(), clock);
    for (auto* m : {&a, &p}) {
      if (stage >= 1) ASSERT_TRUE(m->prewarmDone(0, "").ok());
      if (stage >= 2) ASSERT_TRUE(m->parityResult(parity(GateOutcome::Successful)).ok());
    }
    ASSERT_TRUE(a.abort("aborted by operator").ok());
    EXPECT_EQ(a.phase(), Phase::RolledBack);
    EXPECT_EQ(a.greenWeightPermille(), 0u);
    EXPECT_EQ(a.record().history.back().reason, "aborted by operator");
    ASSERT_TRUE(p.promote("promoted by operator").ok());
    EXPECT_EQ(p.phase(), Phase::Promoted);
    EXPECT_EQ(p.greenWeightPermille(), 1000u);
  }
}

TEST(RolloutMachine, RestartMidRolloutResumesFromPersistedState) {
  std::string dir = testing::makeTempDir("rollout-state");
  std::string path = dir + "/state/rollouts.json";
  ManualClock clock;
  {
    RolloutMachine m(makeRecord(), clock);
    ASSERT_TRUE(m.prewarmDone(3, "3 prompts").ok());
    ASSERT_TRUE(m.parityResult(parity(GateOutcome::Successful)).ok());
    clock.advanceMs(1000);
    ASSERT_TRUE(m.tick(obs(20, 0, 50), obs(100, 0, 50)));
    ASSERT_EQ(m.greenWeightPermille(), 500u);
    ASSERT_TRUE(saveRecords(path, {m.record()}).ok());
  }  // the "gateway" is gone
  auto loaded = loadRecords(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  const auto& r = loaded->front();
  EXPECT_EQ(r.id, 7u);
  EXPECT_EQ(r.phase, Phase::Shifting);
  EXPECT_EQ(r.step, 1u);
  EXPECT_EQ(r.prewarmed, 3u);
  EXPECT_EQ(r.green_endpoints, std::vector<std::string>{"fra-green"});
  EXPECT_EQ(r.thresholds.min_requests, 10u);
  ASSERT_EQ(r.gates.size(), 3u);  // parity, error_rate, ttft_p99
  ManualClock later(5'000'000'000);
  RolloutMachine m(*loaded->begin(), later);
  EXPECT_EQ(m.greenWeightPermille(), 500u);  // same weight right after the restart
  // The step timer restarts: nothing is judged before step_ms in the new process.
  EXPECT_FALSE(m.tick(obs(20, 0, 50), obs(100, 0, 50)));
  later.advanceMs(1000);
  EXPECT_TRUE(m.tick(obs(20, 0, 50), obs(100, 0, 50)));
  EXPECT_EQ(m.greenWeightPermille(), 1000u);
  later.advanceMs(1000);
  EXPECT_TRUE(m.tick(obs(20, 0, 50), obs(100, 0, 50)));
  EXPECT_EQ(m.phase(), Phase::Promoted);
  std::filesystem::remove_all(dir);
}

TEST(RolloutStore, MissingFileIsEmptyCorruptFileIsAnError) {
  std::string dir = testing::makeTempDir("rollout-store");
  auto none = loadRecords(dir + "/absent.json");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(recordsFromJson("{\"rollouts\":[{\"id\":1}]}").ok());
  EXPECT_FALSE(recordsFromJson("not json").ok());
  EXPECT_FALSE(recordsFromJson(
      "{\"rollouts\":[{\"id\":1,\"region\":\"r\",\"model\":\"m\",\"from\":\"a\",\"to\":\"b\","
      "\"steps\":[100],\"state\":\"exploded\"}]}").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace regiongate::rollout
