// Integration tests: a real HTTP client against an in-process MockBackend on 127.0.0.1:0.
#include "mock/mock_backend.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/hash.h"
#include "inference/tokenizer.h"
#include "openai/prompt.h"
#include "test_client.h"

namespace regiongate::mock {
namespace {

using testing::Client;
using testing::Reply;
using testing::sseData;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

MockOptions fastOptions() {
  MockOptions o;
  o.region = "eu-central-1";
  o.models = {{"llama", "v1"}};
  o.latency.time_scale = 0;
  o.output_tokens = 6;
  return o;
}

std::string chatBody(const std::string& content, bool stream = false, const char* extra = "") {
  return std::string(R"({"model":"llama","stream":)") + (stream ? "true" : "false") + extra +
         R"(,"messages":[{"role":"user","content":")" + content + R"("}]})";
}

// A prompt of `words` distinct words (one token each).
std::string longPrompt(int words, const std::string& stem = "w") {
  std::string s;
  for (int i = 0; i < words; ++i) s += stem + std::to_string(i) + " ";
  return s;
}

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& json) {
  return p.parse(json).value();
}

// Polls `cond` every 5 ms for at most `ms` (no sleeping to synchronise on a fixed time).
template <class F> bool eventually(F cond, int ms = 3000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

class MockBackendTest : public ::testing::Test {
protected:
  void startWith(MockOptions o) {
    backend_ = std::make_unique<MockBackend>(std::move(o));
    auto st = backend_->start();
    ASSERT_TRUE(st.ok()) << st.error().message;
    ASSERT_NE(backend_->port(), 0);
  }
  void TearDown() override {
    if (backend_) backend_->stop(0);
  }
  uint16_t port() const { return backend_->port(); }
  std::unique_ptr<MockBackend> backend_;
};

TEST_F(MockBackendTest, HealthModelsAndUnknownRoutes) {
  startWith(fastOptions());
  Client c(port());
  auto h = c.get("/health");
  EXPECT_EQ(h.status, 200u);
  EXPECT_NE(h.body().find("eu-central-1"), std::string::npos);
  auto m = c.get("/v1/models");
  ASSERT_EQ(m.status, 200u);
  simdjson::dom::parser p;
  auto doc = parse(p, m.body());
  EXPECT_EQ(std::string_view(doc["data"].at(0)["id"].get_string().value()), "llama");
  EXPECT_EQ(std::string_view(doc["data"].at(0)["version"].get_string().value()), "v1");
  EXPECT_EQ(c.get("/nope").status, 404u);
  EXPECT_EQ(c.get("/v1/chat/completions").status, 405u);
}

TEST_F(MockBackendTest, NonStreamingChatHasUsageRegionAndVersion) {
  startWith(fastOptions());
  Client c(port());
  auto r = c.post("/v1/chat/completions", chatBody("Hello, world!"));
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.header("x-inference-region"), "eu-central-1");
  simdjson::dom::parser p;
  auto doc = parse(p, r.body());
  EXPECT_EQ(std::string_view(doc["model"].get_string().value()), "llama@v1");
  EXPECT_EQ(std::string_view(doc["system_fingerprint"].get_string().value()), "fp_v1");
  EXPECT_EQ(std::string_view(doc["object"].get_string().value()), "chat.completion");
  auto usage = doc["usage"];
  const uint64_t expected_prompt =
      inference::Tokenizer::count(openai::chatPromptText({{"user", "Hello, world!"}}));
  EXPECT_EQ(usage["prompt_tokens"].get_uint64().value(), expected_prompt);
  EXPECT_EQ(usage["completion_tokens"].get_uint64().value(), 6u);
  EXPECT_EQ(usage["total_tokens"].get_uint64().value(), expected_prompt + 6);
  EXPECT_EQ(usage["prompt_tokens_details"]["cached_tokens"].get_uint64().value(), 0u);
  EXPECT_EQ(std::string_view(usage["inference_geo"].get_string().value()), "eu-central-1");
  std::string content(doc["choices"].at(0)["message"]["content"].get_string().value());
  EXPECT_EQ(inference::Tokenizer::count(content), 6u);
  // Deterministic: the same prompt gives the same text.
  auto again = c.post("/v1/chat/completions", chatBody("Hello, world!"));
  simdjson::dom::parser p2;
  EXPECT_EQ(std::string(parse(p2, again.body())["choices"].at(0)["message"]["content"]
                            .get_string().value()), content);
}

TEST_F(MockBackendTest, MaxTokensCapsOutputWithFinishLength) {
  startWith(fastOptions());
  Client c(port());
  auto r = c.post("/v1/completions", R"({"model":"llama","prompt":"Once upon","max_tokens":2})");
  ASSERT_EQ(r.status, 200u) << r.body();
  simdjson::dom::parser p;
  auto doc = parse(p, r.body());
  EXPECT_EQ(std::string_view(doc["object"].get_string().value()), "text_completion");
  EXPECT_EQ(doc["usage"]["completion_tokens"].get_uint64().value(), 2u);
  EXPECT_EQ(std::string_view(doc["choices"].at(0)["finish_reason"].get_string().value()), "length");
}

TEST_F(MockBackendTest, StreamingChunksThenUsageThenDone) {
  startWith(fastOptions());
  Client c(port());
  auto plain = c.post("/v1/chat/completions", chatBody("stream me"));
  auto r = c.post("/v1/chat/completions", chatBody("stream me", true));
  ASSERT_EQ(r.status, 200u);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  EXPECT_EQ(r.header("x-inference-region"), "eu-central-1");
  auto events = sseData(r.body());
  ASSERT_EQ(events.size(), 6u + 2u);  // 6 tokens, usage, [DONE]
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  simdjson::dom::parser p;
  for (size_t i = 0; i < 6; ++i) {
    auto chunk = parse(p, events[i]);
    EXPECT_EQ(std::string_view(chunk["object"].get_string().value()), "chat.completion.chunk");
    text += std::string(chunk["choices"].at(0)["delta"]["content"].get_string().value());
    bool last = i == 5;
    EXPECT_EQ(chunk["choices"].at(0)["finish_reason"].is_null(), !last);
  }
  simdjson::dom::parser p2;
  EXPECT_EQ(text, std::string(parse(p2, plain.body())["choices"].at(0)["message"]["content"]
                                  .get_string().value()));
  auto usage = parse(p, events[6]);
  EXPECT_EQ(usage["choices"].get_array().value().size(), 0u);
  EXPECT_EQ(usage["usage"]["completion_tokens"].get_uint64().value(), 6u);
  // The client can opt out of the usage chunk.
  auto no_usage = c.post("/v1/chat/completions",
                         chatBody("stream me", true, R"(,"stream_options":{"include_usage":false})"));
  EXPECT_EQ(sseData(no_usage.body()).size(), 7u);
}

// stream_min_write_ms: tokens are written in groups, but every token is still one SSE event,
// in order, with the same text; the first-token hook reports each stream once, under the
// gateway's request id, with its admission <= due time <= write.
TEST_F(MockBackendTest, CoalescedStreamKeepsOneEventPerTokenAndReportsItsFirstToken) {
  auto o = fastOptions();
  o.output_tokens = 40;
  o.latency.time_scale = 0.001;  // 57 us per token
  o.latency.exact_pacing = true;
  o.stream_min_write_ms = 0.1;  // two tokens per write after the first
  std::mutex mu;
  std::vector<FirstTokenTiming> firsts;
  o.on_first_token = [&](const FirstTokenTiming& t) {
    std::lock_guard lock(mu);
    firsts.push_back(t);
  };
  startWith(o);
  Client c(port());
  auto plain = c.post("/v1/chat/completions", chatBody("group me"));
  auto r = c.post("/v1/chat/completions", chatBody("group me", true),
                  {{"x-regiongate-request-id", "req-7"}});
  ASSERT_EQ(r.status, 200u);
  ASSERT_FALSE(r.ec) << r.ec.message();
  auto events = sseData(r.body());
  ASSERT_EQ(events.size(), 40u + 2u);  // 40 tokens, usage, [DONE]
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  simdjson::dom::parser p;
  for (size_t i = 0; i < 40; ++i) {
    auto chunk = parse(p, events[i]);
    text += std::string(chunk["choices"].at(0)["delta"]["content"].get_string().value());
    EXPECT_EQ(chunk["choices"].at(0)["finish_reason"].is_null(), i != 39);
  }
  simdjson::dom::parser p2;
  EXPECT_EQ(text, std::string(parse(p2, plain.body())["choices"].at(0)["message"]["content"]
                                  .get_string().value()));
  EXPECT_EQ(parse(p, events[40])["usage"]["completion_tokens"].get_uint64().value(), 40u);
  std::lock_guard lock(mu);
  ASSERT_EQ(firsts.size(), 1u);  // the stream only, once
  EXPECT_EQ(firsts[0].request_id, "req-7");
  EXPECT_LE(firsts[0].admitted, firsts[0].due);
  EXPECT_LE(firsts[0].due, firsts[0].written);
}

TEST_F(MockBackendTest, CoalescedStreamStillClosesMidStreamOnTheFault) {
  auto o = fastOptions();
  o.output_tokens = 40;
  o.stream_min_write_ms = 1000;
  o.faults.close_mid_stream = true;
  startWith(o);
  Client c(port());
  auto r = c.post("/v1/chat/completions", chatBody("x", true));
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.ec);  // the chunked body never ended
  auto events = sseData(r.body());
  EXPECT_EQ(events.size(), 20u);  // up to the cut, written although not a write point
  for (auto& e : events) EXPECT_NE(e, "[DONE]");
}

