#include "rollout/parity.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "common/json.h"
#include "common/lines.h"
#include "common/peer_string.h"

namespace regiongate::rollout {

namespace {

std::string fieldString(simdjson::dom::object obj, const char* key) {
  std::string_view v;
  if (obj[key].get(v) == simdjson::SUCCESS) return std::string(v);
  return "";
}

}  // namespace

Result<std::vector<SuitePrompt>> parseSuite(std::string_view text,
                                            const std::string& bound_jurisdiction) {
  std::vector<SuitePrompt> out;
  simdjson::dom::parser parser;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    std::string_view line = nextLine(text, pos);
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto where = "suite line " + std::to_string(line_no) + ": ";
    simdjson::dom::element doc;
    if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS)
      return Error::config(where + "invalid JSON", "invalid_suite");
    simdjson::dom::object obj;
    if (doc.get(obj) != simdjson::SUCCESS)
      return Error::config(where + "expected a JSON object", "invalid_suite");
    SuitePrompt p;
    p.id = fieldString(obj, "id");
    if (p.id.empty()) p.id = "line" + std::to_string(line_no);
    p.model = fieldString(obj, "model");
    if (p.model.empty()) return Error::config(where + "missing \"model\"", "invalid_suite");
    p.jurisdiction = fieldString(obj, "jurisdiction");
    if (p.jurisdiction.empty()) p.jurisdiction = bound_jurisdiction;
    if (p.jurisdiction.empty())
      return Error::config(where + "missing \"jurisdiction\" (or bind the suite with --jurisdiction)",
                           "invalid_suite");
    if (!bound_jurisdiction.empty() && p.jurisdiction != bound_jurisdiction)
      return Error::config(where + "jurisdiction '" + p.jurisdiction +
                               "' but the suite is bound to '" + bound_jurisdiction + "'",
                           "invalid_suite");
    simdjson::dom::array msgs;
    if (obj["messages"].get(msgs) == simdjson::SUCCESS) {
      if (msgs.size() == 0) return Error::config(where + "empty \"messages\"", "invalid_suite");
      p.messages_json = simdjson::minify(msgs);
    } else {
      p.prompt = fieldString(obj, "prompt");
      if (p.prompt.empty())
        return Error::config(where + "needs \"messages\" (array) or \"prompt\" (string)",
                             "invalid_suite");
    }
    uint64_t mt;
    if (obj["max_tokens"].get(mt) == simdjson::SUCCESS) {
      if (mt == 0 || mt > 4096) return Error::config(where + "max_tokens must be 1..4096", "invalid_suite");
      p.max_tokens = static_cast<uint32_t>(mt);
    }
    out.push_back(std::move(p));
  }
  if (out.empty()) return Error::config("the suite has no prompts", "invalid_suite");
  return out;
}

Result<std::vector<SuitePrompt>> loadSuite(const std::string& path,
                                           const std::string& bound_jurisdiction) {
  std::ifstream in(path);
  if (!in) return Error::config("cannot read suite '" + path + "'", "invalid_suite");
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = parseSuite(ss.str(), bound_jurisdiction);
  if (!r) return Error::config(path + ": " + r.error().message, r.error().code);
  return r;
}

std::string parityRequestBody(const SuitePrompt& p, uint64_t seed) {
  std::string b = "{\"model\":" + jsonString(p.model);
  if (!p.messages_json.empty())
    b += ",\"messages\":" + p.messages_json;
  else
    b += ",\"prompt\":" + jsonString(p.prompt);
  b += ",\"temperature\":0,\"seed\":" + std::to_string(seed) +
       ",\"max_tokens\":" + std::to_string(p.max_tokens) + ",\"stream\":false}";
  return b;
}

double normalizedEditDistance(std::string_view a, std::string_view b) {
  a = a.substr(0, std::min<size_t>(a.size(), 4096));
  b = b.substr(0, std::min<size_t>(b.size(), 4096));
  if (a.empty() && b.empty()) return 0;
  std::vector<uint32_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<uint32_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<uint32_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      uint32_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return static_cast<double>(prev[b.size()]) / static_cast<double>(std::max(a.size(), b.size()));
}

