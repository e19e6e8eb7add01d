#include "sim/trace.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include <simdjson.h>

#include "common/hash.h"
#include "common/lines.h"

namespace regiongate::sim {

namespace {

Error traceError(std::string message) {
  return Error{ErrorSource::Config, "invalid_trace", std::move(message), false};
}

}  // namespace

uint64_t Trace::inputTokens() const {
  uint64_t n = 0;
  for (const auto& r : requests) n += r.input_tokens;
  return n;
}

uint64_t Trace::outputTokens() const {
  uint64_t n = 0;
  for (const auto& r : requests) n += r.output_tokens;
  return n;
}

uint64_t chainBlockId(uint64_t parent, uint64_t id) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((id >> (8 * i)) & 0xff);
  return chainHash(parent, std::string_view(bytes, 8));
}

uint64_t conversationKey(const std::vector<uint64_t>& blocks, uint64_t fallback) {
  if (blocks.size() >= 2) return blocks[1];
  return chainBlockId(0x9e3779b97f4a7c15ULL, fallback);
}

Result<TraceRequest> parseMooncakeLine(std::string_view line) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS)
    return traceError("not valid JSON");
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return traceError("not a JSON object");
  TraceRequest r;
  double ts = 0;
  simdjson::dom::element v;
  if (obj["timestamp"].get(v) != simdjson::SUCCESS) return traceError("missing timestamp");
  if (v.is_int64()) ts = double(int64_t(v));
  else if (v.is_uint64()) ts = double(uint64_t(v));
  else if (v.is_double()) ts = double(v);
  else return traceError("timestamp is not a number");
  if (!(ts >= 0) || !std::isfinite(ts)) return traceError("timestamp must be >= 0");
  r.arrival_ms = ts;
  int64_t in = 0, out = 0;
  if (obj["input_length"].get_int64().get(in) != simdjson::SUCCESS || in < 0 || in > (1 << 30))
    return traceError("input_length must be an integer >= 0");
  if (obj["output_length"].get_int64().get(out) != simdjson::SUCCESS || out < 0 || out > (1 << 30))
    return traceError("output_length must be an integer >= 0");
  r.input_tokens = uint32_t(in);
  r.output_tokens = uint32_t(out);
  simdjson::dom::array ids;
  if (obj["hash_ids"].get_array().get(ids) != simdjson::SUCCESS)
    return traceError("hash_ids must be an array");
  uint64_t parent = 0;
  for (simdjson::dom::element id : ids) {
    int64_t x = 0;
    if (id.get_int64().get(x) != simdjson::SUCCESS || x < 0)
      return traceError("hash_ids must hold integers >= 0");
    parent = chainBlockId(parent, uint64_t(x));
    r.blocks.push_back(parent);
  }
  // Optional extension: the conversation a request belongs to. Without it the conversation is
  // found from the blocks (conversationKey), which fails when a long shared prefix covers block 1.
  if (obj["session_id"].get(v) == simdjson::SUCCESS) {
    int64_t session = 0;
    if (v.get_int64().get(session) != simdjson::SUCCESS || session < 0)
      return traceError("session_id must be an integer >= 0");
    r.conversation = chainBlockId(0x5e55'10'00ULL, uint64_t(session));
    r.has_session = true;
  }
  return r;
}

Result<Trace> parseMooncakeTrace(std::string_view text, size_t limit) {
  Trace t;
  t.tokens_per_block = 512;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    std::string_view line = nextLine(text, pos);
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    auto r = parseMooncakeLine(line);
    if (!r) return traceError("line " + std::to_string(line_no) + ": " + r.error().message);
    if (!r->has_session) r->conversation = conversationKey(r->blocks, t.requests.size());
    t.requests.push_back(std::move(*r));
    if (limit > 0 && t.requests.size() >= limit) break;
  }
  std::stable_sort(t.requests.begin(), t.requests.end(),
                   [](const TraceRequest& a, const TraceRequest& b) {
                     return a.arrival_ms < b.arrival_ms;
                   });
  return t;
}

