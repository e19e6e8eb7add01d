#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "metrics/gateway_metrics.h"

namespace regiongate::metrics {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Registry, RendersCounterWithHelpTypeAndLabels) {
  Registry r;
  auto& fam = r.counter("rg_test_total", "A test counter.", {"a", "b"});
  fam.with({"x", "y"}).inc();
  fam.with({"x", "y"}).inc(2.5);
  fam.with({"x", "z"}).inc();
  std::string text = r.render();
  EXPECT_TRUE(contains(text, "# HELP rg_test_total A test counter.\n")) << text;
  EXPECT_TRUE(contains(text, "# TYPE rg_test_total counter\n")) << text;
  EXPECT_TRUE(contains(text, "rg_test_total{a=\"x\",b=\"y\"} 3.5\n")) << text;
  EXPECT_TRUE(contains(text, "rg_test_total{a=\"x\",b=\"z\"} 1\n")) << text;
}

TEST(Registry, CounterIgnoresNegativeIncrements) {
  Registry r;
  auto& c = r.counter("rg_neg_total", "h").with({});
  c.inc(3);
  c.inc(-1);
  EXPECT_DOUBLE_EQ(c.value(), 3.0);
}

TEST(Registry, GaugeSetAndAdd) {
  Registry r;
  auto& g = r.gauge("rg_gauge", "g", {"k"}).with({"v"});
  g.set(5);
  g.add(-2);
  EXPECT_DOUBLE_EQ(g.value(), 3.0);
  EXPECT_TRUE(contains(r.render(), "rg_gauge{k=\"v\"} 3\n"));
}

