// Integration: streaming pass-through and hostile / malformed input against the real gateway.
#include <gtest/gtest.h>

#include <regex>

#include "gateway_fixture.h"

namespace regiongate::testing {
namespace {

std::string chatBody(bool stream, const std::string& content) {
  return std::string("{\"model\":\"llama-3.1-8b\",\"stream\":") + (stream ? "true" : "false") +
         ",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
}

TEST(GatewayStreaming, FirstChunkReachesClientBeforeBackendFinished) {
  // Real decode time: 40 tokens x 40 ms = 1.6 s of streaming per request.
  Deployment d({"--time-scale", "1", "--decode-ms-per-token", "40", "--output-tokens", "40",
                "--prefill-ms-per-token", "0", "--ttft-fixed-ms", "1"});
  ASSERT_TRUE(d.startGateway());
  HttpClient raw(d.port());
  auto& sock = raw.socket();
  std::string body = chatBody(true, "stream to me");
  std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                    kEuKey + "\r\nx-regiongate-region: eu-west-1\r\nContent-Type: application/json\r\n"
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::write(sock, asio::buffer(req));
  std::string got;
  char buf[4096];
  boost::system::error_code ec;
  for (int i = 0; i < 1000 && got.find("\"content\"") == std::string::npos; ++i) {
    size_t n = sock.read_some(asio::buffer(buf), ec);
    ASSERT_FALSE(ec) << ec.message();
    got.append(buf, n);
  }
  ASSERT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  ASSERT_NE(got.find("data: "), std::string::npos) << got;
  // The client has content; ask the backend whether it is still generating this very request.
  HttpClient admin(d.backendByName("dub-a").port);
  auto stats = admin.get("/admin/stats");
  ASSERT_EQ(stats.status, 200);
  EXPECT_NE(stats.body.find("\"in_flight\":1"), std::string::npos)
      << "the backend had already finished when the first chunk arrived: " << stats.body;
  EXPECT_EQ(got.find("[DONE]"), std::string::npos) << "the whole stream was buffered";
  // Read the rest: the stream ends properly with [DONE] and usage.
  for (int i = 0; i < 10000 && got.find("\r\n0\r\n\r\n") == std::string::npos; ++i) {
    size_t n = sock.read_some(asio::buffer(buf), ec);
    if (ec) break;
    got.append(buf, n);
  }
  EXPECT_NE(got.find("[DONE]"), std::string::npos);
  EXPECT_NE(got.find("\"usage\""), std::string::npos);
  // TTFT was measured for the stream.
  auto m = d.metrics();
  EXPECT_GE(Deployment::metricSum(m, "regiongate_ttft_seconds_count", {"jurisdiction=\"EU\""}), 1);
}

TEST(GatewayBadInput, EachGetsItsTypedErrorAndTheGatewayKeepsServing) {
  Deployment d;
  GatewaySettings s;
  s.max_body_bytes = 4096;
  s.read_timeout_ms = 300;
  ASSERT_TRUE(d.startGateway(s));
  HttpClient c(d.port());
  auto auth = std::vector<std::pair<std::string, std::string>>{{"authorization", "Bearer " + kEuKey}};

  auto malformed = c.post("/v1/chat/completions", "{\"model\": \"llama-3.1-8b\", messages: [", auth);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("\"code\":\"invalid_json\""), std::string::npos) << malformed.body;

