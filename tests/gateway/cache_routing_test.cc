// On the same multi-turn workload, the gateway's estimated_ttft policy raises the KV-cache
// hits the mock backends themselves measure (their cached_tokens) over round_robin.
#include <gtest/gtest.h>

#include "gateway_fixture.h"

namespace regiongate::testing {
namespace {

uint64_t jsonNumber(const std::string& body, const std::string& key) {
  auto k = body.find("\"" + key + "\":");
  if (k == std::string::npos) return 0;
  return std::strtoull(body.c_str() + k + key.size() + 3, nullptr, 10);
}

// Runs 9 sessions x 6 turns for the EU tenant; each turn resends the whole conversation, as chat
// clients do. Returns {cached_tokens, prompt_tokens} summed over the EU backends' own stats.
std::pair<uint64_t, uint64_t> runWorkload(const std::string& policy) {
  Deployment d;
  GatewaySettings s;
  s.policy = policy;
  EXPECT_TRUE(d.startGateway(s));
  for (int session = 0; session < 9; ++session) {
    HttpClient c(d.port());  // one keep-alive connection per session (stays on one worker)
    std::string convo = R"([{"role":"system","content":"You are the assistant of tenant number )" +
                        std::to_string(session % 3) +
                        R"(. Answer briefly and politely, cite the policy section, never guess."})";
    for (int turn = 0; turn < 6; ++turn) {
      std::string q = "Session " + std::to_string(session) + " turn " + std::to_string(turn) +
                      " asks a fairly long question about accounts, transfers, fees and limits so "
                      "that every turn adds a few prefix blocks of fresh text to the conversation.";
      convo += R"(,{"role":"user","content":")" + q + R"("})";
      auto r = c.post("/v1/chat/completions",
                      R"({"model":"llama-3.1-8b","messages":)" + convo + "]}",
                      {{"authorization", "Bearer " + kEuKey}});
      EXPECT_EQ(r.status, 200) << r.body;
      convo += R"(,{"role":"assistant","content":"Answer )" + std::to_string(turn) + R"(."})";
    }
  }
  uint64_t cached = 0, prompt = 0;
  for (const char* b : {"fra-a", "fra-b", "dub-a"}) {
    HttpClient admin(d.backendByName(b).port);
    auto st = admin.get("/admin/stats");
    cached += jsonNumber(st.body, "cached_tokens");
    prompt += jsonNumber(st.body, "prompt_tokens");
  }
  return {cached, prompt};
}

TEST(CacheAwareRouting, RaisesTheBackendsMeasuredCachedTokensOverRoundRobin) {
  auto [rr_cached, rr_prompt] = runWorkload("round_robin");
  auto [ca_cached, ca_prompt] = runWorkload("estimated_ttft");
  ASSERT_GT(rr_prompt, 0u);
  EXPECT_EQ(rr_prompt, ca_prompt) << "the two runs must send the same workload";
  double rr_rate = static_cast<double>(rr_cached) / static_cast<double>(rr_prompt);
  double ca_rate = static_cast<double>(ca_cached) / static_cast<double>(ca_prompt);
  std::cout << "backend-measured hit rate: round_robin " << rr_rate << ", estimated_ttft "
            << ca_rate << "\n";
  EXPECT_GT(ca_rate, rr_rate + 0.15);
}

}  // namespace
}  // namespace regiongate::testing
