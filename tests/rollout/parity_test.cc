// Parity statistics, suite parsing (jurisdiction binding) and the verdict with a fake fetch.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "rollout/parity.h"
#include "rollout/prompt_sample.h"
#include "rollout/view.h"

namespace regiongate::rollout {
namespace {

TEST(ParityStats, EditDistance) {
  EXPECT_DOUBLE_EQ(normalizedEditDistance("abc", "abc"), 0.0);
  EXPECT_DOUBLE_EQ(normalizedEditDistance("", ""), 0.0);
  EXPECT_DOUBLE_EQ(normalizedEditDistance("abc", ""), 1.0);
  EXPECT_NEAR(normalizedEditDistance("kitten", "sitting"), 3.0 / 7.0, 1e-12);
}

TEST(ParityStats, MannWhitney) {
  std::vector<double> zeros(20, 0.0), ones(30, 0.9), mixed;
  EXPECT_LT(mannWhitneyGreaterP(zeros, ones), 1e-6);    // across clearly above within
  EXPECT_GT(mannWhitneyGreaterP(ones, zeros), 0.99);    // the other direction is not "greater"
  EXPECT_DOUBLE_EQ(mannWhitneyGreaterP(zeros, zeros), 1.0);  // all tied: no evidence
  EXPECT_DOUBLE_EQ(mannWhitneyGreaterP({}, ones), 1.0);
  for (int i = 0; i < 40; ++i) mixed.push_back((i % 10) / 10.0);
  std::vector<double> same(mixed.begin(), mixed.begin() + 20), other(mixed.begin() + 20, mixed.end());
  EXPECT_GT(mannWhitneyGreaterP(same, other), 0.05);
}

constexpr const char* kConfig = R"(
jurisdictions:
  EU: { preset: EEA }
  US: { countries: [US] }
regions:
  eu-central-1: { country: DE }
  us-east-1: { country: US }
endpoints:
  - { name: fra, url: "http://127.0.0.1:1", region: eu-central-1, models: [m@v1] }
  - { name: iad, url: "http://127.0.0.1:2", region: us-east-1, models: [m@v1] }
tenants: []
audit: { sink: none }
)";

TEST(ParitySuite, JurisdictionIsRequiredAndBound) {
  EXPECT_FALSE(parseSuite(R"({"model":"m","prompt":"x"})", "").ok());
  auto bound = parseSuite(R"({"model":"m","prompt":"x"})", "EU");
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(bound->front().jurisdiction, "EU");
  EXPECT_FALSE(parseSuite(R"({"model":"m","prompt":"x","jurisdiction":"US"})", "EU").ok());
  EXPECT_FALSE(parseSuite(R"({"model":"m"})", "EU").ok());
  auto chat = parseSuite("# comment\n\n{\"id\":\"a\",\"jurisdiction\":\"EU\",\"model\":\"m\","
                         "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n", "");
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(chat->size(), 1u);
  std::string body = parityRequestBody(chat->front(), 42);
  EXPECT_NE(body.find("\"temperature\":0"), std::string::npos);
  EXPECT_NE(body.find("\"seed\":42"), std::string::npos);
}

ParityGroup group(const std::string& region, const std::string& version, const std::string& ep) {
  ParityGroup g;
  g.region = region;
  g.model = "m";
  g.version = version;
  g.endpoints.push_back({ep, region, version, "127.0.0.1", "", "", 1});
  return g;
}

TEST(ParityRun, DivergentGroupFailsFaithfulPassesAndSuiteStaysInJurisdiction) {
  auto cfg = loadConfigString(kConfig);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  std::string suite_text;
  for (int i = 0; i < 6; ++i)
    suite_text += "{\"id\":\"p" + std::to_string(i) +
                  "\",\"jurisdiction\":\"EU\",\"model\":\"m\",\"prompt\":\"question " +
                  std::to_string(i) + "\"}\n";
  auto suite = parseSuite(suite_text, "");
  ASSERT_TRUE(suite.ok());
  std::vector<std::string> contacted;
  ParityFetch fetch = [&](const ParityEndpoint& ep, const std::string& body) -> Result<std::string> {
    contacted.push_back(ep.name);
    std::string answer = "answer to " + body.substr(body.find("question"), 10);
    if (ep.name == "fra-divergent") answer = "something else entirely " + answer.substr(10);
    return answer;
  };
  ParityOptions o;
  // Faithful: green answers as blue does.
  std::vector<ParityGroup> groups = {group("eu-central-1", "v1", "fra"),
                                     group("eu-central-1", "v2", "fra-faithful"),
                                     group("us-east-1", "v1", "iad")};
  runGroups(**cfg, *suite, groups, o, fetch);
  EXPECT_EQ(std::count(contacted.begin(), contacted.end(), "iad"), 0)
      << "an EU suite must never reach a US endpoint";
  EXPECT_EQ(groups[0].answered, 6u * o.runs);
  auto ok = buildReport({groups[0], groups[1]}, *suite, o);
  EXPECT_EQ(ok.verdict, GateOutcome::Successful) << ok.verdict_detail;
  EXPECT_DOUBLE_EQ(ok.pairs.at(0).exact_match_rate, 1.0);

  std::vector<ParityGroup> bad = {group("eu-central-1", "v1", "fra"),
                                  group("eu-central-1", "v2", "fra-divergent")};
  runGroups(**cfg, *suite, bad, o, fetch);
  auto rep = buildReport(bad, *suite, o);
  EXPECT_EQ(rep.verdict, GateOutcome::Failed) << rep.verdict_detail;
  EXPECT_DOUBLE_EQ(rep.pairs.at(0).exact_match_rate, 0.0);
  EXPECT_LT(rep.pairs.at(0).p_value, o.alpha);
  EXPECT_NE(rep.toJson().find("\"verdict\":\"failed\""), std::string::npos);

  // Every answer failing: nothing to compare -> Inconclusive, never Successful.
  std::vector<ParityGroup> dead = {group("eu-central-1", "v1", "fra"), group("eu-central-1", "v2", "x")};
  runGroups(**cfg, *suite, dead, o, [](const ParityEndpoint&, const std::string&) -> Result<std::string> {
    return Error::internal("down");
  });
  EXPECT_EQ(buildReport(dead, *suite, o).verdict, GateOutcome::Inconclusive);
}

TEST(RolloutView, PinsOneVersionPerRequestByWeight) {
  RolloutView v;
  v.versions = {{{"m", "v1"}}, {{"m", "v2"}}, {{"m", "v1"}}};
  v.region_of_endpoint = {"eu-central-1", "eu-central-1", "eu-west-1"};
  v.entries.push_back({"eu-central-1", "m", "v1", "v2", 300, true});
  int green = 0;
  for (uint64_t draw = 0; draw < 1000; ++draw) {
    std::vector<uint32_t> members = {0, 1, 2};
    std::string pv;
    ASSERT_TRUE(v.pin("m", false, draw, members, pv));
    ASSERT_FALSE(members.empty());
    for (uint32_t m : members) EXPECT_EQ(v.versionOf(m, "m"), pv);  // never mixed
    if (pv == "v2") {
      ++green;
      EXPECT_EQ(members, std::vector<uint32_t>{1});
    } else {
      EXPECT_EQ(members, (std::vector<uint32_t>{0, 2}));
    }
  }
  EXPECT_EQ(green, 300);
  std::vector<uint32_t> members = {0, 1, 2};
  std::string pv;
  EXPECT_FALSE(v.pin("other-model", false, 1, members, pv));
  EXPECT_EQ(members.size(), 3u);
}

TEST(PromptSampler, HottestPrefixFirstAndBounded) {
  PromptSampler s(16);
  auto key = PromptSampler::key("EU", "eu-central-1", "m");
  for (int i = 0; i < 10; ++i) s.record(key, std::vector<uint64_t>{1, 2, 3}, "hot");
  s.record(key, std::vector<uint64_t>{9}, "cold");
  for (uint64_t i = 100; i < 200; ++i) s.record(key, std::vector<uint64_t>{i}, "noise");
  EXPECT_LE(s.entries(key), 16u);
  auto top = s.hottest("eu-central-1", "m", 1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0], "hot");
  EXPECT_TRUE(s.hottest("us-east-1", "m", 5).empty());
  std::string pw = prewarmBody(R"({"model":"m","stream":true,"max_tokens":99,"messages":[]})");
  EXPECT_EQ(pw, R"({"model":"m","messages":[],"max_tokens":1,"stream":false})");
}

}  // namespace
}  // namespace regiongate::rollout