TEST_F(MockBackendTest, CachedTokensGrowWithSharedPrefixAndVersionChangeFlushes) {
  startWith(fastOptions());
  Client c(port());
  const std::string prompt = longPrompt(100);
  const uint64_t n = inference::Tokenizer::count(openai::chatPromptText({{"user", prompt}}));
  simdjson::dom::parser p;
  auto cached = [&](const Reply& r) {
    return parse(p, r.body())["usage"]["prompt_tokens_details"]["cached_tokens"]
        .get_uint64().value();
  };
  EXPECT_EQ(cached(c.post("/v1/chat/completions", chatBody(prompt))), 0u);
  EXPECT_EQ(cached(c.post("/v1/chat/completions", chatBody(prompt))), (n - 1) / 16 * 16);
  // A prompt sharing the first 50 words: cached prefix is the shared full blocks.
  auto shared = c.post("/v1/chat/completions", chatBody(longPrompt(50) + longPrompt(50, "x")));
  const uint64_t common = inference::Tokenizer::count("<|user|>\n" + longPrompt(50));
  EXPECT_EQ(cached(shared), common / 16 * 16);

  auto v = c.post("/admin/version", R"({"model":"llama","version":"v2"})");
  ASSERT_EQ(v.status, 200u) << v.body();
  auto after = c.post("/v1/chat/completions", chatBody(prompt));
  EXPECT_EQ(cached(after), 0u);
  EXPECT_EQ(std::string_view(parse(p, after.body())["model"].get_string().value()), "llama@v2");
  EXPECT_EQ(after.header("x-model-version"), "v2");
  EXPECT_EQ(backend_->version("llama"), "v2");
  // Asking for a version the backend does not serve is a 404.
  EXPECT_EQ(c.post("/v1/chat/completions",
                   R"({"model":"llama@v1","messages":[{"role":"user","content":"x"}]})").status,
            404u);
}

