#include "demo/workload.h"

#include <fmt/format.h>

#include <cmath>

namespace regiongate::demo {

namespace {

struct Assistant {
  const char* role;
  const char* duties;
};

// The vendor's assistants; each prompt is the role, its duties and a fixed policy handbook.
const Assistant kAssistants[] = {
    {"customer support agent", "answer questions about orders, invoices and accounts"},
    {"billing specialist", "explain charges, refunds, payment methods and tax lines"},
    {"onboarding guide", "walk new customers through setup, integrations and first steps"},
    {"technical troubleshooter", "diagnose errors from logs, configuration and symptoms"},
    {"contract assistant", "summarise clauses, renewal dates and termination terms"},
    {"HR policy helper", "answer questions about leave, benefits and expenses"},
    {"sales qualifier", "learn the prospect's needs and book a call with the right team"},
    {"security questionnaire assistant", "draft answers to vendor security reviews"},
    {"data export helper", "explain exports, formats, retention and deletion requests"},
    {"accessibility advisor", "suggest accessible wording, structure and alternatives"},
    {"release notes writer", "turn change lists into clear customer-facing notes"},
    {"translation reviewer", "check translated UI strings for tone and consistency"},
};

std::string handbook(const char* role) {
  // Deterministic policy text: section titles and rules, about 1,000 words in all.
  static const char* kTopics[] = {"privacy", "tone", "escalation", "accuracy", "scope",
                                  "security", "fairness", "records", "languages", "limits"};
  std::string s;
  for (int section = 0; section < 10; ++section) {
    s += fmt::format(" Section {}: {}.", section + 1, kTopics[section]);
    for (int rule = 0; rule < 6; ++rule)
      s += fmt::format(" Rule {}.{}: as the {}, keep to the {} policy in every answer, say what "
                       "you do not know, and never invent account details or numbers.",
                       section + 1, rule + 1, role, kTopics[section]);
  }
  return s;
}

const char* kQuestions[] = {
    "How do I change my address?", "What does this fee mean?", "Can you explain the last step?",
    "Is there a faster way?", "What happens if I miss the deadline?", "Can I do this online?",
    "Who do I contact for help?", "What documents do I need?", "How long does it take?",
    "Thanks, one more question about that.",
};

}  // namespace

const std::vector<DemoTenant>& demoTenants() {
  static const std::vector<DemoTenant> kTenants = {
      {"acme-bank", "sk-demo-acme-bank", "EU"},
      {"helio-health", "sk-demo-helio", "EU"},
      {"us-retail", "sk-demo-us-retail", "US"},
      {"us-logistics", "sk-demo-us-logistics", "US"},
  };
  return kTenants;
}

const std::vector<std::string>& assistantPrompts() {
  static const std::vector<std::string> kPrompts = [] {
    std::vector<std::string> v;
    for (const auto& a : kAssistants)
      v.push_back(fmt::format("You are the {}. Your job: {}.{}", a.role, a.duties,
                              handbook(a.role)));
    return v;
  }();
  return kPrompts;
}

std::string jsonEscape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    if (c == '"' || c == '\\') o.push_back('\\');
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o.push_back(c);
  }
  return o;
}

Conversation::Conversation(const UserPool& pool, uint64_t seed) : pool_(pool), rng_(seed) {}

void Conversation::startConversation() {
  std::vector<const DemoTenant*> mine;
  for (const auto& t : demoTenants())
    if (t.jurisdiction == pool_.jurisdiction) mine.push_back(&t);
  user_ = pool_.first_user + uint32_t(rng_() % std::max(1u, pool_.users));
  tenant_ = mine[user_ % mine.size()];
  // Zipf(1) over the assistants: the first is used most, the last about 12x less.
  const auto& prompts = assistantPrompts();
  std::vector<double> w(prompts.size());
  for (size_t k = 0; k < w.size(); ++k) w[k] = 1.0 / double(k + 1);
  std::discrete_distribution<size_t> pick(w.begin(), w.end());
  const std::string& system = prompts[pick(rng_)];
  messages_ = "[{\"role\":\"system\",\"content\":\"" + jsonEscape(system) + "\"}";
  turns_left_ = 2 + int(rng_() % 5);
  turn_ = 0;
}

std::string Conversation::nextBody(const std::string& model) {
  if (turns_left_ <= 0 || !tenant_) startConversation();
  --turns_left_;
  ++turn_;
  std::string q = fmt::format("User {} asks: {}", user_, kQuestions[rng_() % 10]);
  messages_ += ",{\"role\":\"user\",\"content\":\"" + jsonEscape(q) + "\"}";
  return "{\"model\":\"" + model + "\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
         "\"messages\":" + messages_ + "]}";
}

void Conversation::answered(const std::string& text) {
  messages_ += ",{\"role\":\"assistant\",\"content\":\"" + jsonEscape(text) + "\"}";
}

}  // namespace regiongate::demo