  auto no_model = c.post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}]})", auth);
  EXPECT_EQ(no_model.status, 400);
  EXPECT_NE(no_model.body.find("missing_model"), std::string::npos) << no_model.body;

  auto bad_messages = c.post("/v1/chat/completions", R"({"model":"llama-3.1-8b","messages":"hi"})", auth);
  EXPECT_EQ(bad_messages.status, 400);
  EXPECT_NE(bad_messages.body.find("invalid_messages"), std::string::npos) << bad_messages.body;

  HttpClient c2(d.port());
  auto missing_key = c2.post("/v1/chat/completions", chatBody(false, "x"));
  EXPECT_EQ(missing_key.status, 401);
  EXPECT_NE(missing_key.body.find("missing_api_key"), std::string::npos) << missing_key.body;

  HttpClient c3(d.port());
  auto unknown_key = c3.post("/v1/chat/completions", chatBody(false, "x"), {{"authorization", "Bearer sk-nope"}});
  EXPECT_EQ(unknown_key.status, 401);
  EXPECT_NE(unknown_key.body.find("invalid_api_key"), std::string::npos) << unknown_key.body;

  HttpClient c4(d.port());
  auto forged = c4.post("/v1/chat/completions", chatBody(false, "x"),
                        {{"authorization", "Bearer " + kEuKey}, {"x-regiongate-region", "us-west-2"}});
  EXPECT_EQ(forged.status, 403);
  EXPECT_NE(forged.body.find("region_outside_jurisdiction"), std::string::npos) << forged.body;

  HttpClient c5(d.port());
  auto huge = c5.post("/v1/chat/completions", chatBody(false, std::string(10000, 'a')), auth);
  EXPECT_EQ(huge.status, 413);
  EXPECT_NE(huge.body.find("body_too_large"), std::string::npos) << huge.body;

  HttpClient c6(d.port());
  auto slow = c6.raw("POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + kEuKey +
                     "\r\nContent-Length: 100\r\n\r\n{\"model\":");
  EXPECT_NE(slow.find("408"), std::string::npos) << slow;
  EXPECT_NE(slow.find("request_timeout"), std::string::npos) << slow;

  HttpClient c7(d.port());
  auto garbage = c7.raw("\x16\x03\x01 this is not http\r\n\r\n");
  EXPECT_NE(garbage.find("400"), std::string::npos) << garbage;

  auto unknown_model = d.chat(kEuKey, "x");  // model served: fine
  EXPECT_EQ(unknown_model.status, 200);
  HttpClient c8(d.port());
  auto no_such_model = c8.post("/v1/chat/completions",
                               R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})", auth);
  // A model no endpoint serves is a client error (404, no Retry-After), not an outage to alert on.
  EXPECT_EQ(no_such_model.status, 404);
  EXPECT_NE(no_such_model.body.find("\"code\":\"model_not_found\""), std::string::npos) << no_such_model.body;
  EXPECT_EQ(no_such_model.header("retry-after"), "");

  HttpClient c9(d.port());
  auto not_found = c9.get("/v1/nothing", auth);
  EXPECT_EQ(not_found.status, 404);

  // Nothing above reached a backend, and the gateway still serves everyone.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(d.chat(kEuKey, "still alive " + std::to_string(i)).status, 200);
  EXPECT_EQ(d.chat(kUsKey, "us too").status, 200);
  auto m = d.metrics();
  EXPECT_GE(Deployment::metricSum(m, "regiongate_limit_rejections_total", {"body_too_large"}), 1);
  EXPECT_GE(Deployment::metricSum(m, "regiongate_limit_rejections_total", {"request_timeout"}), 1);
}

TEST(GatewayModels, ListsOnlyTheModelsOfTheTenantsPool) {
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  HttpClient c(d.port());
  auto r = c.get("/v1/models", {{"authorization", "Bearer " + kEuKey}});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"id\":\"llama-3.1-8b\""), std::string::npos) << r.body;
  EXPECT_EQ(r.header("x-regiongate-jurisdiction"), "EU");
}

