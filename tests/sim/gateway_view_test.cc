// routing.candidate_info: gateway -- the planner gives the policy what the gateway's proxy gives
// it: in-flight counts only (no queue estimate) and the request's prefix only once its first token
// is out (the proxy calls onRouted at the upstream's response head). docs/planner.md.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "routing/policy.h"
#include "sim/deployment.h"
#include "sim/simulation.h"

namespace regiongate::sim {
namespace {

class EventLog final : public routing::Policy {
public:
  std::string_view name() const override { return "log"; }
  size_t pick(const routing::RouteRequest&, std::span<const routing::Candidate> c) override {
    events.push_back("pick");
    queue_known.push_back(c[0].queue_known);
    in_flight.push_back(c[0].in_flight);
    return 0;
  }
  void onRouted(const routing::RouteRequest&, uint32_t) override { events.push_back("routed"); }
  void onCompleted(uint32_t, const routing::RouteRequest&, double, uint64_t) override {
    events.push_back("first_token");
  }
  std::vector<std::string> events;
  std::vector<bool> queue_known;
  std::vector<uint32_t> in_flight;
};

SimResult runTwo(bool gateway_view, EventLog& log) {
  Trace t;
  t.tokens_per_block = 4;
  for (int i = 0; i < 2; ++i) {
    TraceRequest r;
    r.arrival_ms = i;  // the second arrives while the first is prefilling
    r.input_tokens = 8;
    r.output_tokens = 1;
    r.blocks = {chainBlockId(0, 1), chainBlockId(chainBlockId(0, 1), 2)};
    t.requests.push_back(r);
  }
  InstanceParams p;
  p.prefill_ms_per_token = 1.0;
  p.ttft_fixed_ms = 0;
  SimConfig c;
  c.instances.push_back({"i0", "r", p});
  c.pools.push_back({"EU", {0}});
  c.expose_queue = !gateway_view;
  c.learn_at_first_token = gateway_view;
  return runSimulation(c, t, {}, log);
}

// plan-validate's timeline: request 0 is routed at 0, reaches the instance 5 ms later (transit)
// and its first token (at 13, decode 0: also its end) reaches the router 3 ms later (return):
// its TTFT counts the transit, the policy learns its prefix at 16, and until then the router
// still counts it in flight, as the gateway does.
TEST(GatewayView, TransitAndReturnDelaysAreTheRoutersView) {
  Trace t;
  t.tokens_per_block = 4;
  for (double at : {0.0, 14.0}) {
    TraceRequest r;
    r.arrival_ms = at;
    r.input_tokens = 8;
    r.output_tokens = 1;
    r.blocks = {chainBlockId(0, 1), chainBlockId(chainBlockId(0, 1), 2)};
    t.requests.push_back(r);
  }
  t.requests[0].transit_ms = 5;
  t.requests[0].return_ms = 3;
  InstanceParams p;
  p.prefill_ms_per_token = 1.0;
  p.ttft_fixed_ms = 0;
  SimConfig c;
  c.instances.push_back({"i0", "r", p});
  c.pools.push_back({"EU", {0}});
  c.expose_queue = false;
  c.learn_at_first_token = true;
  EventLog log;
  SimResult res = runSimulation(c, t, {}, log);
  ASSERT_EQ(res.outcomes.size(), 2u);
  EXPECT_DOUBLE_EQ(res.outcomes[0].ttft_ms, 5 + 8);
  EXPECT_DOUBLE_EQ(res.outcomes[1].ttft_ms, 4);  // one block cached: 4 tokens to prefill
  // 13: request 0's first token (onCompleted at once); 14: request 1 routed; 16: the router
  // learns request 0's prefix; 18: request 1's first token, learnt at once.
  EXPECT_EQ(log.events, (std::vector<std::string>{"pick", "first_token", "pick", "routed",
                                                  "routed", "first_token"}));
  EXPECT_EQ(log.in_flight, (std::vector<uint32_t>{0, 1}));  // request 0's end not heard yet
}

TEST(GatewayView, PolicyLearnsAtRoutingByDefault) {
  EventLog log;
  runTwo(false, log);
  EXPECT_EQ(log.events, (std::vector<std::string>{"pick", "routed", "pick", "routed",
                                                  "first_token", "first_token"}));
  EXPECT_EQ(log.queue_known, (std::vector<bool>{true, true}));
}

TEST(GatewayView, PolicyLearnsAtFirstTokenAndSeesNoQueueLikeTheGateway) {
  EventLog log;
  SimResult r = runTwo(true, log);
  EXPECT_EQ(log.events, (std::vector<std::string>{"pick", "pick", "routed", "first_token",
                                                  "routed", "first_token"}));
  EXPECT_EQ(log.queue_known, (std::vector<bool>{false, false}));
  // The schedule itself does not change: only what the policy knows, and when.
  EXPECT_DOUBLE_EQ(r.outcomes[0].ttft_ms, 8);
  // 4 of its 8 tokens cached (the block holding the last token is always recomputed, as in the
  // mock and vLLM): waits 7 ms, prefills 4.
  EXPECT_DOUBLE_EQ(r.outcomes[1].ttft_ms, 7 + 4);
}

TEST(GatewayView, DeploymentKey) {
  const std::string base = R"(
name: t
jurisdictions: { EU: { preset: EEA, traffic_share: 1 } }
regions: { eu-central-1: { country: DE } }
)";
  auto def = parseDeployment(base);
  ASSERT_TRUE(def.ok()) << def.error().message;
  EXPECT_EQ(def.value().candidate_info, "simulator");
  auto gw =
      parseDeployment(base + "routing: { policy: estimated_ttft, candidate_info: gateway }\n");
  ASSERT_TRUE(gw.ok()) << gw.error().message;
  EXPECT_EQ(gw.value().candidate_info, "gateway");
  auto bad = parseDeployment(base + "routing: { candidate_info: psychic }\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("candidate_info"), std::string::npos);
}

}  // namespace
}  // namespace regiongate::sim
