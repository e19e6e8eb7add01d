// The residency-critical phases, in process: a Gateway object in front of in-process fake
// upstreams (http::HttpServer on loopback, scripted per test; no process is spawned). Each fake
// counts what it received, so a test checks where a request went, not what the gateway says.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <map>
#include <memory>
#include <string>

#include "common/hash.h"
#include "config/loader.h"
#include "gateway/error_table.h"
#include "gateway/gateway.h"
#include "gateway/request_context.h"
#include "http/server.h"
#include "raw_client.h"
#include "testing/gate.h"
#include "testing/http_client.h"

namespace regiongate::gateway {
namespace {

using testing::HttpClient;
using testing::HttpReply;
namespace bhttp = boost::beast::http;

// What a fake upstream does with each request.
enum class Behaviour { Ok, Status, Hang, EvidenceOutside, HostileEvidence, HeldFirstChunk };

struct FakeUpstream {
  std::string region;
  std::atomic<int> received{0};
  std::atomic<Behaviour> behaviour{Behaviour::Ok};
  std::atomic<unsigned> status{200};
  std::unique_ptr<http::HttpServer> server;
  // HeldFirstChunk: the stream's head goes out at once, its first chunk once the test opens this.
  // Declared after the server: its timer must be destroyed before the server's io_context.
  testing::Gate gate;

  explicit FakeUpstream(std::string r) : region(std::move(r)) {
    http::ServerOptions opts;
    opts.listen = "127.0.0.1:0";
    server = std::make_unique<http::HttpServer>(
        opts, [this](http::Request& req, http::ResponseWriter& out, size_t) -> asio::awaitable<void> {
          if (req.method() != bhttp::verb::post) {  // version discovery, health: not counted
            co_await out.sendJson(200, R"({"object":"list","data":[]})");
            co_return;
          }
          received.fetch_add(1);
          std::vector<std::pair<std::string, std::string>> hs;
          if (behaviour.load() == Behaviour::HeldFirstChunk) co_return co_await holdFirstChunk(out);
          switch (behaviour.load()) {
            case Behaviour::Hang: {
              // Never answers within the gateway's per-try timeout; bounded all the same.
              asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(5));
              co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
              co_return;
            }
            case Behaviour::Status:
              co_await out.sendJson(status.load(), R"({"error":{"message":"scripted"}})");
              co_return;
            case Behaviour::EvidenceOutside:
              hs.emplace_back("x-inference-region", "us-east-1");
              break;
            case Behaviour::HostileEvidence: {
              // A new region name on every response; every tenth one 4 KB long (a longer head is
              // refused as bad_response by the upstream head limit, tested in tests/upstream).
              int n = received.load();
              std::string v = "region-" + std::to_string(n);
              if (n % 10 == 0) v += std::string(4 * 1024, 'x');
              hs.emplace_back("x-inference-region", v);
              break;
            }
            case Behaviour::Ok:
            case Behaviour::HeldFirstChunk:
              hs.emplace_back("x-inference-region", region);
              break;
          }
          co_await out.sendJson(200,
                                R"({"id":"x","object":"chat.completion","choices":[{"index":0,)"
                                R"("message":{"role":"assistant","content":"hi"}}],)"
                                R"("usage":{"prompt_tokens":3,"completion_tokens":1}})",
                                std::move(hs));
        });
    EXPECT_TRUE(server->start().ok());
  }
  ~FakeUpstream() { server->stop(0); }

  asio::awaitable<void> holdFirstChunk(http::ResponseWriter& out) {
    bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
    head.set(bhttp::field::content_type, "text/event-stream");
    head.set("x-inference-region", region);
    gate.arm(co_await asio::this_coro::executor);  // before the head: a client with it may open
    co_await out.begin(std::move(head));
    co_await gate.pass();
    co_await out.chunk(R"(data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,)"
                       R"("delta":{"content":"hi"}}]})" "\n\n");
    co_await out.chunk("data: [DONE]\n\n");
    co_await out.end();
  }
  uint16_t port() const { return server->port(); }
};

const std::string kEuKey = "sk-phase-eu";

class Phases : public ::testing::Test {
protected:
  // fra-a and fra-b (DE) and dub-a (IE) serve the EU tenant; iad-a (US) must never see it.
  void SetUp() override {
    for (const char* r : {"eu-central-1", "eu-central-1", "eu-west-1", "us-east-1"})
      ups_.push_back(std::make_unique<FakeUpstream>(r));
  }
  void TearDown() override {
    if (gw_) gw_->stop(0);
  }