Result<Trace> readMooncakeTrace(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return traceError("cannot open trace file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto t = parseMooncakeTrace(ss.str(), limit);
  if (!t) return traceError(path + ": " + t.error().message);
  t->source = path;
  return t;
}

Trace generateSynthetic(const SyntheticOptions& o) {
  Trace t;
  t.tokens_per_block = std::max<uint32_t>(1, o.tokens_per_block);
  t.source = "synthetic(seed=" + std::to_string(o.seed) + ")";
  t.requests.reserve(o.requests);
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto expo = [&](double mean) { return -std::log(1.0 - unit(rng)) * mean; };

  struct Session {
    std::vector<uint64_t> blocks;
    uint32_t turns_left = 0;
    uint64_t id = 0;
  };
  std::vector<Session> active;
  active.reserve(o.max_active_sessions);
  uint64_t next_block_id = 1'000'000;
  const uint32_t tenants = std::max<uint32_t>(1, o.tenants);
  // Tenant popularity: uniform, or Zipf with exponent tenant_skew (a few big tenants, a long tail).
  std::vector<double> tenant_weights(tenants);
  for (uint32_t k = 0; k < tenants; ++k)
    tenant_weights[k] = o.tenant_skew > 0 ? 1.0 / std::pow(double(k + 1), o.tenant_skew) : 1.0;
  std::discrete_distribution<uint32_t> tenant_dist(tenant_weights.begin(), tenant_weights.end());
  auto pickTenant = [&](std::mt19937_64& g) {
    return o.tenant_skew > 0 ? tenant_dist(g) : uint32_t(g() % tenants);
  };
  uint64_t next_session = 0;

  // Arrival process: Poisson at rate, or a two-state MMPP whose long-run mean is `rate`.
  const double base = std::max(1e-9, o.rate_per_s);
  double lo_rate = base, hi_rate = base;
  double mean_lo_s = 1.0;  // bursts last burst_mean_s on average; calm spells mean_lo_s
  if (o.bursty) {
    double f = std::clamp(o.burst_fraction, 0.01, 0.99);
    lo_rate = base / (f * o.burst_factor + (1 - f));
    hi_rate = lo_rate * o.burst_factor;
    mean_lo_s = o.burst_mean_s * (1 - f) / f;
  }
  bool in_burst = false;
  double state_end_s = o.bursty ? expo(mean_lo_s) : 1e300;
  double now_s = 0;

  for (size_t i = 0; i < o.requests; ++i) {
    // Next arrival (memoryless: redraw at state changes).
    for (;;) {
      double rate = in_burst ? hi_rate : lo_rate;
      double dt = expo(1.0 / rate);
      if (now_s + dt <= state_end_s) {
        now_s += dt;
        break;
      }
      now_s = state_end_s;
      in_burst = !in_burst;
      state_end_s = now_s + expo(in_burst ? o.burst_mean_s : mean_lo_s);
    }
    // Continue an open conversation, or start one (always when none is open).
    bool start = active.empty() ||
                 (active.size() < o.max_active_sessions && unit(rng) < 1.0 / std::max(1.0, o.mean_turns));
    size_t s_idx;
    if (start) {
      Session s;
      uint32_t tenant = pickTenant(rng);
      uint64_t parent = 0;
      for (uint32_t b = 0; b < std::max<uint32_t>(1, o.system_prompt_blocks); ++b) {
        parent = chainBlockId(parent, (uint64_t(tenant) << 32) | b);
        s.blocks.push_back(parent);
      }
      s.turns_left = 1 + uint32_t(std::floor(expo(o.mean_turns)));
      s.id = next_session++;
      active.push_back(std::move(s));
      s_idx = active.size() - 1;
    } else {
      s_idx = size_t(rng() % active.size());
    }
    Session& s = active[s_idx];
    uint32_t add = 1 + uint32_t(std::floor(expo(std::max(1u, o.mean_user_blocks))));
    for (uint32_t b = 0; b < add && s.blocks.size() < o.max_blocks; ++b)
      s.blocks.push_back(chainBlockId(s.blocks.back(), next_block_id++));
    TraceRequest r;
    r.arrival_ms = now_s * 1000.0;
    r.blocks = s.blocks;
    r.input_tokens = uint32_t(r.blocks.size() * t.tokens_per_block);
    r.output_tokens = 1 + uint32_t(expo(std::max(1u, o.mean_output_tokens)));
    r.conversation = conversationKey(r.blocks, i);
    r.conversation = chainBlockId(0x5e55'10'00ULL, s.id);  // as a session_id read back
    r.has_session = true;
    t.requests.push_back(std::move(r));
    if (--s.turns_left == 0) {
      active[s_idx] = std::move(active.back());
      active.pop_back();
    }
  }
  return t;
}

std::string writeMooncakeTrace(const Trace& trace) {
  // Raw ids: one small integer per distinct chained block hash, in order of first appearance, so
  // reading the file back chains them into hashes with the same prefix structure.
  std::unordered_map<uint64_t, uint64_t> id_of;
  // Sessions numbered by first appearance: generateSynthetic numbers them the same way, so its
  // trace reads back with the same conversation keys.
  std::unordered_map<uint64_t, uint64_t> session_of;
  std::string out;
  for (size_t i = 0; i < trace.requests.size(); ++i) {
    const TraceRequest& r = trace.requests[i];
    out += fmt::format("{{\"timestamp\": {}, \"input_length\": {}, \"output_length\": {}, "
                       "\"hash_ids\": [",
                       std::llround(r.arrival_ms), r.input_tokens, r.output_tokens);
    for (size_t b = 0; b < r.blocks.size(); ++b) {
      auto it = id_of.try_emplace(r.blocks[b], id_of.size()).first;
      out += fmt::format("{}{}", b ? ", " : "", it->second);
    }
    out += "]";
    auto [session, fresh] = session_of.try_emplace(r.conversation, session_of.size());
    out += fmt::format(", \"session_id\": {}", session->second);
    out += "}\n";
  }
  return out;
}

void scaleArrivals(Trace& trace, double factor) {
  if (trace.requests.empty()) return;
  double t0 = trace.requests.front().arrival_ms;
  for (auto& r : trace.requests) r.arrival_ms = t0 + (r.arrival_ms - t0) * factor;
}

}  // namespace regiongate::sim
