// Integration: a hostile upstream (tests/gateway/hostile_upstream.py, a real process) behind a
// real `regiongate serve`, next to a calm `regiongate mock-backend` serving another tenant. The
// hostile upstream's model ids and versions (/v1/models, read by discovery every 50 ms) and its
// region evidence (a response header, a body field) carry CR/LF, NUL, bytes above 0x7f, 10 KB
// strings and a new invented region name on every answer: more than 10 000 distinct names over
// the run; one model gets a new valid version at every discovery. Checked from the outside:
//   - every client answer, read raw off the socket, is exactly one response whose head holds only
//     the header lines the gateway writes, in plain ASCII (no injected line, no split response);
//   - /metrics holds no label value a peer chose (but the version each endpoint serves now, one
//     series per endpoint and model), stays under a bound computed from the config, and has not
//     grown between the first 100 requests and the last;
//   - the other tenant is served 200 throughout and after;
//   - the gateway is still alive at the end and left no sanitizer report;
//   - the audit keeps each raw evidence value, escaped (`regiongate audit query`).
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "raw_client.h"
#include "testing/http_client.h"
#include "testing/process.h"

namespace regiongate::testing {
namespace {

const char* kPython = "/usr/bin/python3";
const std::string kHostileKey = "sk-hostile-upstream-eu";
const std::string kCalmKey = "sk-calm-backend-us";
const std::string kInjected = "x-injected-by-upstream";  // hostile_upstream.py's marker
const std::string kHeaderModel = "hostile-header";      // evidence: header:x-upstream-region
const std::string kBodyModel = "hostile-body";          // evidence: body:hostile.region; its
                                                        // version changes at every discovery
const std::string kCalmModel = "llama-3.1-8b";
// Every answer's shape (hostile_upstream.py). Header values with a NUL or over the 8 KiB head
// limit never pass the upstream head check: the client gets a typed error instead.
const std::vector<std::string> kShapes = {"plain", "crlf", "nul", "highbit", "long", "huge"};
constexpr int kRequests = 11'200;  // every 10th for the calm tenant: 10 080 hostile answers
constexpr int kWarmUp = 100;
constexpr int kThreads = 4;

// What the config below names: the only values a label may take where a peer could have chosen.
const std::map<std::string, std::set<std::string>> kConfigLabels = {
    {"jurisdiction", {"EU", "US"}},
    {"region", {"eu-central-1", "eu-west-1", "us-east-1", "unknown", "none"}},
    {"actual_region", {"eu-central-1", "eu-west-1", "us-east-1", "unknown"}},
    {"from_region", {"eu-central-1", "eu-west-1", "us-east-1"}},
    {"to_region", {"eu-central-1", "eu-west-1", "us-east-1"}},
    {"endpoint", {"hostile-head", "hostile-body", "calm-us"}},
    {"model", {"hostile-header", "hostile-body", "llama-3.1-8b"}},
    {"version", {"v1", "unversioned"}},
};
// Labels whose values the gateway itself defines (status codes, kinds, outcomes, buckets).
constexpr size_t kVocabularyMax = 32;
// Endpoint x model pairs of the config: the series of regiongate_model_version_info.
constexpr size_t kServedModels = 3;

// A version of kBodyModel as the upstream announces them: r1, r2, ...
bool rotatingVersion(const std::string& v) {
  return v.size() > 1 && v[0] == 'r' && v.find_first_not_of("0123456789", 1) == std::string::npos;
}

// The header lines the gateway writes on a data-plane answer (lower case).
const std::set<std::string> kGatewayHeaders = {
    "content-type", "content-length", "transfer-encoding", "connection", "cache-control",
    "retry-after", "x-regiongate-request-id", "x-regiongate-jurisdiction", "x-regiongate-region",
    "x-regiongate-endpoint", "x-regiongate-attempts", "x-regiongate-model-version"};

struct Planned {
  int i = 0;
  bool calm = false;
  std::string model, shape;
  bool stream = false;
  // The upstream cannot deliver this answer through a valid head (the client gets an error).
  bool refused_head() const { return model == kHeaderModel && (shape == "nul" || shape == "huge"); }
};

// Request i's plan: every 10th is the calm tenant's; the hostile ones cycle through both
// evidence kinds x every shape x stream or not (24 combinations, all inside the warm-up).
Planned plan(int i) {
  Planned p;
  p.i = i;
  if (i % 10 == 9) {
    p.calm = true;
    p.model = kCalmModel;
    return p;
  }
  const int k = i / 10 * 9 + i % 10;
  p.model = k % 2 ? kBodyModel : kHeaderModel;
  p.shape = kShapes[static_cast<size_t>(k / 2) % kShapes.size()];
  p.stream = (k / 12) % 2 == 1;
  return p;
}

std::string requestBytes(const Planned& p) {
  const std::string content =
      p.calm ? "calm " + std::to_string(p.i)
             : "shape=" + p.shape + " n=" + std::to_string(p.i) +
                   (p.model == kHeaderModel ? " in=header" : " in=body");
  const std::string body = "{\"model\":\"" + p.model + "\",\"stream\":" +
                           (p.stream ? "true" : "false") +
                           ",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
         (p.calm ? kCalmKey : kHostileKey) +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Answer {
  std::string raw;  // every byte the gateway sent on the connection
  std::vector<ParsedResponse> responses;
  std::string rest;  // bytes after the last complete response
  bool closed = false;
};

// One request on its own connection (Connection: close): what came back until the gateway closed.
Answer exchange(uint16_t port, const Planned& p) {
  Answer a;
  RawConn c(port);
  if (!c.waitConnected()) return a;
  c.send(requestBytes(p));
  a.closed = c.readUntilClosed(20000);
  a.raw = c.received();
  a.responses = parseResponses(a.raw, &a.rest);
  return a;
}

// The raw head's problems: a header line the gateway does not write, a byte outside visible
// ASCII, the upstream's injection marker.
std::string headProblems(const std::string& raw) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return "no complete head";
  const std::string head = raw.substr(0, end);
  if (head.find(kInjected) != std::string::npos) return "the upstream's header line reached the client";
  size_t pos = head.find("\r\n");
  for (int guard = 0; guard < 64 && pos != std::string::npos; ++guard) {
    const size_t next = head.find("\r\n", pos + 2);
    const std::string line = head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
    pos = next;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return "a head line without a colon: " + line.substr(0, 80);
    std::string name = line.substr(0, colon);
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!kGatewayHeaders.count(name)) return "a header the gateway does not write: " + name;
    for (unsigned char ch : line)
      if ((ch < 0x20 && ch != '\t') || ch >= 0x7f) return "a control or non-ASCII byte in " + name;
  }
  return "";
}

// Everything wrong with one answer ("" when it is right).
std::string answerProblems(const Planned& p, const Answer& a) {
  if (!a.closed) return "the gateway did not finish the answer";
  if (a.responses.size() != 1 || !a.rest.empty())
    return std::to_string(a.responses.size()) + " responses and " + std::to_string(a.rest.size()) +
           " stray bytes on one connection";
  if (auto h = headProblems(a.raw); !h.empty()) return h;
  const ParsedResponse& r = a.responses.front();
  if (p.calm) {
    if (r.status != 200) return "calm tenant got " + std::to_string(r.status) + ": " + r.body;
    if (r.header("x-regiongate-region") != "us-east-1") return "calm region " + r.header("x-regiongate-region");
    return "";
  }
  if (p.refused_head()) {
    if (r.status < 500 || r.body.find("\"error\"") == std::string::npos)
      return "a head the gateway must refuse was answered " + std::to_string(r.status);
    if (r.body.find("hostile reply") != std::string::npos) return "content of a refused head leaked";
    return "";
  }
  if (r.status != 200) return "hostile " + p.shape + " got " + std::to_string(r.status) + ": " + r.body.substr(0, 300);
  if (r.header("x-regiongate-region") != "unknown") return "region header " + r.header("x-regiongate-region").substr(0, 80);
  const std::string version = r.header("x-regiongate-model-version");
  if (version != "unversioned" && !(p.model == kBodyModel && rotatingVersion(version)))
    return "version header " + version.substr(0, 80);
  if (r.body.find("hostile reply") == std::string::npos) return "no content: " + r.body.substr(0, 300);
  return "";
}

// --- /metrics

struct Sample {
  std::string family;
  std::map<std::string, std::string> labels;
};

// Parses `name{k="v",...} value` lines; a sample's family is its `# TYPE` name (histogram lines
// carry _bucket/_sum/_count). Label values are kept as written (escapes included).
std::vector<Sample> parseSamples(const std::string& text, std::map<std::string, std::string>& types) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      types[name] = type;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    const size_t brace = line.find('{');
    const std::string name = line.substr(0, std::min(brace, line.find(' ')));
    s.family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (name.size() > strlen(suffix) && name.ends_with(suffix) &&
          types.count(name.substr(0, name.size() - strlen(suffix))))
        s.family = name.substr(0, name.size() - strlen(suffix));
    if (brace != std::string::npos) {
      size_t k = brace + 1;
      for (int guard = 0; guard < 32 && k < line.size() && line[k] != '}'; ++guard) {
        const size_t eq = line.find("=\"", k);
        if (eq == std::string::npos) break;
        size_t q = eq + 2;
        while (q < line.size() && line[q] != '"') q += line[q] == '\\' ? 2 : 1;
        s.labels[line.substr(k, eq - k)] = line.substr(eq + 2, q - eq - 2);
        k = q + 1 < line.size() && line[q + 1] == ',' ? q + 2 : q + 1;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

size_t sampleLines(const std::string& text) {
  std::map<std::string, std::string> types;
  return parseSamples(text, types).size();
}

// Label values a peer could have chosen that the config does not name, and vocabulary labels
// with more values than the gateway defines.
std::vector<std::string> labelProblems(const std::vector<Sample>& samples) {
  std::vector<std::string> problems;
  std::map<std::string, std::set<std::string>> vocabulary;  // family/label -> values
  for (const auto& s : samples)
    for (const auto& [k, v] : s.labels) {
      auto it = kConfigLabels.find(k);
      if (k == "version" && rotatingVersion(v)) continue;
      if (it != kConfigLabels.end() && !it->second.count(v))
        problems.push_back(s.family + "{" + k + "=" + v.substr(0, 80) + "}");
      if (it == kConfigLabels.end()) vocabulary[s.family + "/" + k].insert(v);
    }
  for (const auto& [k, values] : vocabulary)
    if (values.size() > kVocabularyMax)
      problems.push_back(k + " has " + std::to_string(values.size()) + " values");
  return problems;
}

// The most sample lines the config allows: per family, the product of its labels' domains (the
// config's names; for the gateway's own vocabularies, at most kVocabularyMax values), times the
// lines of one histogram (its buckets, _sum and _count).
size_t seriesBound(const std::vector<Sample>& samples, const std::map<std::string, std::string>& types) {
  std::map<std::string, std::set<std::string>> label_names, buckets;
  for (const auto& s : samples) {
    for (const auto& [k, v] : s.labels)
      if (k == "le") buckets[s.family].insert(v);
      else label_names[s.family].insert(k);
    label_names[s.family];
  }
  size_t bound = 0;
  for (const auto& [family, names] : label_names) {
    size_t sets = 1;
    for (const auto& n : names) {
      auto it = kConfigLabels.find(n);
      sets *= it != kConfigLabels.end() ? it->second.size() : kVocabularyMax;
    }
    const auto t = types.find(family);
    const bool histogram = t != types.end() && t->second == "histogram";
    bound += sets * (histogram ? buckets[family].size() + 2 : 1);
  }
  return bound;
}

// --- processes

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

uint16_t portAfter(const std::string& line, const std::string& prefix) {
  const auto at = line.find(prefix);
  if (at == std::string::npos) return 0;
  std::string rest = line.substr(at + prefix.size());
  rest = rest.substr(0, rest.find(' '));
  return static_cast<uint16_t>(std::stoi(rest.substr(rest.rfind(':') + 1)));
}

class HostileUpstream : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kPython, X_OK) != 0) GTEST_SKIP() << "no " << kPython;
    dir_ = makeTempDir("hostile");
    ASSERT_FALSE(dir_.empty());
    ASSERT_TRUE(hostile_.start({kPython, std::string(REGIONGATE_SOURCE_DIR) +
                                             "/tests/gateway/hostile_upstream.py",
                                "--model", kHeaderModel, "--rotating-model", kBodyModel},
                               dir_ + "/hostile.stderr"));
    const std::string h = hostile_.waitForLine("listening on ", 30000);
    ASSERT_FALSE(h.empty()) << readFile(dir_ + "/hostile.stderr");
    hostile_port_ = static_cast<uint16_t>(std::stoi(h.substr(13)));
    ASSERT_TRUE(calm_.start({REGIONGATE_BIN, "mock-backend", "--region", "us-east-1", "--listen",
                             "127.0.0.1:0", "--model", kCalmModel + "@v1", "--time-scale", "0"},
                            dir_ + "/calm.stderr"));
    const std::string c = calm_.waitForLine("listening ");
    ASSERT_FALSE(c.empty()) << readFile(dir_ + "/calm.stderr");
    calm_port_ = static_cast<uint16_t>(std::stoi(c.substr(c.rfind(':') + 1)));
    std::ofstream(dir_ + "/gw.yaml") << config();
    ASSERT_TRUE(gateway_.start({REGIONGATE_BIN, "serve", "--config", dir_ + "/gw.yaml",
                                "--log-level", "warn"},
                               dir_ + "/gateway.stderr"));
    const std::string g = gateway_.waitForLine("listening ", 30000);
    ASSERT_FALSE(g.empty()) << readFile(dir_ + "/gateway.stderr");
    port_ = portAfter(g, "data=");
    admin_port_ = portAfter(g, "admin=");
  }

  std::string config() const {
    const std::string hostile_url = "\"http://127.0.0.1:" + std::to_string(hostile_port_) + "\"";
    return "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nworkers: 2\n"
           "jurisdictions:\n  EU: { preset: EEA }\n  US: { countries: [US] }\n"
           "regions:\n  eu-central-1: { country: DE }\n  eu-west-1: { country: IE }\n"
           "  us-east-1: { country: US }\n"
           "endpoints:\n"
           "  - { name: hostile-head, url: " + hostile_url + ", region: eu-central-1,"
           " models: [" + kHeaderModel + "], evidence: \"header:x-upstream-region\" }\n"
           "  - { name: hostile-body, url: " + hostile_url + ", region: eu-west-1,"
           " models: [" + kBodyModel + "], evidence: \"body:hostile.region\" }\n"
           "  - { name: calm-us, url: \"http://127.0.0.1:" + std::to_string(calm_port_) + "\","
           " region: us-east-1, models: [" + kCalmModel + "@v1],"
           " evidence: \"header:x-inference-region\" }\n"
           "tenants:\n"
           "  - { name: eu-tenant, key_sha256: " + sha256Hex(kHostileKey) + ", jurisdiction: EU }\n"
           "  - { name: us-tenant, key_sha256: " + sha256Hex(kCalmKey) + ", jurisdiction: US }\n"
           "routing: { retries: 1, per_try_timeout_ms: 5000, upstream_timeout_ms: 10000 }\n"
           // A refused head is a failure of the endpoint; keep it in the pool for the next answer.
           "health: { consecutive_failures: 1000, interval_ms: 0 }\n"
           "residency: { on_violation: alert }\n"
           "audit: { dir: " + dir_ + "/audit, wait_durable: false }\n"
           "rollout: { discovery_interval_ms: 50, tick_ms: 10 }\n";
  }

  std::string metrics() { return HttpClient(admin_port_).get("/metrics").body; }

  // Every record with a residency violation, as `audit query --format jsonl` prints them.
  std::string auditViolations() {
    return run(std::string("'") + REGIONGATE_BIN + "' audit query --dir '" + dir_ +
               "/audit' --violations --format jsonl");
  }

  std::string dir_;
  ChildProcess hostile_, calm_, gateway_;
  uint16_t hostile_port_ = 0, calm_port_ = 0, port_ = 0, admin_port_ = 0;
};