  void start(const std::string& on_violation = "alert", uint32_t retries = 3) {
    const char* names[] = {"fra-a", "fra-b", "dub-a", "iad-a"};
    std::string y =
        "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nworkers: 1\n"
        "jurisdictions:\n  EU: { preset: EEA }\n  US: { countries: [US] }\n"
        "regions:\n  eu-central-1: { country: DE }\n  eu-west-1: { country: IE }\n"
        "  us-east-1: { country: US }\nendpoints:\n";
    for (size_t i = 0; i < ups_.size(); ++i)
      y += "  - { name: " + std::string(names[i]) + ", url: \"http://127.0.0.1:" +
           std::to_string(dead_.count(i) ? dead_[i] : ups_[i]->port()) +
           "\", region: " + ups_[i]->region +
           ", models: [" + (i == 3 ? "llama-3.1-8b, us-only" : "llama-3.1-8b") +
           "], evidence: \"header:x-inference-region\" }\n";
    y += "tenants:\n  - { name: eu-tenant, key_sha256: " + sha256Hex(kEuKey) +
         ", jurisdiction: EU }\n"
         "routing: { policy: round_robin, retries: " + std::to_string(retries) +
         ", per_try_timeout_ms: 300, upstream_timeout_ms: 5000 }\n"
         "health: { consecutive_failures: 100, interval_ms: 0 }\n"
         "residency: { on_violation: " + on_violation + " }\n"
         "audit: { sink: none }\n";
    auto cfg = loadConfigString(y);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    auto gw = Gateway::create(cfg.value(), GatewayOptions{.quiet = true});
    ASSERT_TRUE(gw.ok()) << gw.error().message;
    gw_ = std::move(gw.value());
    ASSERT_TRUE(gw_->start().ok());
  }

  HttpReply chat(const std::string& model = "llama-3.1-8b",
                 std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("authorization", "Bearer " + kEuKey);
    HttpClient c(gw_->port());
    return c.post("/v1/chat/completions",
                  R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}]})",
                  headers);
  }
  int usReceived() const { return ups_[3]->received.load(); }
  int euReceived() const {
    return ups_[0]->received.load() + ups_[1]->received.load() + ups_[2]->received.load();
  }

  // A loopback port with nothing listening (bound, then closed): connections are refused.
  static uint16_t deadPort() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
  }

  std::vector<std::unique_ptr<FakeUpstream>> ups_;
  std::map<size_t, uint16_t> dead_;  // upstream index -> refused port used in its place
  std::unique_ptr<Gateway> gw_;
};

// ---- resolve the pool

// ---- relay