double mannWhitneyGreaterP(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n1 = x.size(), n2 = y.size();
  if (n1 == 0 || n2 == 0) return 1;
  struct V {
    double v;
    int g;
  };
  std::vector<V> all;
  all.reserve(n1 + n2);
  for (double v : x) all.push_back({v, 0});
  for (double v : y) all.push_back({v, 1});
  std::sort(all.begin(), all.end(), [](const V& a, const V& b) { return a.v < b.v; });
  const double n = static_cast<double>(n1 + n2);
  double rank_sum_y = 0, tie_term = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].v == all[i].v) ++j;
    double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    double t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    for (size_t k = i; k < j; ++k)
      if (all[k].g == 1) rank_sum_y += avg_rank;
    i = j;
  }
  const double m1 = static_cast<double>(n1), m2 = static_cast<double>(n2);
  double u_y = rank_sum_y - m2 * (m2 + 1) / 2.0;  // pairs where y > x (+0.5 per tie)
  double mean = m1 * m2 / 2.0;
  double var = m1 * m2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)));
  if (!(var > 0)) return 1;
  double z = (u_y - mean - 0.5) / std::sqrt(var);
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

Result<std::string> completionText(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
    return Error{ErrorSource::Upstream, "invalid_json", "response is not JSON", false};
  simdjson::dom::array choices;
  if (doc["choices"].get(choices) != simdjson::SUCCESS || choices.size() == 0)
    return Error{ErrorSource::Upstream, "no_choices", "response has no choices", false};
  simdjson::dom::element c0 = choices.at(0).value_unsafe();
  std::string_view text;
  if (c0["message"]["content"].get(text) == simdjson::SUCCESS) return std::string(text);
  if (c0["text"].get(text) == simdjson::SUCCESS) return std::string(text);
  return Error{ErrorSource::Upstream, "no_text", "choices[0] has no text", false};
}

namespace {

constexpr size_t kRefusedExamples = 4;

// False (and noted in `refused`) when the value fails its peer-string check.
bool acceptPeerString(const PeerStringKind& kind, std::string_view v, RefusedModelEntries* refused) {
  auto st = checkPeerString(kind, v);
  if (st.ok()) return true;
  if (refused) {
    ++refused->count;
    if (refused->examples.size() < kRefusedExamples) refused->examples.push_back(st.error().message);
  }
  return false;
}

}  // namespace

// Parses /v1/models: data[].{id, version | root "NAME@V" | id "NAME@V"}.
std::map<std::string, std::string> parseModelVersions(std::string_view body,
                                                      RefusedModelEntries* refused) {
  std::map<std::string, std::string> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (body.empty() || parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
    return out;
  simdjson::dom::array data;
  if (doc["data"].get(data) != simdjson::SUCCESS) return out;
  for (auto m : data) {
    std::string_view id, version, root;
    if (m["id"].get(id) != simdjson::SUCCESS) continue;
    std::string_view name = id, ver;
    if (auto at = id.find('@'); at != std::string_view::npos) {
      ver = id.substr(at + 1);
      name = id.substr(0, at);
    }
    if (m["version"].get(version) == simdjson::SUCCESS && !version.empty()) {
      ver = version;
    } else if (ver.empty() && m["root"].get(root) == simdjson::SUCCESS) {
      auto at = root.find('@');
      if (at != std::string_view::npos && root.substr(0, at) == name) ver = root.substr(at + 1);
    }
    if (ver.empty()) continue;
    if (!acceptPeerString(kModelIdString, name, refused) ||
        !acceptPeerString(kVersionString, ver, refused))
      continue;
    out[std::string(name)] = std::string(ver);
  }
  return out;
}


bool promptAllowedIn(const Config& cfg, const SuitePrompt& p, const std::string& region) {
  const auto* j = cfg.jurisdiction(p.jurisdiction);
  const auto* r = cfg.region(region);
  return j && r && j->resolved.count(r->country) > 0;
}

void runGroups(const Config& cfg, const std::vector<SuitePrompt>& prompts,
               std::vector<ParityGroup>& groups, const ParityOptions& o, const ParityFetch& fetch) {
  for (auto& g : groups) {
    g.outputs.assign(prompts.size(), std::vector<std::string>(o.runs));
    g.ok.assign(prompts.size(), std::vector<bool>(o.runs, false));
    if (g.endpoints.empty()) continue;
    size_t rr = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      const auto& p = prompts[i];
      if (p.model != g.model || !promptAllowedIn(cfg, p, g.region)) continue;
      std::string body = parityRequestBody(p, o.seed);
      for (uint32_t run = 0; run < o.runs; ++run) {
        const auto& ep = g.endpoints[rr++ % g.endpoints.size()];
        auto text = fetch(ep, body);
        if (text) {
          g.outputs[i][run] = std::move(text.value());
          g.ok[i][run] = true;
          ++g.answered;
        } else {
          ++g.errors;
        }
      }
    }
  }
}