// The first answer of each (model, shape, stream): its request id and n, for the audit checks.
struct Seen {
  std::string request_id;
  int n = -1;
};

// What the client side saw over the whole run.
struct ClientSide {
  std::mutex mu;
  std::vector<std::string> problems;
  std::map<std::string, Seen> first;  // "model/shape[/stream]" -> first good answer
  int hostile_ok = 0, calm_ok = 0;

  void record(const Planned& p, const Answer& a) {
    const std::string why = answerProblems(p, a);
    std::lock_guard lock(mu);
    if (!why.empty()) {
      if (problems.size() < 20) problems.push_back("request " + std::to_string(p.i) + ": " + why);
      return;
    }
    if (p.calm) {
      ++calm_ok;
      return;
    }
    if (!p.refused_head()) ++hostile_ok;
    const std::string key = p.model + "/" + p.shape + (p.stream ? "/stream" : "");
    if (!first.count(key)) first[key] = {a.responses.front().header("x-regiongate-request-id"), p.i};
  }
};

double sampleValue(const std::string& text, const std::string& prefix,
                   const std::vector<std::string>& fragments) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    bool all = true;
    for (const auto& f : fragments) all = all && line.find(f) != std::string::npos;
    if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// The rN that regiongate_model_version_info shows for kBodyModel (-1 if none).