TEST_F(MockBackendTest, BadRequestsAndUnknownModel) {
  startWith(fastOptions());
  Client c(port());
  EXPECT_EQ(c.post("/v1/chat/completions", "{not json").status, 400u);
  auto r = c.post("/v1/chat/completions",
                  R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 404u);
  EXPECT_NE(r.body().find("model_not_found"), std::string::npos);
  EXPECT_EQ(backend_->stats().bad_requests, 2u);
}

TEST_F(MockBackendTest, ErrorFaultAtStartAndSwitchedAtRunTime) {
  auto o = fastOptions();
  o.faults.error_rate = 1.0;
  o.faults.error_status = 503;
  startWith(o);
  Client c(port());
  auto r = c.post("/v1/chat/completions", chatBody("x"));
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(r.body().find("\"error\""), std::string::npos);
  // Restore at run time through the admin endpoint.
  auto sw = c.post("/admin/faults", R"({"error_rate":0})");
  ASSERT_EQ(sw.status, 200u) << sw.body();
  EXPECT_EQ(c.post("/v1/chat/completions", chatBody("x")).status, 200u);
  // And fail it again with another status.
  ASSERT_EQ(c.post("/admin/faults", R"({"error_rate":1,"error_status":429})").status, 200u);
  EXPECT_EQ(c.post("/v1/chat/completions", chatBody("x")).status, 429u);
  EXPECT_NE(c.get("/admin/faults").body().find("\"error_status\":429"), std::string::npos);
  EXPECT_EQ(backend_->stats().errors_injected, 2u);
  // A bad fault body is rejected and changes nothing.
  EXPECT_EQ(c.post("/admin/faults", R"({"error_rate":2})").status, 400u);
  EXPECT_EQ(c.post("/admin/faults", R"({"typo":1})").status, 400u);
  EXPECT_DOUBLE_EQ(backend_->faults().error_rate, 1.0);
}

