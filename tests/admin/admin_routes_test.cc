// Every admin route against the real `regiongate serve`: without a token 401 (typed, OpenAI
// shape), a read token reads but gets 403 on changes, an operate token changes state (each
// rollout change carried through to its effect), the public paths need no token; without any
// token configured, changes are refused with 403 and the gateway says so at start. The
// `rollout` CLI sends the token from --token-file or $REGIONGATE_ADMIN_TOKEN.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "../gateway/gateway_fixture.h"

namespace regiongate::testing {
namespace {

struct Route {
  const char* method;
  std::string target;
  std::string body;
};

const std::string kRolloutBody =
    "{\"region\":\"eu-central-1\",\"model\":\"llama-3.1-8b\",\"to\":\"v2\"}";

std::vector<Route> readRoutes() {
  return {{"GET", "/", ""},
          {"GET", "/admin/status", ""},
          {"GET", "/admin/rollouts", ""},
          {"GET", "/admin/rollouts/eu-central-1/llama-3.1-8b", ""}};
}
std::vector<Route> changeRoutes() {
  return {{"POST", "/admin/reload", ""},
          {"POST", "/admin/rollouts", kRolloutBody},
          {"POST", "/admin/rollouts/eu-central-1/llama-3.1-8b/promote", ""},
          {"POST", "/admin/rollouts/eu-central-1/llama-3.1-8b/abort", ""},
          {"POST", "/admin/rollouts/eu-central-1/llama-3.1-8b/resume", ""}};
}
const char* const kPublic[] = {"/metrics", "/healthz", "/readyz"};

HttpReply call(uint16_t port, const Route& r, const std::string& token) {
  HttpClient c(port);
  std::vector<std::pair<std::string, std::string>> h;
  if (!token.empty()) h = adminAuth(token);
  return r.method == std::string("GET") ? c.get(r.target, h) : c.post(r.target, r.body, h);
}

std::string errorCode(const HttpReply& r) {
  auto k = r.body.find("\"code\":\"");
  if (k == std::string::npos) return "";
  k += 8;
  return r.body.substr(k, r.body.find('"', k) - k);
}

double reloads(Deployment& d) {
  return Deployment::metricSum(d.metrics(), "regiongate_config_reloads_total");
}

void expect401(const HttpReply& r, const std::string& what, const std::string& code) {
  EXPECT_EQ(r.status, 401) << what << ": " << r.body;
  EXPECT_NE(r.body.find("\"type\":\"authentication_error\""), std::string::npos) << what << r.body;
  EXPECT_EQ(errorCode(r), code) << what << ": " << r.body;
  EXPECT_NE(r.header("www-authenticate").find("Bearer"), std::string::npos) << what;
}

TEST(AdminRoutes, TokensAndScopesDecideEveryRoute) {
  Deployment d;
  GatewaySettings s;
  s.admin_yaml = adminTokensYaml();
  s.log_level = "info";
  ASSERT_TRUE(d.startGateway(s));
  const uint16_t port = d.adminPort();
  for (const char* p : kPublic) {
    auto r = call(port, {"GET", p, ""}, "");
    EXPECT_EQ(r.status, 200) << p << ": " << r.body;
  }
  for (const auto& r : readRoutes()) {
    const std::string what = std::string(r.method) + " " + r.target;
    expect401(call(port, r, ""), what + " without a token", "missing_admin_token");
    expect401(call(port, r, "not-a-token"), what + " with a wrong token", "invalid_admin_token");
    for (const auto& tok : {kAdminReadToken, kAdminOperateToken}) {
      auto ok = call(port, r, tok);
      // The rollout manager answers a rollout that does not exist with its own 404.
      bool rollout_404 = ok.status == 404 && errorCode(ok) == "no_rollout";
      EXPECT_TRUE(ok.status == 200 || rollout_404) << what << ": " << ok.status << " " << ok.body;
    }
  }
  const double reloads_before = reloads(d);
  for (const auto& r : changeRoutes()) {
    const std::string what = std::string(r.method) + " " + r.target;
    expect401(call(port, r, ""), what + " without a token", "missing_admin_token");
    expect401(call(port, r, "not-a-token"), what + " with a wrong token", "invalid_admin_token");
    auto denied = call(port, r, kAdminReadToken);
    EXPECT_EQ(denied.status, 403) << what << ": " << denied.body;
    EXPECT_EQ(errorCode(denied), "insufficient_scope") << what << ": " << denied.body;
    EXPECT_NE(denied.body.find("\"type\":\"permission_error\""), std::string::npos) << denied.body;
  }
  EXPECT_EQ(reloads(d), reloads_before) << "a refused reload ran";
  // With the operate token each change reaches its handler.
  auto reload = call(port, changeRoutes()[0], kAdminOperateToken);
  EXPECT_EQ(reload.status, 200) << reload.body;
  EXPECT_NE(reload.body.find("\"reloaded\":true"), std::string::npos) << reload.body;
  EXPECT_EQ(reloads(d), reloads_before + 1);
  for (size_t i = 1; i < changeRoutes().size(); ++i) {
    const Route r = changeRoutes()[i];  // a copy: the vector is a temporary
    auto res = call(port, r, kAdminOperateToken);
    EXPECT_NE(res.status, 401) << r.target << ": " << res.body;
    EXPECT_NE(res.status, 403) << r.target << ": " << res.body;
    // This deployment declares no rollout: the manager itself refuses, past authorization.
    EXPECT_TRUE(errorCode(res) == "no_rollout" || res.status == 400 || res.status == 409)
        << r.target << ": " << res.status << " " << res.body;
  }
  // Refusals are counted by reason.
  std::string m = d.metrics();
  EXPECT_GE(Deployment::metricSum(m, "regiongate_admin_denied_total",
                                  {"reason=\"missing_admin_token\""}), 9.0);
  EXPECT_GE(Deployment::metricSum(m, "regiongate_admin_denied_total",
                                  {"reason=\"insufficient_scope\""}), 5.0);
  // The log names the token, never the token itself.
  std::string log;
  for (int i = 0; i < 200 && log.find("(token ops)") == std::string::npos; ++i) {
    log = Deployment::readFile(d.dir() + "/gateway.stderr");
    if (log.find("(token ops)") == std::string::npos) usleep(10000);  // bounded: log flush
  }
  EXPECT_NE(log.find("admin: POST /admin/reload -> 200 (token ops)"), std::string::npos) << log;
  EXPECT_EQ(log.find(kAdminOperateToken), std::string::npos) << log;
  EXPECT_EQ(log.find(kAdminReadToken), std::string::npos) << log;
}

TEST(AdminRoutes, WithoutTokensChangesAre403AndTheGatewaySaysSo) {
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  const uint16_t port = d.adminPort();
  for (const auto& r : readRoutes()) {
    auto res = call(port, r, "");
    EXPECT_TRUE(res.status == 200 || errorCode(res) == "no_rollout") << r.target << ": " << res.body;
  }
  for (const auto& r : changeRoutes()) {
    for (const auto& tok : {std::string(), kAdminOperateToken}) {
      auto res = call(port, r, tok);
      EXPECT_EQ(res.status, 403) << r.target << ": " << res.body;
      EXPECT_EQ(errorCode(res), "admin_mutations_disabled") << r.target << ": " << res.body;
    }
  }
  std::string log = Deployment::readFile(d.dir() + "/gateway.stderr");
  EXPECT_NE(log.find("no admin.tokens configured"), std::string::npos) << log;
}

// The rollout's state (its phase), as the read token sees it.
std::string phaseOf(uint16_t port) {
  auto r = call(port, {"GET", "/admin/rollouts/eu-central-1/llama-3.1-8b", ""}, kAdminReadToken);
  auto k = r.body.find("\"state\":\"");
  if (k == std::string::npos) return "";
  k += 9;
  return r.body.substr(k, r.body.find('"', k) - k);
}

// Polls (bounded) until the rollout is in `phase`; the control loop ticks every 10 ms here.
bool reachesPhase(uint16_t port, const std::string& phase) {
  for (int i = 0; i < 500; ++i) {
    if (phaseOf(port) == phase) return true;
    usleep(10000);  // bounded poll of the gateway's state, not synchronisation by sleeping
  }
  return phaseOf(port) == phase;
}

// An operate token carries every change through to its effect, which the read token then sees:
// a rollout started, resumed from its pause (no parity suite: the parity gate is inconclusive),
// promoted; a second one started and aborted.
TEST(AdminRoutes, OperateTokenCarriesEveryChangeThrough) {
  Deployment d;
  GatewaySettings s;
  s.admin_yaml = adminTokensYaml();
  s.extra_yaml = "rollout: { tick_ms: 10 }\n";
  ASSERT_TRUE(d.startGateway(s));
  const uint16_t port = d.adminPort();
  const std::string rollout = "/admin/rollouts/eu-central-1/llama-3.1-8b";
  auto start = [&](const std::string& to) {
    return call(port,
                {"POST", "/admin/rollouts",
                 "{\"region\":\"eu-central-1\",\"model\":\"llama-3.1-8b\",\"from\":\"v1\","
                 "\"to\":\"" + to + "\",\"green_endpoints\":[\"fra-b\"]}"},
                kAdminOperateToken);
  };
  auto act = [&](const std::string& action) {
    return call(port, {"POST", rollout + "/" + action, ""}, kAdminOperateToken);
  };
  auto started = start("v2");
  EXPECT_EQ(started.status, 201) << started.body;
  ASSERT_TRUE(reachesPhase(port, "paused")) << phaseOf(port);
  auto resumed = act("resume");
  EXPECT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_NE(phaseOf(port), "paused");
  auto promoted = act("promote");
  EXPECT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(phaseOf(port), "promoted");

  auto again = start("v3");
  EXPECT_EQ(again.status, 201) << again.body;
  auto aborted = act("abort");
  EXPECT_EQ(aborted.status, 200) << aborted.body;
  EXPECT_EQ(phaseOf(port), "rolled_back");
}

// `regiongate rollout` with the token from --token-file or $REGIONGATE_ADMIN_TOKEN.
TEST(AdminRoutes, RolloutCliSendsTheTokenFromAFileOrTheEnvironment) {
  Deployment d;
  GatewaySettings s;
  s.admin_yaml = adminTokensYaml();
  ASSERT_TRUE(d.startGateway(s));
  const std::string admin = "127.0.0.1:" + std::to_string(d.adminPort());
  const std::string read_file = d.dir() + "/read.token";
  std::ofstream(read_file) << kAdminReadToken << "\n";
  auto run = [&](std::vector<std::string> args, const std::string& env_token) {
    if (env_token.empty()) unsetenv("REGIONGATE_ADMIN_TOKEN");
    else setenv("REGIONGATE_ADMIN_TOKEN", env_token.c_str(), 1);
    std::vector<std::string> argv = {REGIONGATE_BIN, "rollout"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--admin", admin});
    ChildProcess p;
    EXPECT_TRUE(p.start(argv, d.dir() + "/cli.stderr"));
    p.waitForLine("\x01", 10000);  // collects stdout until it closes
    int code = p.wait(10000);
    unsetenv("REGIONGATE_ADMIN_TOKEN");
    return std::make_pair(code, p.output());
  };
  const std::vector<std::string> abort = {"abort", "--region", "eu-central-1", "--model",
                                          "llama-3.1-8b"};
  auto none = run({"status"}, "");
  EXPECT_EQ(none.first, 1);
  EXPECT_NE(none.second.find("missing_admin_token"), std::string::npos) << none.second;
  auto from_file = run({"status", "--token-file", read_file}, "");
  EXPECT_EQ(from_file.first, 0) << from_file.second;
  EXPECT_NE(from_file.second.find("\"rollouts\":[]"), std::string::npos) << from_file.second;
  auto read_abort = run(abort, kAdminReadToken);
  EXPECT_EQ(read_abort.first, 1);
  EXPECT_NE(read_abort.second.find("insufficient_scope"), std::string::npos) << read_abort.second;
  auto operate_abort = run(abort, kAdminOperateToken);
  EXPECT_EQ(operate_abort.first, 1);  // past authorization: there is no rollout to abort
  EXPECT_NE(operate_abort.second.find("no_rollout"), std::string::npos) << operate_abort.second;
  auto missing_file = run({"status", "--token-file", d.dir() + "/absent"}, "");
  EXPECT_EQ(missing_file.first, 2);
}

}  // namespace
}  // namespace regiongate::testing