namespace regiongate::rollout {
namespace {

// Versions and ids from an endpoint's /v1/models are peer strings: CR/LF, NUL, 10 KB values and
// bytes outside the character set are refused (counted, first few kept escaped), never returned.
TEST(ModelDiscovery, InvalidVersionsAndIdsAreRefusedNeverReturned) {
  const std::string big(10 * 1024, 'v');
  std::string body = "{\"data\":["
                     "{\"id\":\"good\",\"version\":\"v2\"},"
                     "{\"id\":\"tagged@v3\"},"
                     "{\"id\":\"crlf\",\"version\":\"v2\\r\\nx-evil: 1\"},"
                     "{\"id\":\"nul\",\"version\":\"v\\u00002\"},"
                     "{\"id\":\"huge\",\"version\":\"" + big + "\"},"
                     "{\"id\":\"bad id\",\"version\":\"v1\"},"
                     "{\"id\":\"utf8\",\"version\":\"v\\u00e9\"}]}";
  RefusedModelEntries refused;
  auto got = parseModelVersions(body, &refused);
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"good", "v2"}, {"tagged", "v3"}}));
  EXPECT_EQ(refused.count, 5u);
  ASSERT_EQ(refused.examples.size(), 4u);
  EXPECT_EQ(refused.examples[0],
            "invalid model version \"v2\\x0d\\x0ax-evil: 1\": has a byte outside its character set");
  EXPECT_NE(refused.examples[2].find("longer than 64 bytes"), std::string::npos);
  for (const auto& e : refused.examples) EXPECT_LT(e.size(), 300u) << e;
  // Without the out-parameter the same entries are left out.
  EXPECT_EQ(parseModelVersions(body), got);
}

}  // namespace
}  // namespace regiongate::rollout