TEST_F(MockBackendTest, ErrorRateIsAFraction) {
  auto o = fastOptions();
  o.faults.error_rate = 0.3;
  startWith(o);
  Client c(port());
  int errors = 0;
  for (int i = 0; i < 400; ++i) errors += c.post("/v1/completions",
                                                 R"({"model":"llama","prompt":"a"})").status != 200;
  EXPECT_GT(errors, 60);
  EXPECT_LT(errors, 180);
}

TEST_F(MockBackendTest, HangNeverAnswersUntilClientLeaves) {
  auto o = fastOptions();
  o.faults.hang = true;
  startWith(o);
  {
    // A raw socket, so nothing times out on the client side while we look.
    asio::io_context ioc;
    tcp::socket sock(ioc);
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()));
    const std::string body = chatBody("x");
    const std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                            "Content-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(sock, asio::buffer(req));
    ASSERT_TRUE(eventually([&] { return backend_->stats().hung == 1; }));
    EXPECT_EQ(backend_->stats().in_flight, 1u);
    // Still nothing to read a while later (a hang is only observable as an absence).
    Client probe(port());
    EXPECT_EQ(probe.get("/health").status, 200u);  // another connection is served meanwhile
    sock.non_blocking(true);
    char buf[16];
    boost::system::error_code ec;
    sock.read_some(asio::buffer(buf), ec);
    EXPECT_EQ(ec, asio::error::would_block);
    EXPECT_EQ(backend_->stats().in_flight, 1u);
    sock.close();
  }
  EXPECT_TRUE(eventually([&] { return backend_->stats().in_flight == 0; }));
  // Health is still answered (the hang is for inference requests).
  Client h(port());
  EXPECT_EQ(h.get("/health").status, 200u);
  // Lift the fault with the C++ API.
  backend_->setFaults(FaultConfig{});
  EXPECT_EQ(h.post("/v1/chat/completions", chatBody("x")).status, 200u);
}

