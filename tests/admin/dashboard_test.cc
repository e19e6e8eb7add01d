// The admin dashboard (src/admin/dashboard.html) against a real deployment: the page is served
// self-contained from the binary, and Debian's headless Chromium, driving the real page, shows
// the same numbers that /metrics reports (computed here independently from the exposition).
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "../gateway/gateway_fixture.h"
#include "prom_text.h"
#include "run_command.h"

namespace regiongate::testing {
namespace {

using Attrs = std::map<std::string, std::string>;

// Every `<tr class="<cls>" ...>` of the dumped DOM, as attribute maps.
std::vector<Attrs> rowsOf(const std::string& dom, const std::string& cls) {
  std::vector<Attrs> rows;
  std::regex tr("<tr class=\"" + cls + "\"([^>]*)>");
  std::regex attr("([a-z0-9-]+)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), tr); it != std::sregex_iterator(); ++it) {
    Attrs a;
    std::string inner = (*it)[1];
    for (auto at = std::sregex_iterator(inner.begin(), inner.end(), attr);
         at != std::sregex_iterator(); ++at)
      a[(*at)[1]] = (*at)[2];
    rows.push_back(std::move(a));
  }
  return rows;
}

// Attribute maps of every start tag of the dumped DOM matching `tag_re` (its group 1 = the tag's
// attributes).
std::vector<Attrs> tagsOf(const std::string& dom, const std::string& tag_re) {
  std::vector<Attrs> tags;
  std::regex tag(tag_re);
  std::regex attr("([a-z0-9-]+)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), tag); it != std::sregex_iterator();
       ++it) {
    Attrs a;
    std::string inner = (*it)[1];
    for (auto at = std::sregex_iterator(inner.begin(), inner.end(), attr);
         at != std::sregex_iterator(); ++at)
      a[(*at)[1]] = (*at)[2];
    tags.push_back(std::move(a));
  }
  return tags;
}

double num(const Attrs& a, const std::string& key) {
  auto it = a.find(key);
  if (it == a.end()) return -12345;  // missing attribute: never equal to a metric
  if (it->second == "NaN") return std::numeric_limits<double>::quiet_NaN();
  return std::strtod(it->second.c_str(), nullptr);
}

void expectSame(double page, double metrics, const std::string& what) {
  if (std::isnan(metrics)) {
    EXPECT_TRUE(std::isnan(page)) << what << ": page " << page << ", /metrics has no value";
    return;
  }
  EXPECT_NEAR(page, metrics, 1e-9 * std::max(1.0, std::fabs(metrics))) << what;
}

// What the page should show for one (jurisdiction, region), from /metrics.
struct Expected {
  double requests = 0, prompt = 0, cached = 0, fb_out = 0, fb_in = 0, r503 = 0, violations = 0;
  std::vector<std::pair<double, double>> ttft;  // (le, cumulative count) summed over models
};

std::map<std::string, Expected> expectedRows(const std::vector<PromSample>& samples) {
  std::map<std::string, Expected> rows;
  auto key = [](const std::string& j, const std::string& r) { return j + "|" + r; };
  std::map<std::string, std::map<double, double>> ttft;
  for (const auto& s : samples) {
    const auto& l = s.labels;
    auto get = [&](const char* k) { auto it = l.find(k); return it == l.end() ? std::string() : it->second; };
    if (s.name == "regiongate_requests_total") {
      rows[key(get("jurisdiction"), get("region"))].requests += s.value;
      if (get("code") == "503") rows[key(get("jurisdiction"), get("region"))].r503 += s.value;
    } else if (s.name == "regiongate_prompt_tokens_total") {
      rows[key(get("jurisdiction"), get("region"))].prompt += s.value;
    } else if (s.name == "regiongate_cached_prompt_tokens_total") {
      rows[key(get("jurisdiction"), get("region"))].cached += s.value;
    } else if (s.name == "regiongate_fallbacks_total") {
      rows[key(get("jurisdiction"), get("from_region"))].fb_out += s.value;
      rows[key(get("jurisdiction"), get("to_region"))].fb_in += s.value;
    } else if (s.name == "regiongate_residency_violations_total") {
      rows[key(get("jurisdiction"), get("actual_region"))].violations += s.value;
    } else if (s.name == "regiongate_ttft_seconds_bucket") {
      std::string le = get("le");
      double b = le == "+Inf" ? std::numeric_limits<double>::infinity() : std::strtod(le.c_str(), nullptr);
      rows[key(get("jurisdiction"), get("region"))];
      ttft[key(get("jurisdiction"), get("region"))][b] += s.value;
    }
  }
  for (auto& [k, m] : ttft)
    for (auto& [le, c] : m) rows[k].ttft.emplace_back(le, c);
  return rows;
}

// Headless Chromium renders the page (virtual time lets its fetches and polls complete) and
// prints the resulting DOM.
std::string renderWithChromium(const std::string& chromium, uint16_t admin_port, std::string& log,
                               const std::string& fragment = "") {
  std::string profile = makeTempDir("chromium");
  auto r = runCommand("timeout 90 " + shellQuote(chromium) +
                      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                      " --disable-background-networking --disable-component-update --disable-sync"
                      " --disable-dev-shm-usage --user-data-dir=" + shellQuote(profile) +
                      " --virtual-time-budget=5000 --dump-dom http://127.0.0.1:" +
                      std::to_string(admin_port) + "/" + fragment);
  runCommand("rm -rf " + shellQuote(profile));
  log = r.output;
  return r.output;  // the DOM is on stdout; Chromium's log lines (stderr) do not contain <tr
}

TEST(Dashboard, PageIsServedSelfContained) {
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  HttpClient c(d.adminPort());
  auto page = c.get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.header("content-type").find("text/html"), std::string::npos);
  EXPECT_NE(page.header("content-security-policy").find("default-src 'none'"), std::string::npos);
  EXPECT_NE(page.body.find("<title>regiongate</title>"), std::string::npos);
  // Nothing fetched from the internet: the only absolute URL is the SVG namespace identifier.
  std::string rest = page.body;
  for (size_t p = rest.find("http"); p != std::string::npos; p = rest.find("http", p + 4)) {
    std::string at = rest.substr(p, 40);
    if (at.starts_with("http://") || at.starts_with("https://"))
      EXPECT_TRUE(at.starts_with("http://www.w3.org/2000/svg")) << "external URL in page: " << at;
  }
  EXPECT_EQ(page.body.find("<link"), std::string::npos);
  EXPECT_EQ(page.body.find(" src="), std::string::npos);
  // The page's data sources answer on the same origin.
  EXPECT_EQ(c.get("/metrics").status, 200);
  EXPECT_EQ(c.get("/admin/status").status, 200);
}

TEST(Dashboard, ChromiumShowsWhatMetricsReport) {
  std::string chromium = findProgram("chromium");
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian package chromium; "
                                        "scripts/bootstrap.sh installs it)";
  Deployment d;
  GatewaySettings s;  // round_robin over the jurisdiction's pool; on_violation: alert
  ASSERT_TRUE(d.startGateway(s));

  // Traffic in both jurisdictions, streaming (TTFT) and not; shared prompts give cache hits.
  for (int i = 0; i < 9; ++i) ASSERT_EQ(d.chat(kEuKey, "What is my balance?", i % 3 != 0).status, 200);
  for (int i = 0; i < 6; ++i) ASSERT_EQ(d.chat(kUsKey, "Where is my order?", true).status, 200);
  // eu-central-1 fails: requests fall back to eu-west-1 inside the EU.
  ASSERT_EQ(d.setFaults("fra-a", R"({"error_rate":1.0,"error_status":503})").status, 200);
  ASSERT_EQ(d.setFaults("fra-b", R"({"error_rate":1.0,"error_status":503})").status, 200);
  for (int i = 0; i < 4; ++i) d.chat(kEuKey, "Fallback please", true);
  // A model no endpoint serves: 404 model_not_found (a client error, not an outage).
  HttpClient gw(d.port());
  auto refused = gw.post("/v1/chat/completions",
                         R"({"model":"no-such-model","messages":[{"role":"user","content":"hi"}]})",
                         {{"authorization", "Bearer " + kEuKey}});
  EXPECT_EQ(refused.status, 404);
  // dub-a claims to be in the US: a residency violation (delivered, on_violation: alert).
  ASSERT_EQ(d.setFaults("dub-a", R"({"report_region":"us-east-1","report_fraction":1.0})").status, 200);
  // fra-a and fra-b still fail (and may still be ejected), so every one of these ends on dub-a
  // whatever the clock did meanwhile: the faults are cleared only afterwards. (Clearing them
  // first relied on the ejection outlasting the requests, which a slow ASan run broke.)
  for (int i = 0; i < 4; ++i) d.chat(kEuKey, "Where are you?", false);
  // Every EU endpoint fails: the pool is exhausted, a typed 503 (region "none"). (A model no
  // endpoint serves is a 404 model_not_found, not a 503.) Last, so dub-a's failures (and any
  // ejection) cannot touch the requests above.
  ASSERT_EQ(d.setFaults("dub-a", R"({"error_rate":1.0,"error_status":503})").status, 200);
  EXPECT_EQ(d.chat(kEuKey, "Anyone there?", false).status, 503);
  ASSERT_EQ(d.setFaults("dub-a", R"({"error_rate":0})").status, 200);
  ASSERT_EQ(d.setFaults("fra-a", R"({"error_rate":0})").status, 200);
  ASSERT_EQ(d.setFaults("fra-b", R"({"error_rate":0})").status, 200);

  std::string log;
  std::string dom = renderWithChromium(chromium, d.adminPort(), log);
  // No traffic after this point, so /metrics now equals what the page fetched.
  std::string metrics_text = d.metrics();
  auto samples = parsePromText(metrics_text);
  ASSERT_NE(dom.find("data-state=\"ready\""), std::string::npos) << "page did not render:\n" << log;

  auto expected = expectedRows(samples);
  auto regions = rowsOf(dom, "region");
  ASSERT_FALSE(regions.empty()) << dom;
  std::set<std::string> page_keys;
  for (const auto& row : regions) {
    std::string k = row.at("data-jurisdiction") + "|" + row.at("data-region");
    page_keys.insert(k);
    ASSERT_TRUE(expected.count(k)) << "page shows " << k << " which /metrics does not have";
    const Expected& e = expected.at(k);
    expectSame(num(row, "data-requests"), e.requests, k + " requests");
    expectSame(num(row, "data-prompt-tokens"), e.prompt, k + " prompt tokens");
    expectSame(num(row, "data-cached-prompt-tokens"), e.cached, k + " cached tokens");
    expectSame(num(row, "data-hit-rate"),
               e.prompt > 0 ? e.cached / e.prompt : std::numeric_limits<double>::quiet_NaN(),
               k + " hit rate");
    expectSame(num(row, "data-ttft-p50"), histogramQuantile(0.5, e.ttft), k + " ttft p50");
    expectSame(num(row, "data-ttft-p99"), histogramQuantile(0.99, e.ttft), k + " ttft p99");
    expectSame(num(row, "data-fallbacks-out"), e.fb_out, k + " fallbacks out");
    expectSame(num(row, "data-fallbacks-in"), e.fb_in, k + " fallbacks in");
    expectSame(num(row, "data-typed-503"), e.r503, k + " typed 503");
    expectSame(num(row, "data-violations"), e.violations, k + " violations");
  }
  for (const auto& [k, e] : expected) EXPECT_TRUE(page_keys.count(k)) << "page misses " << k;

  // Jurisdiction rows: pool exhausted per jurisdiction.
  auto jurs = rowsOf(dom, "jur");
  ASSERT_EQ(jurs.size(), 2u);
  for (const auto& row : jurs) {
    const std::string& j = row.at("data-jurisdiction");
    expectSame(num(row, "data-pool-exhausted"),
               Deployment::metricSum(metrics_text, "regiongate_pool_exhausted_total",
                                     {"jurisdiction=\"" + j + "\""}),
               j + " pool exhausted");
    expectSame(num(row, "data-requests"),
               Deployment::metricSum(metrics_text, "regiongate_requests_total",
                                     {"jurisdiction=\"" + j + "\""}),
               j + " requests");
  }

  // Endpoint health and versions.
  auto eps = rowsOf(dom, "endpoint");
  ASSERT_EQ(eps.size(), 5u);
  for (const auto& row : eps) {
    std::string sel = "endpoint=\"" + row.at("data-endpoint") + "\"";
    expectSame(num(row, "data-healthy"),
               Deployment::metricSum(metrics_text, "regiongate_endpoint_healthy", {sel}),
               row.at("data-endpoint") + " healthy");
    std::vector<std::string> versions;
    for (const auto& smp : samples)
      if (smp.name == "regiongate_model_version_info" && smp.value == 1 &&
          smp.labels.at("endpoint") == row.at("data-endpoint"))
        versions.push_back(smp.labels.at("model") + "@" + smp.labels.at("version"));
    std::sort(versions.begin(), versions.end());
    std::string joined;
    for (const auto& v : versions) joined += (joined.empty() ? "" : ",") + v;
    EXPECT_EQ(row.at("data-versions"), joined);
  }

  // Charts over time. Each point is the change since the previous poll (the first poll: since
  // the gateway started). All traffic came before the page opened, so the first point holds all
  // of it and later polls add nothing: every series' newest point (rates, quantiles, cumulative
  // counts) or the sum of its points (per-poll counts) must equal /metrics.
  // chart id -> series key -> attributes (the same key, e.g. "EU|eu-west-1", is in several).
  std::map<std::string, std::map<std::string, Attrs>> charts;
  std::string current;
  for (auto& a : tagsOf(dom, "<(svg class=\"chart\"[^>]*|polyline class=\"series[^\"]*\"[^>]*)>")) {
    if (a.count("id")) {
      current = a["id"];
      continue;
    }
    charts[current][a["data-series"]] = a;
  }
  auto& series = charts["chart-hit-rate"];
  ASSERT_FALSE(series.empty()) << dom;
  std::map<std::string, std::pair<double, double>> jur_tokens;  // prompt, cached
  for (const auto& [k, e] : expected) {
    const std::string j = k.substr(0, k.find('|'));
    jur_tokens[j].first += e.prompt;
    jur_tokens[j].second += e.cached;
    if (e.prompt > 0) {
      ASSERT_TRUE(series.count(k)) << "no hit-rate series for " << k;
      expectSame(num(series[k], "data-last"), e.cached / e.prompt, k + " hit-rate chart");
    }
  }
  ASSERT_TRUE(series.count("baseline:EU") && series.count("baseline:US")) << dom;
  expectSame(num(series["baseline:EU"], "data-last"),
             jur_tokens["US"].second / jur_tokens["US"].first, "EU's baseline = US hit rate");
  expectSame(num(series["baseline:US"], "data-last"),
             jur_tokens["EU"].second / jur_tokens["EU"].first, "US's baseline = EU hit rate");
  auto& ttft_series = charts["chart-ttft"];
  auto& request_series = charts["chart-requests"];
  auto& violation_series = charts["chart-violations"];
  for (const auto& [k, e] : expected) {
    const double p50 = histogramQuantile(0.5, e.ttft);
    if (std::isnan(p50)) continue;
    ASSERT_TRUE(ttft_series.count(k)) << "no TTFT series for " << k;
    expectSame(num(ttft_series[k], "data-last"), p50, k + " TTFT chart");
  }
  std::map<std::string, double> by_actual;
  for (const auto& smp : samples)
    if (smp.name == "regiongate_requests_total") by_actual[smp.labels.at("region")] += smp.value;
  ASSERT_EQ(request_series.size(), by_actual.size());
  for (const auto& [region, n] : by_actual)
    expectSame(num(request_series[region], "data-sum"), n, region + " requests chart");
  std::map<std::string, double> violations_by_j;
  for (const auto& smp : samples)
    if (smp.name == "regiongate_residency_violations_total")
      violations_by_j[smp.labels.at("jurisdiction")] += smp.value;
  ASSERT_FALSE(violations_by_j.empty());
  for (const auto& [j, n] : violations_by_j)
    expectSame(num(violation_series[j], "data-last"), n, j + " violations chart");
  std::map<std::string, std::set<std::string>> region_versions;
  for (const auto& smp : samples)
    if (smp.name == "regiongate_model_version_info" && smp.value == 1)
      region_versions[smp.labels.at("region")].insert(smp.labels.at("version"));
  auto strips = tagsOf(dom, "<text ([^>]*class=\"version-strip\"[^>]*)>");
  ASSERT_EQ(strips.size(), region_versions.size()) << dom;
  for (auto& a : strips) {
    std::string joined;
    for (const auto& v : region_versions[a["data-region"]]) joined += (joined.empty() ? "" : "+") + v;
    EXPECT_EQ(a["data-last"], joined) << a["data-region"] << " version chart";
  }

  // The comparison covered real, non-zero numbers of every kind.
  const auto& eu_west = expected["EU|eu-west-1"];
  EXPECT_GT(eu_west.fb_in, 0) << "no fallback reached eu-west-1";
  double violations = 0;
  for (const auto& [k, e] : expected) violations += e.violations;
  EXPECT_GT(violations, 0) << "no violation counted";
  EXPECT_GT(expected["EU|none"].r503, 0) << "no typed 503";
  double cached = 0;
  for (const auto& [k, e] : expected) cached += e.cached;
  EXPECT_GT(cached, 0) << "no cache hits";
  EXPECT_FALSE(std::isnan(histogramQuantile(0.99, expected["US|us-east-1"].ttft)));
}

// With admin tokens configured the page (made public) fetches its data with the read token
// from the URL fragment; without it the data fetches get 401 and the page says so.
TEST(Dashboard, ChromiumFetchesWithTheReadTokenFromTheFragment) {
  std::string chromium = findProgram("chromium");
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian package chromium; "
                                        "scripts/bootstrap.sh installs it)";
  Deployment d;
  GatewaySettings s;
  s.admin_yaml = adminTokensYaml() + "  public: [/, /healthz, /readyz]\n";
  ASSERT_TRUE(d.startGateway(s));
  ASSERT_EQ(d.chat(kEuKey, "hello").status, 200);
  std::string log;
  std::string with_token =
      renderWithChromium(chromium, d.adminPort(), log, "#token=" + kAdminReadToken);
  EXPECT_NE(with_token.find("data-state=\"ready\""), std::string::npos) << "not rendered:\n" << log;
  std::string without = renderWithChromium(chromium, d.adminPort(), log);
  EXPECT_EQ(without.find("data-state=\"ready\""), std::string::npos) << without;
  EXPECT_NE(without.find("401"), std::string::npos) << without;
}

}  // namespace
}  // namespace regiongate::testing