PairComparison compareGroups(const ParityGroup& a, const ParityGroup& b,
                             const std::vector<SuitePrompt>& prompts, const ParityOptions& o) {
  PairComparison c;
  c.a = a.key();
  c.b = b.key();
  std::vector<double> within, across;
  uint64_t exact = 0;
  auto withinOf = [&](const ParityGroup& g, size_t i) {
    for (size_t r1 = 0; r1 < g.outputs[i].size(); ++r1)
      for (size_t r2 = r1 + 1; r2 < g.outputs[i].size(); ++r2)
        if (g.ok[i][r1] && g.ok[i][r2])
          within.push_back(normalizedEditDistance(g.outputs[i][r1], g.outputs[i][r2]));
  };
  for (size_t i = 0; i < prompts.size() && i < a.outputs.size() && i < b.outputs.size(); ++i) {
    withinOf(a, i);
    withinOf(b, i);
    for (size_t r1 = 0; r1 < a.outputs[i].size(); ++r1)
      for (size_t r2 = 0; r2 < b.outputs[i].size(); ++r2) {
        if (!a.ok[i][r1] || !b.ok[i][r2]) continue;
        double d = normalizedEditDistance(a.outputs[i][r1], b.outputs[i][r2]);
        across.push_back(d);
        if (a.outputs[i][r1] == b.outputs[i][r2]) ++exact;
      }
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
  };
  c.across_pairs = across.size();
  c.within_pairs = within.size();
  c.exact_match_rate = across.empty() ? 0 : static_cast<double>(exact) / across.size();
  c.mean_edit_across = mean(across);
  c.mean_edit_within = mean(within);
  c.p_value = mannWhitneyGreaterP(within, across);
  c.result.gate = "parity";
  double effect = c.mean_edit_across - c.mean_edit_within;
  if (c.across_pairs < o.min_pairs) {
    c.result.outcome = GateOutcome::Inconclusive;
    c.result.detail = fmt::format("{} vs {}: only {} comparable answer pairs (need {})", c.a, c.b,
                                  c.across_pairs, o.min_pairs);
  } else if (effect > o.min_effect && (c.p_value < o.alpha || c.within_pairs == 0)) {
    c.result.outcome = GateOutcome::Failed;
    c.result.detail = fmt::format(
        "{} vs {}: outputs differ beyond run-to-run noise (exact match {:.2f}, edit distance "
        "across {:.3f} vs within {:.3f}, Mann-Whitney p={:.2g})",
        c.a, c.b, c.exact_match_rate, c.mean_edit_across, c.mean_edit_within, c.p_value);
  } else {
    c.result.outcome = GateOutcome::Successful;
    c.result.detail = fmt::format(
        "{} vs {}: no difference beyond noise (exact match {:.2f}, edit distance across {:.3f} "
        "vs within {:.3f}, p={:.2g})",
        c.a, c.b, c.exact_match_rate, c.mean_edit_across, c.mean_edit_within, c.p_value);
  }
  return c;
}