TEST_F(MockBackendTest, SlowFirstByteDelaysTheResponse) {
  auto o = fastOptions();
  o.faults.slow_first_byte_ms = 150;
  startWith(o);
  Client c(port());
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.post("/v1/chat/completions", chatBody("x"));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 200u);
  EXPECT_GE(ms, 150);  // a timer never fires early
}

TEST_F(MockBackendTest, CloseMidStreamCutsTheBody) {
  auto o = fastOptions();
  o.faults.close_mid_stream = true;
  startWith(o);
  {
    Client c(port());
    auto r = c.post("/v1/chat/completions", chatBody("x", true));
    EXPECT_EQ(r.status, 200u);
    EXPECT_TRUE(r.ec);  // the chunked body never ended
    auto events = sseData(r.body());
    EXPECT_LT(events.size(), 6u);
    for (auto& e : events) EXPECT_NE(e, "[DONE]");
  }
  {
    Client c(port());
    auto r = c.post("/v1/chat/completions", chatBody("x"));
    EXPECT_TRUE(r.ec);
  }
  EXPECT_EQ(backend_->stats().closed_mid_stream, 2u);
  // Switch off at run time: whole streams again.
  Client c(port());
  ASSERT_EQ(c.post("/admin/faults", R"({"close_mid_stream":false})").status, 200u);
  auto ok = c.post("/v1/chat/completions", chatBody("x", true));
  EXPECT_FALSE(ok.ec);
  EXPECT_EQ(sseData(ok.body()).back(), "[DONE]");
}

TEST_F(MockBackendTest, RegionEvidenceCanBeForwardedOrOmitted) {
  auto o = fastOptions();
  o.faults.report_region = "us-east-1";
  o.faults.report_fraction = 1.0;
  startWith(o);
  Client c(port());
  auto r = c.post("/v1/chat/completions", chatBody("x"));
  EXPECT_EQ(r.header("x-inference-region"), "us-east-1");
  EXPECT_NE(r.body().find("\"inference_geo\":\"us-east-1\""), std::string::npos);
  ASSERT_EQ(c.post("/admin/faults", R"({"report_fraction":0,"omit_region_header":true})").status,
            200u);
  auto omitted = c.post("/v1/chat/completions", chatBody("x"));
  EXPECT_EQ(omitted.status, 200u);
  EXPECT_FALSE(omitted.has("x-inference-region"));
  EXPECT_NE(omitted.body().find("\"inference_geo\":\"eu-central-1\""), std::string::npos);
  // A fraction forwards only some.
  ASSERT_EQ(c.post("/admin/faults",
                   R"({"report_fraction":0.5,"omit_region_header":false})").status, 200u);
  int other = 0;
  for (int i = 0; i < 200; ++i)
    other += c.post("/v1/chat/completions", chatBody("x")).header("x-inference-region") ==
             "us-east-1";
  EXPECT_GT(other, 60);
  EXPECT_LT(other, 140);
}