TEST(Registry, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r;
  auto& h = r.histogram("rg_lat_seconds", "latency", {"r"}, {0.1, 1.0}).with({"eu"});
  h.observe(0.05);
  h.observe(0.1);   // le is inclusive
  h.observe(0.5);
  h.observe(100);
  std::string text = r.render();
  EXPECT_TRUE(contains(text, "# TYPE rg_lat_seconds histogram\n")) << text;
  EXPECT_TRUE(contains(text, "rg_lat_seconds_bucket{r=\"eu\",le=\"0.10000000000000001\"} 2\n") ||
              contains(text, "rg_lat_seconds_bucket{r=\"eu\",le=\"0.1\"} 2\n"))
      << text;
  EXPECT_TRUE(contains(text, "rg_lat_seconds_bucket{r=\"eu\",le=\"1\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, "rg_lat_seconds_bucket{r=\"eu\",le=\"+Inf\"} 4\n")) << text;
  EXPECT_TRUE(contains(text, "rg_lat_seconds_count{r=\"eu\"} 4\n")) << text;
  auto snap = h.snapshot();
  EXPECT_NEAR(snap.sum, 100.65, 1e-9);
}

TEST(Registry, DefaultLatencyBucketsSpan1msTo60s) {
  auto b = defaultLatencyBuckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.001);
  EXPECT_DOUBLE_EQ(b.back(), 60.0);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

TEST(Registry, EscapesLabelValuesAndHelp) {
  Registry r;
  r.counter("rg_esc_total", "help with \\ and\nnewline", {"v"})
      .with({"quote\" back\\slash\nnl"})
      .inc();
  std::string text = r.render();
  EXPECT_TRUE(contains(text, "# HELP rg_esc_total help with \\\\ and\\nnewline\n")) << text;
  EXPECT_TRUE(contains(text, "rg_esc_total{v=\"quote\\\" back\\\\slash\\nnl\"} 1\n")) << text;
}

TEST(Registry, RejectsInvalidNamesAndConflicts) {
  Registry r;
  EXPECT_THROW(r.counter("9bad", "h"), std::invalid_argument);
  EXPECT_THROW(r.counter("rg_ok_total", "h", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.counter("rg_ok_total", "h", {"le"}), std::invalid_argument);
  auto& a = r.counter("rg_same_total", "h", {"x"});
  auto& b = r.counter("rg_same_total", "h", {"x"});
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(r.gauge("rg_same_total", "h", {"x"}), std::invalid_argument);
  EXPECT_THROW(r.counter("rg_same_total", "h", {"y"}), std::invalid_argument);
}

TEST(Registry, ConcurrentIncrementsFromManyThreadsSum) {
  Registry r;
  auto& fam = r.counter("rg_conc_total", "h", {"t"});
  auto& hist = r.histogram("rg_conc_seconds", "h", {}, {0.5});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string own = "t" + std::to_string(t % 2);
      for (int i = 0; i < kPerThread; ++i) {
        fam.with({"shared"}).inc();
        fam.with({own}).inc();
        hist.with(std::span<const std::string_view>{}).observe(i % 2 ? 1.0 : 0.1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_DOUBLE_EQ(fam.with({"shared"}).value(), double(kThreads) * kPerThread);
  EXPECT_DOUBLE_EQ(fam.with({"t0"}).value() + fam.with({"t1"}).value(),
                   double(kThreads) * kPerThread);
  auto snap = hist.with(std::span<const std::string_view>{}).snapshot();
  EXPECT_EQ(snap.count, uint64_t(kThreads) * kPerThread);
  EXPECT_EQ(snap.cumulative[0], uint64_t(kThreads) * kPerThread / 2);
  std::string text = r.render();
  EXPECT_TRUE(contains(text, "rg_conc_total{t=\"shared\"} 160000\n")) << text;
}

TEST(Registry, CollectorsAppendAfterFamilies) {
  Registry r;
  r.counter("rg_first_total", "h").with({}).inc();
  r.addCollector([](std::string& out) {
    out += "# HELP rg_audit_x_total x\n# TYPE rg_audit_x_total counter\nrg_audit_x_total 7";
  });
  std::string text = r.render();
  auto a = text.find("rg_first_total 1\n");
  auto b = text.find("rg_audit_x_total 7\n");  // newline added when the collector omits it
  ASSERT_NE(a, std::string::npos) << text;
  ASSERT_NE(b, std::string::npos) << text;
  EXPECT_LT(a, b);
}

TEST(Registry, WrongLabelCountDoesNotCrashInRelease) {
#ifdef NDEBUG
  Registry r;
  auto& fam = r.counter("rg_pad_total", "h", {"a", "b"});
  fam.with({"only"}).inc();
  EXPECT_TRUE(contains(r.render(), "rg_pad_total{a=\"only\",b=\"\"} 1\n"));
#else
  GTEST_SKIP() << "label-count mismatch asserts in debug builds";
#endif
}

TEST(GatewayMetrics, RegistersContractNamesAndLabels) {
  Registry r;
  GatewayMetrics m(r);
  m.requests.with({"EU", "eu-central-1", "llama", "200"}).inc();
  m.ttft.with({"EU", "eu-central-1", "llama"}).observe(0.2);
  m.request_duration.with({"EU", "eu-central-1"}).observe(1.0);
  m.gateway_overhead.observe(0.0002);
  m.prompt_tokens.with({"EU", "eu-central-1", "llama"}).inc(100);
  m.cached_prompt_tokens.with({"EU", "eu-central-1", "llama"}).inc(60);
  m.upstream_attempts.with({"EU", "eu-central-1", "fra-a", "ok"}).inc();
  m.fallbacks.with({"EU", "eu-central-1", "eu-west-1"}).inc();
  m.pool_exhausted.with({"EU", "llama"}).inc();
  m.residency_violations.with({"EU", "us-east-1", "outside_jurisdiction"}).inc();
  m.endpoint_healthy.with({"eu-central-1", "fra-a"}).set(1);
  m.limit_rejections.with({"body_size"}).inc();
  m.errors.with({"residency_pool_exhausted"}).inc();
  m.config_reloads.with({"ok"}).inc();
  std::string t = r.render();
  for (const char* line : {
           "regiongate_requests_total{jurisdiction=\"EU\",region=\"eu-central-1\",model=\"llama\","
           "code=\"200\"} 1\n",
           "regiongate_ttft_seconds_count{jurisdiction=\"EU\",region=\"eu-central-1\","
           "model=\"llama\"} 1\n",
           "regiongate_request_duration_seconds_count{jurisdiction=\"EU\","
           "region=\"eu-central-1\"} 1\n",
           "regiongate_gateway_overhead_seconds_count 1\n",
           "regiongate_prompt_tokens_total{jurisdiction=\"EU\",region=\"eu-central-1\","
           "model=\"llama\"} 100\n",
           "regiongate_cached_prompt_tokens_total{jurisdiction=\"EU\",region=\"eu-central-1\","
           "model=\"llama\"} 60\n",
           "regiongate_upstream_attempts_total{jurisdiction=\"EU\",region=\"eu-central-1\","
           "endpoint=\"fra-a\",outcome=\"ok\"} 1\n",
           "regiongate_fallbacks_total{jurisdiction=\"EU\",from_region=\"eu-central-1\","
           "to_region=\"eu-west-1\"} 1\n",
           "regiongate_pool_exhausted_total{jurisdiction=\"EU\",model=\"llama\"} 1\n",
           "regiongate_residency_violations_total{jurisdiction=\"EU\",actual_region=\"us-east-1\","
           "kind=\"outside_jurisdiction\"} 1\n",
           "regiongate_endpoint_healthy{region=\"eu-central-1\",endpoint=\"fra-a\"} 1\n",
           "regiongate_limit_rejections_total{kind=\"body_size\"} 1\n",
           "regiongate_errors_total{type=\"residency_pool_exhausted\"} 1\n",
           "regiongate_config_reloads_total{result=\"ok\"} 1\n"}) {
    EXPECT_TRUE(contains(t, line)) << "missing: " << line << "\n" << t;
  }
}

// promtool (Debian package `prometheus`) is the reference parser/linter of the format.
TEST(GatewayMetrics, PassesPromtoolCheckMetrics) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "promtool not installed (apt-get install prometheus; scripts/bootstrap.sh "
                    "lists it)";
  Registry r;
  GatewayMetrics m(r);
  m.requests.with({"EU", "eu-central-1", "llama", "200"}).inc();
  m.ttft.with({"EU", "eu-central-1", "llama"}).observe(0.2);
  m.residency_violations.with({"E\"U", "a\\b", "x\ny"}).inc();
  auto dir = std::filesystem::temp_directory_path() /
             ("rg_promtool_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "metrics.txt";
  {
    std::ofstream f(file);
    f << r.render();
  }
  std::string cmd = "promtool check metrics < " + file.string() + " > " +
                    (dir / "out.txt").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream out(dir / "out.txt");
  std::string msg((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0) << msg;
}

}  // namespace
}  // namespace regiongate::metrics
