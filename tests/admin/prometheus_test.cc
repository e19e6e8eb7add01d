// Prometheus tooling over what we ship: the live /metrics of a real gateway passes
// `promtool check metrics`, and deploy/prometheus/alerts.yml passes `promtool check rules` and
// its unit tests (`promtool test rules deploy/prometheus/alerts_test.yml`).
#include <gtest/gtest.h>

#include <simdjson.h>

#include <fstream>

#include "../gateway/gateway_fixture.h"
#include "run_command.h"

namespace regiongate::testing {
namespace {

std::string promtool() { return findProgram("promtool"); }
const std::string kRulesDir = std::string(REGIONGATE_SOURCE_DIR) + "/deploy/prometheus";

TEST(Prometheus, LiveMetricsPassPromtoolCheck) {
  if (promtool().empty()) GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  // Some traffic so every family has samples (histograms, labelled counters).
  ASSERT_EQ(d.chat(kEuKey, "hello", true).status, 200);
  ASSERT_EQ(d.chat(kUsKey, "hello", false).status, 200);
  HttpClient gw(d.port());
  gw.post("/v1/chat/completions", R"({"model":"nope","messages":[{"role":"user","content":"x"}]})",
          {{"authorization", "Bearer " + kEuKey}});
  std::string text = d.metrics();
  ASSERT_NE(text.find("regiongate_ttft_seconds_bucket"), std::string::npos);
  std::string path = d.dir() + "/metrics.txt";
  std::ofstream(path) << text;
  auto r = runCommand("timeout 60 " + shellQuote(promtool()) + " check metrics < " + shellQuote(path));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // promtool reports lint problems on stdout even for some exit-0 cases; there must be none.
  EXPECT_EQ(r.output, "") << r.output;
}

TEST(Prometheus, AlertRulesAreValid) {
  if (promtool().empty()) GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  auto r = runCommand("timeout 60 " + shellQuote(promtool()) + " check rules " +
                      shellQuote(kRulesDir + "/alerts.yml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
}

TEST(Prometheus, AlertRuleUnitTestsPass) {
  if (promtool().empty()) GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  auto r = runCommand("cd " + shellQuote(kRulesDir) + " && timeout 120 " + shellQuote(promtool()) +
                      " test rules alerts_test.yml");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
}

// Every alert in alerts.yml has a firing case and a non-firing case in alerts_test.yml.
TEST(Prometheus, EveryAlertHasFiringAndQuietCases) {
  std::string rules = Deployment::readFile(kRulesDir + "/alerts.yml");
  std::string tests = Deployment::readFile(kRulesDir + "/alerts_test.yml");
  ASSERT_FALSE(rules.empty());
  ASSERT_FALSE(tests.empty());
  std::vector<std::string> alerts;
  for (size_t p = rules.find("- alert: "); p != std::string::npos; p = rules.find("- alert: ", p + 1))
    alerts.push_back(rules.substr(p + 9, rules.find('\n', p) - p - 9));
  ASSERT_GE(alerts.size(), 6u);
  for (const auto& a : alerts) {
    int firing = 0, quiet = 0;
    std::string key = "alertname: " + a + "\n";
    for (size_t p = tests.find(key); p != std::string::npos; p = tests.find(key, p + 1)) {
      size_t next = tests.find('\n', p + key.size());
      std::string line = tests.substr(p + key.size(), next - p - key.size());
      if (line.find("exp_alerts: []") != std::string::npos) ++quiet;
      else if (line.find("exp_alerts:") != std::string::npos) ++firing;
    }
    EXPECT_GE(firing, 1) << a << " has no firing case";
    EXPECT_GE(quiet, 1) << a << " has no non-firing case";
  }
}

// Every query of the Grafana dashboard parses as PromQL (promtool checks them as recording rules,
// with Grafana's $__rate_interval and $jurisdiction substituted) and names regiongate metrics.
TEST(Grafana, DashboardQueriesAreValidPromQL) {
  if (promtool().empty()) GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  std::string path = std::string(REGIONGATE_SOURCE_DIR) + "/deploy/grafana/regiongate.json";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.load(path).get(doc), simdjson::SUCCESS) << path;
  std::vector<std::string> exprs;
  simdjson::dom::array panels;
  ASSERT_EQ(doc["panels"].get(panels), simdjson::SUCCESS);
  for (auto p : panels) {
    simdjson::dom::array targets;
    if (p["targets"].get(targets) != simdjson::SUCCESS) continue;
    for (auto t : targets) {
      std::string_view e;
      ASSERT_EQ(t["expr"].get(e), simdjson::SUCCESS);
      exprs.emplace_back(e);
    }
  }
  ASSERT_GE(exprs.size(), 15u);
  std::string rules = "groups:\n  - name: grafana\n    rules:\n";
  for (size_t i = 0; i < exprs.size(); ++i) {
    std::string e = exprs[i];
    EXPECT_NE(e.find("regiongate"), std::string::npos) << e;
    for (auto [from, to] : {std::pair{std::string("$__rate_interval"), std::string("5m")},
                            std::pair{std::string("$jurisdiction"), std::string(".*")}})
      for (size_t p = e.find(from); p != std::string::npos; p = e.find(from, p))
        e.replace(p, from.size(), to);
    std::string quoted;
    for (char c : e) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    rules += "      - record: grafana:q" + std::to_string(i) + "\n        expr: '" + quoted + "'\n";
  }
  std::string dir = makeTempDir("grafana");
  std::ofstream(dir + "/rules.yml") << rules;
  auto r = runCommand("timeout 60 " + shellQuote(promtool()) + " check rules " +
                      shellQuote(dir + "/rules.yml"));
  runCommand("rm -rf " + shellQuote(dir));
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << rules;
}

}  // namespace
}  // namespace regiongate::testing