TEST(GatewayUpstream, SendsRequestIdAndNeverForwardsTheTenantKey) {
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  auto r = d.chat(kEuKey, "whose key", false, {{"x-regiongate-region", "eu-west-1"}});
  ASSERT_EQ(r.status, 200);
  std::string id = r.header("x-regiongate-request-id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(d.requestIdsAt("dub-a").count(id), 1u);
  // rg-<process nonce: 12 hex digits>-<worker>-<the worker's request count>, all lowercase hex.
  EXPECT_TRUE(std::regex_match(id, std::regex("rg-[0-9a-f]{12}-[0-9a-f]+-[1-9a-f][0-9a-f]*"))) << id;
  auto again = d.chat(kEuKey, "whose key again", false, {{"x-regiongate-region", "eu-west-1"}});
  EXPECT_NE(again.header("x-regiongate-request-id"), id);
  std::string log = Deployment::readFile(d.backendByName("dub-a").log);
  EXPECT_EQ(log.find(kEuKey), std::string::npos) << "tenant key reached the backend";
}

TEST(GatewayReload, InvalidConfigIsRefusedAndTrafficContinuesOnTheOldOne) {
  Deployment d;
  GatewaySettings with_admin;
  with_admin.admin_yaml = adminTokensYaml();
  ASSERT_TRUE(d.startGateway(with_admin));
  ASSERT_EQ(d.chat(kEuKey, "before").status, 200);
  // Overwrite the config with a broken one and ask for a reload.
  std::ofstream(d.configPath()) << "listen: [this is not valid\n";
  HttpClient admin(d.adminPort());
  auto rr = admin.post("/admin/reload", "", adminAuth(kAdminOperateToken));
  EXPECT_EQ(rr.status, 409) << rr.body;
  EXPECT_EQ(d.chat(kEuKey, "after refused reload").status, 200);
  auto st = admin.get("/admin/status", adminAuth(kAdminReadToken));
  EXPECT_NE(st.body.find("\"last_reload\":\"refused\""), std::string::npos) << st.body;
  // A valid change (US tenant removed) is applied by SIGHUP.
  GatewaySettings s = with_admin;
  std::string yaml = d.configYaml(s);
  auto pos = yaml.find("  - { name: us-tenant");
  yaml.erase(pos, yaml.find('\n', pos) - pos + 1);
  std::ofstream(d.configPath()) << yaml;
  d.gatewayProcess().signal(SIGHUP);
  int status = 0;
  for (int i = 0; i < 200; ++i) {  // bounded poll for the reload to land (no sleep-to-sync)
    status = d.chat(kUsKey, "after reload").status;
    if (status == 401) break;
    usleep(10000);
  }
  EXPECT_EQ(status, 401);
  EXPECT_EQ(d.chat(kEuKey, "eu still fine").status, 200);
}

TEST(GatewayShutdown, SigtermDrainsInFlightStream) {
  Deployment d({"--time-scale", "1", "--decode-ms-per-token", "20", "--output-tokens", "20",
                "--prefill-ms-per-token", "0", "--ttft-fixed-ms", "1"});
  ASSERT_TRUE(d.startGateway());
  HttpClient raw(d.port());
  auto& sock = raw.socket();
  std::string body = chatBody(true, "drain me");
  std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                    kEuKey + "\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::write(sock, asio::buffer(req));
  std::string got;
  char buf[4096];
  boost::system::error_code ec;
  for (int i = 0; i < 1000 && got.find("data: ") == std::string::npos; ++i) {
    size_t n = sock.read_some(asio::buffer(buf), ec);
    ASSERT_FALSE(ec);
    got.append(buf, n);
  }
  d.gatewayProcess().signal(SIGTERM);
  for (int i = 0; i < 10000; ++i) {
    size_t n = sock.read_some(asio::buffer(buf), ec);
    if (ec) break;
    got.append(buf, n);
  }
  EXPECT_NE(got.find("[DONE]"), std::string::npos) << "in-flight stream was cut by shutdown";
  EXPECT_EQ(d.gatewayProcess().wait(15000), 0);
}

}  // namespace
}  // namespace regiongate::testing