// The gateway holds a stream's head for its first chunk only while that chunk is at hand (one
// write instead of two): waiting for the upstream, the client has the head already.
TEST_F(Phases, AStreamsHeadReachesTheClientWhileTheUpstreamHoldsItsFirstChunk) {
  for (auto& u : ups_) u->behaviour = Behaviour::HeldFirstChunk;
  start();
  const std::string body =
      R"({"model":"llama-3.1-8b","stream":true,"messages":[{"role":"user","content":"hi"}]})";
  testing::RawConn c(gw_->port());
  ASSERT_TRUE(c.waitConnected());
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + kEuKey +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_TRUE(c.readUntil("\r\n\r\n", 5000)) << "no head while the first chunk is held upstream";
  EXPECT_EQ(c.received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << c.received();
  EXPECT_EQ(c.received().find("data:"), std::string::npos) << c.received();
  int opened = 0;
  for (auto& u : ups_) opened += u->gate.open();
  EXPECT_EQ(opened, 1);
  EXPECT_TRUE(c.readUntilClosed(5000));
  EXPECT_NE(c.received().find("\"content\":\"hi\""), std::string::npos) << c.received();
  EXPECT_NE(c.received().find("data: [DONE]\n\n\r\n0\r\n\r\n"), std::string::npos) << c.received();
}

TEST_F(Phases, NarrowingPicksOnlyTheNamedRegionInsideTheJurisdiction) {
  start();
  for (int i = 0; i < 4; ++i) {
    auto r = chat("llama-3.1-8b", {{"x-regiongate-region", "eu-west-1"}});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-regiongate-endpoint"), "dub-a");
  }
  EXPECT_EQ(ups_[2]->received.load(), 4);
  EXPECT_EQ(ups_[0]->received.load() + ups_[1]->received.load(), 0);
}

TEST_F(Phases, NarrowingOutsideTheJurisdictionIsRefusedAndNeverWidens) {
  start();
  auto r = chat("llama-3.1-8b", {{"x-regiongate-region", "us-east-1"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("region_outside_jurisdiction"), std::string::npos);
  auto u = chat("llama-3.1-8b", {{"x-regiongate-region", "mars-1"}});
  EXPECT_EQ(u.status, 400);
  EXPECT_NE(u.body.find("unknown_region"), std::string::npos);
  EXPECT_EQ(usReceived() + euReceived(), 0);
}

TEST_F(Phases, UnknownModelIs404ModelNotFoundWithoutRetryAfter) {
  start();
  auto r = chat("llama-typo");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("\"code\":\"model_not_found\""), std::string::npos) << r.body;
  EXPECT_EQ(r.header("retry-after"), "");
}

TEST_F(Phases, ModelServedOnlyOutsideTheJurisdictionIs404WithItsOwnType) {
  start();
  auto r = chat("us-only");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("\"type\":\"model_not_in_jurisdiction\""), std::string::npos) << r.body;
  EXPECT_EQ(r.header("retry-after"), "");
  EXPECT_EQ(usReceived(), 0);
}

// ---- attempt: every failure kind retries inside the pool, never across the border

struct FailureCase {
  const char* name;
  Behaviour behaviour;
  unsigned status;
};

class RetryInPool : public Phases, public ::testing::WithParamInterface<FailureCase> {};

TEST_P(RetryInPool, FailingMembersAreRetriedInsideThePoolOnly) {
  const FailureCase& fc = GetParam();
  for (int i = 0; i < 2; ++i) {  // fra-a and fra-b fail; dub-a answers
    ups_[i]->behaviour = fc.behaviour;
    ups_[i]->status = fc.status;
  }
  start("alert", 3);
  // Round robin starts anywhere: over three requests at least one meets a failing member first.
  int tries = 0;
  for (int i = 0; i < 3; ++i) {
    auto r = chat();
    EXPECT_EQ(r.status, 200) << fc.name << ": " << r.body;
    EXPECT_EQ(r.header("x-regiongate-endpoint"), "dub-a");
    tries += std::atoi(r.header("x-regiongate-attempts").c_str()) - 1;
  }
  EXPECT_GE(tries, 1) << fc.name;
  EXPECT_EQ(tries, ups_[0]->received.load() + ups_[1]->received.load()) << fc.name;
  EXPECT_EQ(usReceived(), 0) << fc.name;
  // Now every EU member fails: a typed 503 naming only EU regions, and still nothing in the US.
  ups_[2]->behaviour = fc.behaviour;
  ups_[2]->status = fc.status;
  auto x = chat();
  EXPECT_EQ(x.status, 503) << fc.name << ": " << x.body;
  EXPECT_NE(x.body.find("\"type\":\"residency_pool_exhausted\""), std::string::npos);
  EXPECT_EQ(x.body.find("us-east-1"), std::string::npos) << x.body;
  EXPECT_NE(x.header("retry-after"), "");
  EXPECT_EQ(usReceived(), 0) << fc.name;
}

TEST_F(Phases, ConnectErrorIsRetriedInsideThePool) {
  dead_[0] = deadPort();  // fra-a and fra-b refuse connections
  dead_[1] = deadPort();
  start("alert", 3);
  auto r = chat();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-regiongate-endpoint"), "dub-a");
  EXPECT_EQ(usReceived(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind, RetryInPool,
    ::testing::Values(FailureCase{"timeout", Behaviour::Hang, 0},
                      FailureCase{"429", Behaviour::Status, 429},
                      FailureCase{"500", Behaviour::Status, 500},
                      FailureCase{"502", Behaviour::Status, 502},
                      FailureCase{"503", Behaviour::Status, 503},
                      FailureCase{"504", Behaviour::Status, 504}),
    [](const auto& info) { return std::string("kind_") + info.param.name; });

// ---- judge evidence

TEST_F(Phases, AlertModeServesAndCountsAViolation) {
  for (auto& u : ups_) u->behaviour = Behaviour::EvidenceOutside;
  start("alert");
  auto r = chat();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-regiongate-region"), "us-east-1");
  std::string m = gw_->registry().render();
  EXPECT_NE(m.find("regiongate_residency_violations_total{jurisdiction=\"EU\",actual_region="
                   "\"us-east-1\",kind=\"outside_jurisdiction\"} 1"),
            std::string::npos)
      << m;
}

TEST_F(Phases, BlockModeWithholdsTheContent) {
  for (auto& u : ups_) u->behaviour = Behaviour::EvidenceOutside;
  start("block");
  auto r = chat();
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("\"type\":\"residency_violation\""), std::string::npos);
  EXPECT_EQ(r.body.find("\"content\":\"hi\""), std::string::npos);
}

// ---- hostile upstreams: strings from peers never become labels or header bytes of their own

size_t seriesCount(const std::string& metrics) {
  size_t n = 0;
  for (size_t i = 0; (i = metrics.find('\n', i)) != std::string::npos; ++i)
    if (i + 1 < metrics.size() && metrics[i + 1] != '#') ++n;
  return n;
}

TEST_F(Phases, TenThousandInventedRegionNamesDoNotGrowTheMetricSet) {
  for (auto& u : ups_) u->behaviour = Behaviour::HostileEvidence;
  start("alert");
  HttpClient c(gw_->port());
  auto once = [&] {
    return c.post("/v1/chat/completions",
                  R"({"model":"llama-3.1-8b","messages":[{"role":"user","content":"hi"}]})",
                  {{"authorization", "Bearer " + kEuKey}});
  };
  auto first = once();
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-regiongate-region"), "unknown");
  int ok = 1;
  // Every series a request of this shape can create exists after the first hundred.
  for (int i = 1; i < 100; ++i) ok += once().status == 200;
  const size_t series_after_one = seriesCount(gw_->registry().render());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  for (int i = 100; i < 10000 && std::chrono::steady_clock::now() < deadline; ++i) {
    auto r = once();
    if (r.status != 200) ADD_FAILURE() << r.status << " " << r.body;
    ok += r.status == 200;
    if (r.status == 200 && r.header("x-regiongate-region") != "unknown")
      ADD_FAILURE() << r.header("x-regiongate-region");
  }
  EXPECT_GE(ok, 1000);  // enough distinct names to show the bound, even on a slow machine
  const std::string m = gw_->registry().render();
  EXPECT_EQ(seriesCount(m), series_after_one) << "the metric set grew with upstream strings";
  EXPECT_EQ(m.find("region-1"), std::string::npos);
  // The violations are still counted, under the one fixed label.
  EXPECT_NE(m.find("actual_region=\"unknown\",kind=\"unknown_region\"} " + std::to_string(ok)),
            std::string::npos);
}

TEST(VersionHeader, OnlyAPlainTokenReachesTheClient) {
  // Versions come from config or from an upstream's /v1/models; the header never carries bytes
  // an upstream chose outside a plain token.
  auto version = [](std::string v) { return std::string(versionHeaderValue(v)); };
  EXPECT_EQ(version("v1.2-eu"), "v1.2-eu");
  EXPECT_EQ(version(""), "unversioned");
  EXPECT_EQ(version("v1\r\nx-evil: 1"), "invalid");
  EXPECT_EQ(version(std::string("v1\0x", 4)), "invalid");
  EXPECT_EQ(version(std::string(200, 'a')), "invalid");
  EXPECT_EQ(version("two words"), "invalid");
}

// ---- the error table

TEST(ErrorTable, EveryKindHasTheDocumentedStatusAndType) {
  struct Row { ErrorKind kind; unsigned status; std::string_view type; bool retry_after; };
  const Row rows[] = {
      {ErrorKind::NoRoute, 404, "invalid_request_error", false},
      {ErrorKind::MissingApiKey, 401, "authentication_error", false},
      {ErrorKind::InvalidApiKey, 401, "authentication_error", false},
      {ErrorKind::GatewayOutsideJurisdiction, 421, "misdirected_request", false},
      {ErrorKind::InvalidBody, 400, "invalid_request_error", false},
      {ErrorKind::UnknownRegion, 400, "invalid_request_error", false},
      {ErrorKind::RegionOutsideJurisdiction, 403, "residency_error", false},
      {ErrorKind::ModelNotFound, 404, "invalid_request_error", false},
      {ErrorKind::ModelNotInJurisdiction, 404, "model_not_in_jurisdiction", false},
      {ErrorKind::ApiNotServed, 404, "invalid_request_error", false},
      {ErrorKind::AuditUnavailable, 503, "audit_unavailable", false},
      {ErrorKind::ProviderRefused, 403, "residency_error", false},
      {ErrorKind::PoolExhausted, 503, "residency_pool_exhausted", true},
      {ErrorKind::UpstreamTls, 502, "upstream_tls_error", false},
      {ErrorKind::UpstreamBroken, 502, "upstream_error", false},
      {ErrorKind::ResidencyViolation, 502, "residency_violation", false},
  };
  ASSERT_LE(std::size(rows), static_cast<size_t>(ErrorKind::kCount));  // + the rollout kinds
  for (const auto& r : rows) {
    const ErrorSpec& s = specFor(r.kind);
    EXPECT_EQ(s.status, r.status) << r.type;
    EXPECT_EQ(s.type, r.type);
    EXPECT_EQ(s.retry_after, r.retry_after) << r.type;
  }
  // Only a real outage of a deployed model asks the client to come back.
  EXPECT_FALSE(specFor(ErrorKind::ModelNotFound).retry_after);
  EXPECT_EQ(specFor(ErrorKind::ModelNotFound).code, "model_not_found");
}

}  // namespace
}  // namespace regiongate::gateway