int announcedVersion(const std::string& text) {
  const std::string key = "model=\"" + kBodyModel + "\",version=\"r";
  const size_t at = text.find(key);
  return at == std::string::npos ? -1 : std::atoi(text.c_str() + at + key.size());
}

// /metrics after the run: the same lines as after the warm-up, only config names (or the fixed
// words) where a peer could have chosen a label, under the config's bound; the hostile answers
// were judged and counted under the one fixed label; discovery refused the hostile ids/versions.
void expectBoundedMetrics(const std::string& warm, const std::string& end, int hostile_ok) {
  std::map<std::string, std::string> types;
  const auto samples = parseSamples(end, types);
  EXPECT_EQ(samples.size(), sampleLines(warm)) << "the metric set grew with upstream strings";
  const auto bad_labels = labelProblems(samples);
  EXPECT_TRUE(bad_labels.empty()) << ::testing::PrintToString(bad_labels);
  EXPECT_LE(samples.size(), seriesBound(samples, types));
  size_t version_series = 0;
  for (const auto& s : samples) version_series += s.family == "regiongate_model_version_info";
  EXPECT_EQ(version_series, kServedModels) << "one series per endpoint and model";
  EXPECT_GT(announcedVersion(end), announcedVersion(warm)) << "the rotating version did not change";
  for (const std::string& hostile : {std::string("invented-region"), std::string("evil-model"), kInjected})
    EXPECT_EQ(end.find(hostile), std::string::npos) << hostile;
  EXPECT_EQ(sampleValue(end, "regiongate_residency_violations_total{",
                        {"actual_region=\"unknown\"", "kind=\"unknown_region\""}),
            hostile_ok);
  EXPECT_GE(sampleValue(end, "regiongate_peer_strings_refused_total{", {"kind=\"model_version\""}),
            200)
      << "discovery did not refuse the hostile upstream's model ids and versions";
}