namespace regiongate::testing {
namespace {

// An UNSAFE config (valid YAML, but its residency proof fails) is refused on reload
// while the old config keeps serving; the refusal shows in the logs, /admin/status, and
// `regiongate check`'s exit code.
TEST(GatewayReload, UnsafeConfigIsRefusedVisiblyAndTheOldOneKeepsServing) {
  Deployment d;
  GatewaySettings with_admin;
  with_admin.admin_yaml = adminTokensYaml();
  ASSERT_TRUE(d.startGateway(with_admin));
  ASSERT_EQ(d.chat(kEuKey, "before").status, 200);
  GatewaySettings unsafe = with_admin;
  // This gateway would decrypt EU tenants' requests in Virginia: the proof must fail.
  unsafe.extra_yaml = "gateway: { region: us-east-1 }\n";
  std::ofstream(d.configPath()) << d.configYaml(unsafe);

  HttpClient admin(d.adminPort());
  auto rr = admin.post("/admin/reload", "", adminAuth(kAdminOperateToken));
  EXPECT_EQ(rr.status, 409) << rr.body;
  EXPECT_NE(rr.body.find("residency_proof_failed"), std::string::npos) << rr.body;
  // Still the old config: the EU tenant is served (the unsafe one would answer 421).
  auto after = d.chat(kEuKey, "after refused reload");
  EXPECT_EQ(after.status, 200) << after.body;
  auto st = admin.get("/admin/status", adminAuth(kAdminReadToken));
  EXPECT_NE(st.body.find("\"last_reload\":\"refused\""), std::string::npos) << st.body;
  EXPECT_NE(st.body.find("us-east-1"), std::string::npos) << st.body;
  // The log says so.
  std::string log;
  for (int i = 0; i < 200 && log.find("reload refused") == std::string::npos; ++i) {
    log = Deployment::readFile(d.dir() + "/gateway.stderr");
    if (log.find("reload refused") == std::string::npos) usleep(10000);  // bounded: log flush
  }
  EXPECT_NE(log.find("reload refused"), std::string::npos) << log;
  // And `regiongate check` on the same file fails with exit 1.
  ChildProcess check;
  ASSERT_TRUE(check.start({REGIONGATE_BIN, "check", "--config", d.configPath()}));
  check.waitForLine("\x01never", 30000);
  EXPECT_EQ(check.wait(30000), 1) << check.output();
  EXPECT_NE(check.output().find("eu-tenant"), std::string::npos) << check.output();
  auto m = d.metrics();
  EXPECT_GE(Deployment::metricSum(m, "regiongate_config_reloads_total", {"result=\"error\""}), 1);
}

// audit.flush_interval_ms lets the writer wait for a fuller group, but only while admitted
// requests may still add to it: a sequential client's record is the only one on its way, so it
// is committed at once. A gateway that waited out the (20 s) interval would time out the
// client (15 s), and commit the requests' records otherwise than one group each. Without the
// spill, so that each answer waits for its own commit and the metrics count them when it comes.
TEST(GatewayAudit, SequentialRequestsDoNotWaitOutTheFlushInterval) {
  Deployment d;
  GatewaySettings s;
  s.audit_extra = ", flush_interval_ms: 20000, spill_dir: \"off\"";
  ASSERT_TRUE(d.startGateway(s));
  for (int i = 0; i < 3; ++i) {
    auto r = d.chat(kEuKey, "one at a time " + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // A request refused before admission announces nothing and leaves no record.
  EXPECT_EQ(d.chat("sk-unknown", "who").status, 401);
  auto r = d.chat(kEuKey, "after the refusal");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string m = d.metrics();
  EXPECT_NE(m.find("regiongate_audit_records_total{jurisdiction=\"EU\"} 4"), std::string::npos) << m;
  EXPECT_NE(m.find("regiongate_audit_commits_total{jurisdiction=\"EU\"} 4"), std::string::npos) << m;
}

// The same with the spill (the default where /dev/shm is a tmpfs): each request is answered once
// its record is in its worker's spill, and the writer, which nobody waits for, lets the group
// fill for the whole interval: the three records reach the store behind the answers, together.
TEST(GatewayAudit, SequentialRequestsWithTheSpillAreAnsweredAndStoredTogether) {
  Deployment d;
  GatewaySettings s;
  s.audit_extra = ", flush_interval_ms: 3000";
  ASSERT_TRUE(d.startGateway(s));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(d.chat(kEuKey, "one at a time " + std::to_string(i)).status, 200);
  std::string m;
  for (int i = 0; i < 1000; ++i) {  // bounded poll: the group commits after the interval
    m = d.metrics();
    if (m.find("regiongate_audit_records_total{jurisdiction=\"EU\"} 3") != std::string::npos) break;
    usleep(10000);
  }
  EXPECT_NE(m.find("regiongate_audit_records_total{jurisdiction=\"EU\"} 3"), std::string::npos) << m;
  EXPECT_NE(m.find("regiongate_audit_commits_total{jurisdiction=\"EU\"} 1"), std::string::npos) << m;
}

}  // namespace
}  // namespace regiongate::testing