TEST_F(MockBackendTest, RequestLogHasOneLinePerRequest) {
  auto o = fastOptions();
  o.request_log = ::testing::TempDir() + "mock_request_log_" + std::to_string(::getpid()) + ".jsonl";
  std::remove(o.request_log.c_str());
  const std::string path = o.request_log;
  startWith(o);
  Client c(port());
  const std::string prompt = longPrompt(40);
  c.post("/v1/chat/completions", chatBody(prompt), {{"x-regiongate-request-id", "req-1"}});
  c.post("/v1/chat/completions", chatBody(prompt, true), {{"x-regiongate-request-id", "req-2"}});
  // Read while the server runs.
  std::vector<std::string> lines;
  ASSERT_TRUE(eventually([&] {
    lines.clear();
    std::ifstream f(path);
    for (std::string l; std::getline(f, l);) lines.push_back(l);
    return lines.size() >= 2;
  }));
  ASSERT_EQ(lines.size(), 2u);
  simdjson::dom::parser p;
  auto first = parse(p, lines[0]);
  EXPECT_EQ(std::string_view(first["request_id"].get_string().value()), "req-1");
  EXPECT_EQ(std::string_view(first["path"].get_string().value()), "/v1/chat/completions");
  EXPECT_EQ(std::string_view(first["model"].get_string().value()), "llama");
  EXPECT_EQ(std::string_view(first["region"].get_string().value()), "eu-central-1");
  EXPECT_EQ(first["status"].get_uint64().value(), 200u);
  EXPECT_FALSE(first["stream"].get_bool().value());
  const std::string text = openai::chatPromptText({{"user", prompt}});
  EXPECT_EQ(first["prompt_tokens"].get_uint64().value(), inference::Tokenizer::count(text));
  EXPECT_EQ(first["cached_tokens"].get_uint64().value(), 0u);
  char hash[17];
  std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(xxh3(text)));
  EXPECT_EQ(std::string_view(first["prompt_hash"].get_string().value()), hash);
  auto second = parse(p, lines[1]);
  EXPECT_EQ(std::string_view(second["request_id"].get_string().value()), "req-2");
  EXPECT_TRUE(second["stream"].get_bool().value());
  EXPECT_GT(second["cached_tokens"].get_uint64().value(), 0u);
  backend_->stop(0);
  std::remove(path.c_str());
}

TEST_F(MockBackendTest, BatchSlotsQueueConcurrentRequests) {
  auto o = fastOptions();
  o.latency.time_scale = 1;
  o.latency.ttft_fixed_ms = 80;
  o.latency.prefill_ms_per_token = 0;
  o.latency.decode_ms_per_token = 0;
  o.latency.batch_slots = 1;
  o.workers = 2;
  startWith(o);
  // Two requests at once on one slot: the later one waits for the first (>= 2 x 80 ms in all).
  auto t0 = std::chrono::steady_clock::now();
  std::thread other([&] {
    Client c(port());
    EXPECT_EQ(c.post("/v1/chat/completions", chatBody("a")).status, 200u);
  });
  Client c(port());
  EXPECT_EQ(c.post("/v1/chat/completions", chatBody("b")).status, 200u);
  other.join();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(ms, 160);
}

TEST_F(MockBackendTest, SeveralInstancesInOneProcess) {
  startWith(fastOptions());
  auto o2 = fastOptions();
  o2.region = "us-east-1";
  MockBackend second(o2);
  ASSERT_TRUE(second.start().ok());
  EXPECT_NE(second.port(), port());
  Client a(port()), b(second.port());
  EXPECT_EQ(a.post("/v1/chat/completions", chatBody("x")).header("x-inference-region"),
            "eu-central-1");
  EXPECT_EQ(b.post("/v1/chat/completions", chatBody("x")).header("x-inference-region"),
            "us-east-1");
  second.stop();
}

TEST(MockOptions, ValidationNamesTheBadOption) {
  MockOptions o;
  EXPECT_FALSE(validateOptions(o).ok());
  o.region = "r";
  o.models = {{"m", "v1"}};
  EXPECT_TRUE(validateOptions(o).ok());
  o.divergence = 2;
  auto st = validateOptions(o);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("--divergence"), std::string::npos);
  o.divergence = 0;
  o.stream_min_write_ms = -1;
  st = validateOptions(o);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("--stream-min-write-ms"), std::string::npos);
  o.stream_min_write_ms = std::nan("");
  EXPECT_FALSE(validateOptions(o).ok());
  EXPECT_FALSE(parseModelSpec("").ok());
  EXPECT_FALSE(parseModelSpec("m@").ok());
  auto spec = parseModelSpec("m@v7");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->version, "v7");
  EXPECT_EQ(parseModelSpec("m")->version, "v1");
}

}  // namespace
}  // namespace regiongate::mock
