// Runs the real `regiongate check` binary on the example configs: exit codes 0/1/2 and JSON.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult runCheck(const std::string& args) {
  static int counter = 0;
  std::string base = testing::TempDir() + "/check_cli_" + std::to_string(::getpid()) + "_" +
                     std::to_string(counter++);
  std::string cmd = std::string("'") + REGIONGATE_BIN + "' check " + args + " >" + base +
                    ".out 2>" + base + ".err </dev/null";
  int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

std::string example(const std::string& name) {
  return std::string("'") + REGIONGATE_SOURCE_DIR + "/examples/" + name + "'";
}

std::set<std::string> codes(simdjson::dom::element doc, const char* list) {
  std::set<std::string> out;
  for (auto f : doc[list].get_array()) out.emplace(std::string_view(f["code"].get_string()));
  return out;
}

TEST(CheckCliTest, GoodExampleExitsZeroWithJson) {
  auto r = runCheck("--config " + example("gateway.yaml") + " --format json --today 2026-01-15");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
  EXPECT_TRUE(bool(doc["ok"].get_bool()));
  EXPECT_EQ(std::string_view(doc["today"].get_string()), "2026-01-15");
  EXPECT_EQ(doc["errors"].get_array().size(), 0u);
  EXPECT_EQ(codes(doc, "warnings").count("ingress_unproven"), 1u);
  // Every path of an EU tenant lies in DE or IE; every US path in the US.
  size_t paths = 0;
  for (auto p : doc["paths"].get_array()) {
    std::string_view j = p["jurisdiction"].get_string(), c = p["country"].get_string();
    if (j == "EU")
      EXPECT_TRUE(c == "DE" || c == "IE") << c;
    else
      EXPECT_EQ(c, "US");
    ++paths;
  }
  EXPECT_EQ(paths, 2u * 2u * 3u + 1u * 2u * 2u);  // EU: 2 tenants x 2 models x 3 endpoints
}

TEST(CheckCliTest, EuOnlyGatewayProvesIngress) {
  auto r = runCheck("--config " + example("gateway-eu.yaml") + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(codes(doc, "warnings").count("ingress_unproven"), 0u);
  bool ingress_row = false;
  for (auto p : doc["paths"].get_array())
    if (std::string_view(p["via"].get_string()) == "ingress") ingress_row = true;
  EXPECT_TRUE(ingress_row);
}

TEST(CheckCliTest, UnsafeExampleExitsOneAndNamesTheBreaks) {
  auto r = runCheck("--config " + example("bad-proof.yaml") + " --format json");
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
  EXPECT_FALSE(bool(doc["ok"].get_bool()));
  auto errs = codes(doc, "errors");
  EXPECT_EQ(errs, (std::set<std::string>{"ingress_outside_jurisdiction",
                                         "rollout_green_outside_jurisdiction",
                                         "forwarding_without_evidence"}));
  bool named = false;
  for (auto e : doc["errors"].get_array())
    if (std::string_view(e["code"].get_string()) == "rollout_green_outside_jurisdiction")
      named = std::string_view(e["tenant"].get_string()) == "acme-bank" &&
              std::string_view(e["model"].get_string()) == "llama-3.1-8b" &&
              std::string_view(e["endpoint"].get_string()) == "iad-a" &&
              std::string_view(e["country"].get_string()) == "US";
  EXPECT_TRUE(named) << r.out;

  auto table = runCheck("--config " + example("bad-proof.yaml"));
  EXPECT_EQ(table.exit_code, 1);
  EXPECT_NE(table.out.find("PROOF FAILED"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("error[ingress_outside_jurisdiction]"), std::string::npos);
}

TEST(CheckCliTest, ConfigErrorExitsTwoNamingFileLineKey) {
  auto r = runCheck("--config " + example("bad-config.yaml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad-config.yaml:9: endpoints[1].region: unknown region 'eu-west-9'"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CheckCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(runCheck("").exit_code, 2);  // --config is required
  EXPECT_EQ(runCheck("--config /nonexistent.yaml").exit_code, 2);
  EXPECT_EQ(runCheck("--config " + example("gateway.yaml") + " --format xml").exit_code, 2);
  auto bad_date = runCheck("--config " + example("gateway.yaml") + " --today 2026-02-30");
  EXPECT_EQ(bad_date.exit_code, 2);
  EXPECT_NE(bad_date.err.find("--today"), std::string::npos);
}

TEST(CheckCliTest, HelpExplainsExitCodes) {
  auto r = runCheck("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--format"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos) << r.out;
}

}  // namespace

// The provider examples name https:// hosts: until the TLS client is in, the loader refuses them
// (the proof itself is covered on the same files by provider_proof_test.cc).
bool httpsRefused(const RunResult& r) {
  return r.exit_code == 2 && r.err.find("only http:// upstreams") != std::string::npos;
}

TEST(CheckCliTest, ProviderExamplesProvedOrRefusedWithoutSecrets) {
  // No provider credential is set in this process: check names credentials, never reads them.
  struct Expect {
    const char* file;
    int exit_code;
    const char* error_code;  // "" = none expected
  };
  for (Expect e : {Expect{"providers/bedrock-eu.yaml", 0, ""},
                   Expect{"providers/bedrock-us-profile.yaml", 1, "forwarding_without_evidence"},
                   Expect{"providers/azure-eu-data-zone.yaml", 1, "forwarding_outside_jurisdiction"},
                   Expect{"providers/anthropic-us.yaml", 0, ""},
                   Expect{"providers/openai-eu.yaml", 0, ""}}) {
    auto r = runCheck("--config " + example(e.file) + " --format json --today 2026-12-05");
    if (httpsRefused(r)) GTEST_SKIP() << "https:// upstreams not supported by this build yet";
    ASSERT_EQ(r.exit_code, e.exit_code) << e.file << "\n" << r.out << r.err;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
    if (*e.error_code) EXPECT_EQ(codes(doc, "errors").count(e.error_code), 1u) << e.file << r.out;
  }
}

TEST(CheckCliTest, BedrockUsProfileTableNamesThePath) {
  auto r = runCheck("--config " + example("providers/bedrock-us-profile.yaml"));
  if (httpsRefused(r)) GTEST_SKIP() << "https:// upstreams not supported by this build yet";
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("tenant 'acme-bank' -> model 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'"
                       " -> endpoint 'bedrock-fra' (region eu-central-1) -> bedrock inference "
                       "profile us."),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("PROOF FAILED"), std::string::npos) << r.out;
}