ParityReport buildReport(std::vector<ParityGroup> groups, const std::vector<SuitePrompt>& prompts,
                         const ParityOptions& o) {
  ParityReport rep;
  rep.groups = std::move(groups);
  bool failed = false, inconclusive = false;
  for (size_t i = 0; i < rep.groups.size(); ++i)
    for (size_t j = i + 1; j < rep.groups.size(); ++j) {
      if (rep.groups[i].model != rep.groups[j].model) continue;
      rep.pairs.push_back(compareGroups(rep.groups[i], rep.groups[j], prompts, o));
      failed = failed || rep.pairs.back().result.outcome == GateOutcome::Failed;
      inconclusive = inconclusive || rep.pairs.back().result.outcome == GateOutcome::Inconclusive;
    }
  if (rep.pairs.empty()) {
    rep.verdict = GateOutcome::Inconclusive;
    rep.verdict_detail = "fewer than two groups (region, version) to compare";
  } else if (failed) {
    rep.verdict = GateOutcome::Failed;
    for (const auto& p : rep.pairs)
      if (p.result.outcome == GateOutcome::Failed) {
        rep.verdict_detail = p.result.detail;
        break;
      }
  } else if (inconclusive) {
    rep.verdict = GateOutcome::Inconclusive;
    for (const auto& p : rep.pairs)
      if (p.result.outcome == GateOutcome::Inconclusive) {
        rep.verdict_detail = p.result.detail;
        break;
      }
  } else {
    rep.verdict = GateOutcome::Successful;
    rep.verdict_detail = std::to_string(rep.pairs.size()) + " pair(s) compared, none differ beyond noise";
  }
  return rep;
}

std::string ParityReport::toText() const {
  std::string out = "groups (region/model@version):\n";
  for (const auto& g : groups) {
    std::string eps;
    for (const auto& e : g.endpoints) eps += (eps.empty() ? "" : ",") + e.name;
    out += fmt::format("  {:<40} endpoints {:<24} answered {:>5} errors {:>4}\n", g.key(), eps,
                       g.answered, g.errors);
  }
  out += "comparisons:\n";
  for (const auto& p : pairs)
    out += fmt::format(
        "  {} vs {}: exact {:.3f}  edit across {:.3f}  within {:.3f}  p {:.3g}  pairs {}/{}  -> {}\n",
        p.a, p.b, p.exact_match_rate, p.mean_edit_across, p.mean_edit_within, p.p_value,
        p.across_pairs, p.within_pairs, gateOutcomeName(p.result.outcome));
  out += fmt::format("verdict: {} ({})\n", gateOutcomeName(verdict), verdict_detail);
  return out;
}

std::string ParityReport::toJson() const {
  std::string out = "{\"groups\":[";
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    if (i) out += ",";
    out += "{\"region\":" + jsonString(g.region) + ",\"model\":" + jsonString(g.model) +
           ",\"version\":" + jsonString(g.version) + ",\"endpoints\":[";
    for (size_t e = 0; e < g.endpoints.size(); ++e)
      out += (e ? "," : "") + jsonString(g.endpoints[e].name);
    out += "],\"answered\":" + std::to_string(g.answered) + ",\"errors\":" + std::to_string(g.errors) + "}";
  }
  out += "],\"comparisons\":[";
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& p = pairs[i];
    if (i) out += ",";
    out += fmt::format(
        "{{\"a\":{},\"b\":{},\"exact_match_rate\":{:.6f},\"edit_distance_across\":{:.6f},"
        "\"edit_distance_within\":{:.6f},\"p_value\":{:.6g},\"across_pairs\":{},\"within_pairs\":{},"
        "\"outcome\":\"{}\",\"detail\":{}}}",
        jsonString(p.a), jsonString(p.b), p.exact_match_rate, p.mean_edit_across,
        p.mean_edit_within, p.p_value, p.across_pairs, p.within_pairs,
        gateOutcomeName(p.result.outcome), jsonString(p.result.detail));
  }
  out += "],\"verdict\":\"" + std::string(gateOutcomeName(verdict)) +
         "\",\"verdict_detail\":" + jsonString(verdict_detail) + "}";
  return out;
}

}  // namespace regiongate::rollout