// The audit's evidence_value of the first answer of each hostile shape, for its invented name
// (NUL and invalid UTF-8 become U+FFFD in the audit).
std::map<std::string, std::string> expectedEvidence(const std::string& name) {
  return {
      {"hostile-body/crlf", name + "\r\n" + kInjected + ": evidence"},
      {"hostile-body/nul", name + "\xef\xbf\xbdtail"},
      {"hostile-body/huge", name + "-" + std::string(10240, 'x')},
      {"hostile-body/highbit", name + "-\xc3\xbf"},
      {"hostile-body/crlf/stream", name + "\r\n" + kInjected + ": evidence"},
      {"hostile-header/crlf", name},  // the upstream's CR/LF ended its header line there
      {"hostile-header/highbit", name + "-\xef\xbf\xbd\xef\xbf\xbd"},
      {"hostile-header/long", name + "-" + std::string(7000, 'x')}};
}

// The audit output of the violations: one JSON line per answered hostile request, each judged
// unknown_region with actual_region "unknown", the raw evidence kept and escaped.
void expectEscapedAudit(const std::string& jsonl, const std::map<std::string, Seen>& first,
                        int hostile_ok) {
  EXPECT_EQ(jsonl.find('\r'), std::string::npos) << "a raw CR in the audit output";
  std::map<std::string, std::string> evidence;  // request id -> evidence_value
  int records = 0, misjudged = 0;
  std::string example;
  simdjson::dom::parser parser;
  std::istringstream in(jsonl);
  for (std::string line; std::getline(in, line) && records <= kRequests;) {
    ++records;
    simdjson::dom::element rec;
    std::string_view id, value, actual, violation;
    if (parser.parse(line).get(rec) != simdjson::SUCCESS || rec["request_id"].get(id) ||
        rec["evidence_value"].get(value) || rec["actual_region"].get(actual) ||
        rec["violation"].get(violation)) {
      ADD_FAILURE() << "not a record: " << line.substr(0, 300);
      return;
    }
    if (actual != "unknown" || violation != "unknown_region") {
      if (++misjudged == 1) example = line.substr(0, 300);
    }
    evidence[std::string(id)] = std::string(value);
  }
  EXPECT_EQ(records, hostile_ok);
  EXPECT_EQ(misjudged, 0) << "not recorded as actual_region unknown, unknown_region: " << example;
  for (const auto& [key, ignored] : expectedEvidence("")) {
    auto it = first.find(key);
    if (it == first.end()) {
      ADD_FAILURE() << "no answer of shape " << key;
      continue;
    }
    const std::string name = "invented-region-" + std::to_string(it->second.n);
    EXPECT_TRUE(evidence[it->second.request_id] == expectedEvidence(name).at(key))
        << key << ": " << evidence[it->second.request_id].substr(0, 100);
  }
  EXPECT_NE(jsonl.find("\\r\\n" + kInjected), std::string::npos) << "CR/LF not escaped as \\r\\n";
}

