#pragma once
// The demo's workload: a SaaS vendor's assistants (one system prompt each, shared by every tenant
// and both jurisdictions: the same product sold in the EU and the US) used by two user pools,
// a large US one and a smaller EU one. Each user holds multi-turn conversations (every turn
// resends the conversation so far). Popularity of the assistants is skewed (a few are used a lot,
// a long tail rarely), so a smaller pool sees each tail prompt less often: the mechanism behind
// the KV-cache isolation penalty.
//
// Not thread-safe: one Conversation per client thread.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace regiongate::demo {

struct DemoTenant {
  std::string name;
  std::string key;           // bearer key (demo only)
  std::string jurisdiction;  // EU | US
};

// The demo's tenants: two per jurisdiction.
const std::vector<DemoTenant>& demoTenants();

// The assistants' system prompts, most popular first (each ~1,000-1,500 mock tokens, as real
// system prompts with policies and examples are).
const std::vector<std::string>& assistantPrompts();

struct UserPool {
  std::string jurisdiction;
  uint32_t users = 0;
  uint32_t first_user = 0;  // user ids are global; pools do not overlap
};

// One client's stream of requests: picks a user of its pool, an assistant (Zipf), and holds a
// conversation of 2-6 turns before picking again.
class Conversation {
public:
  Conversation(const UserPool& pool, uint64_t seed);
  // The next request's JSON body (streaming chat completion) and the tenant that sends it.
  std::string nextBody(const std::string& model);
  const DemoTenant& tenant() const { return *tenant_; }
  // The assistant's previous answer is appended to the conversation (as a client would).
  void answered(const std::string& text);

private:
  void startConversation();

  UserPool pool_;
  std::mt19937_64 rng_;
  const DemoTenant* tenant_ = nullptr;
  std::string messages_;  // JSON array body so far, without the closing bracket
  uint32_t user_ = 0;
  int turns_left_ = 0;
  int turn_ = 0;
};

// JSON string escaping for the demo's own texts.
std::string jsonEscape(const std::string& s);

}  // namespace regiongate::demo
