// Integration: a backend announces hostile model versions on /v1/models (CR/LF, a 10 KB string);
// the gateway's version discovery refuses them: counted in
// regiongate_peer_strings_refused_total{kind="model_version"}, logged escaped, never stored (not
// in /admin/status, not in x-regiongate-model-version). A valid new version is still picked up
// and replaces the old one's series in regiongate_model_version_info.
#include <gtest/gtest.h>

#include "common/json.h"
#include "gateway_fixture.h"

namespace regiongate::testing {
namespace {

double refusedVersions(Deployment& d) {
  return Deployment::metricSum(d.metrics(), "regiongate_peer_strings_refused_total",
                               {"kind=\"model_version\""});
}

HttpReply announce(Deployment& d, const std::string& backend, const std::string& version) {
  HttpClient c(d.backendByName(backend).port);
  return c.post("/admin/version",
                "{\"model\":\"llama-3.1-8b\",\"version\":" + jsonString(version) + "}");
}

// Polls (bounded) until `done` holds; discovery runs every 100 ms here.
template <class F>
bool eventually(F done) {
  for (int i = 0; i < 300; ++i) {
    if (done()) return true;
    usleep(20000);  // bounded poll of the gateway's state, not synchronisation by sleeping
  }
  return done();
}

TEST(DiscoveryValidation, HostileVersionsAreRefusedCountedAndNeverUsed) {
  Deployment d;
  GatewaySettings s;
  s.extra_yaml = "rollout: { discovery_interval_ms: 100, tick_ms: 20 }\n";
  ASSERT_TRUE(d.startGateway(s));
  const double before = refusedVersions(d);
  ASSERT_EQ(announce(d, "fra-a", "v2\r\nx-evil: 1").status, 200);
  ASSERT_EQ(announce(d, "fra-b", std::string(10 * 1024, 'v')).status, 200);
  EXPECT_TRUE(eventually([&] { return refusedVersions(d) >= before + 2; }))
      << "refused: " << refusedVersions(d) - before;

  HttpClient admin(d.adminPort());
  std::string status = admin.get("/admin/status").body;
  EXPECT_EQ(status.find("x-evil"), std::string::npos) << status;
  EXPECT_EQ(status.find(std::string(100, 'v')), std::string::npos) << "the 10 KB version was stored";
  for (int i = 0; i < 4; ++i) {
    auto r = d.chat(kEuKey, "which version " + std::to_string(i), false,
                    {{"x-regiongate-region", "eu-central-1"}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-regiongate-model-version"), "v1");
    EXPECT_EQ(r.header("x-evil"), "");
  }
  std::string log = Deployment::readFile(d.dir() + "/gateway.stderr");
  EXPECT_NE(log.find("v2\\x0d\\x0ax-evil: 1"), std::string::npos) << log;
  EXPECT_EQ(log.find("v2\r\nx-evil"), std::string::npos) << "raw CR/LF reached the log";
  EXPECT_EQ(log.find(std::string(200, 'v')), std::string::npos) << "the 10 KB value was logged whole";

  // A valid version is still discovered.
  ASSERT_EQ(announce(d, "fra-a", "v2").status, 200);
  EXPECT_TRUE(eventually([&] {
    return admin.get("/admin/status").body.find("\"version\":\"v2\"") != std::string::npos;
  })) << admin.get("/admin/status").body;
  // The version info shows what fra-a serves now; v1's series is gone, not kept at 0.
  const std::string m = d.metrics();
  const std::string fra_a = "regiongate_model_version_info{region=\"eu-central-1\",endpoint=\"fra-a\","
                            "model=\"llama-3.1-8b\",version=";
  EXPECT_NE(m.find(fra_a + "\"v2\"} 1"), std::string::npos) << m;
  EXPECT_EQ(m.find(fra_a + "\"v1\"}"), std::string::npos) << m;
}

}  // namespace
}  // namespace regiongate::testing