TEST_F(HostileUpstream, CannotSplitResponsesGrowMetricsOrStopOtherTenants) {
  ClientSide client;
  auto one = [&](int i) {
    const Planned p = plan(i);
    client.record(p, exchange(port_, p));
  };
  for (int i = 0; i < kWarmUp; ++i) one(i);
  const std::string warm = metrics();
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = kWarmUp + t; i < kRequests; i += kThreads) one(i);
      });
    for (auto& th : threads) th.join();
  }
  const std::string end = metrics();
  for (int i = kRequests; i < kRequests + 20; ++i)  // the other tenant, after the run
    if (plan(i).calm) one(i);

  EXPECT_TRUE(client.problems.empty()) << ::testing::PrintToString(client.problems);
  EXPECT_EQ(client.calm_ok, (kRequests + 20) / 10) << "the other tenant was not served every time";
  EXPECT_GE(client.hostile_ok, 8000);  // every hostile answer but the refused heads (1 in 6)
  expectBoundedMetrics(warm, end, client.hostile_ok);
  // Still alive; stop() fails the test if the gateway left a sanitizer report.
  EXPECT_TRUE(gateway_.running());
  gateway_.stop();
  EXPECT_EQ(readFile(dir_ + "/gateway.stderr").find('\r'), std::string::npos) << "a raw CR was logged";
  expectEscapedAudit(auditViolations(), client.first, client.hostile_ok);
}

}  // namespace
}  // namespace regiongate::testing
