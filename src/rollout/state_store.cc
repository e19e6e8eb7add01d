#include "rollout/state_store.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json.h"

namespace regiongate::rollout {

namespace {

std::string gateJson(const GateResult& g) {
  return "{\"gate\":" + jsonString(g.gate) + ",\"outcome\":\"" +
         std::string(gateOutcomeName(g.outcome)) + "\",\"detail\":" + jsonString(g.detail) + "}";
}

bool parseOutcome(std::string_view s, GateOutcome& o) {
  for (GateOutcome x : {GateOutcome::Successful, GateOutcome::Failed, GateOutcome::Inconclusive})
    if (gateOutcomeName(x) == s) {
      o = x;
      return true;
    }
  return false;
}

}  // namespace

std::string recordsToJson(const std::vector<RolloutRecord>& records) {
  std::string out = "{\"version\":1,\"rollouts\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    if (i) out += ",";
    out += "{\"id\":" + std::to_string(r.id) + ",\"region\":" + jsonString(r.region) +
           ",\"model\":" + jsonString(r.model) + ",\"from\":" + jsonString(r.from_version) +
           ",\"to\":" + jsonString(r.to_version) + ",\"green_endpoints\":[";
    for (size_t g = 0; g < r.green_endpoints.size(); ++g)
      out += (g ? "," : "") + jsonString(r.green_endpoints[g]);
    out += "],\"steps\":[";
    for (size_t s = 0; s < r.steps.size(); ++s) out += (s ? "," : "") + std::to_string(r.steps[s]);
    const auto& t = r.thresholds;
    out += fmt::format(
        "],\"step_ms\":{},\"step_max_ms\":{},\"thresholds\":{{\"min_requests\":{},"
        "\"max_error_rate\":{},\"max_error_rate_increase\":{},\"max_ttft_p99_ratio\":{},"
        "\"max_ttft_p99_ms\":{},\"gate_alpha\":{},\"max_ttft_median_ratio\":{}}}",
        r.step_ms, r.step_max_ms, t.min_requests, t.max_error_rate, t.max_error_rate_increase,
        t.max_ttft_p99_ratio, t.max_ttft_p99_ms, t.gate_alpha, t.max_ttft_median_ratio);
    out += ",\"state\":\"" + std::string(phaseName(r.phase)) + "\",\"paused_from\":\"" +
           std::string(phaseName(r.paused_from)) + "\",\"step\":" + std::to_string(r.step) +
           ",\"green_weight_percent\":" +
           std::to_string(r.phase == Phase::Promoted ? 100
                          : (r.phase == Phase::Shifting ||
                             (r.phase == Phase::Paused && r.paused_from == Phase::Shifting))
                              ? r.steps[std::min<size_t>(r.step, r.steps.size() - 1)]
                              : 0) +
           ",\"prewarmed\":" + std::to_string(r.prewarmed) + ",\"gates\":[";
    for (size_t g = 0; g < r.gates.size(); ++g) out += (g ? "," : "") + gateJson(r.gates[g]);
    out += "],\"history\":[";
    for (size_t h = 0; h < r.history.size(); ++h) {
      const auto& e = r.history[h];
      if (h) out += ",";
      out += "{\"ts_us\":" + std::to_string(e.wall_us) + ",\"from\":\"" +
             std::string(phaseName(e.from)) + "\",\"to\":\"" + std::string(phaseName(e.to)) +
             "\",\"step\":" + std::to_string(e.step) + ",\"reason\":" + jsonString(e.reason) + "}";
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

Result<std::vector<RolloutRecord>> recordsFromJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto bad = [](std::string what) { return Error::config("rollout state: " + what, "invalid_state"); };
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) return bad("not JSON");
  simdjson::dom::array arr;
  if (doc["rollouts"].get(arr) != simdjson::SUCCESS) return bad("missing \"rollouts\"");
  std::vector<RolloutRecord> out;
  for (simdjson::dom::element e : arr) {
    RolloutRecord r;
    std::string_view sv;
    uint64_t u;
    double d;
    auto str = [&](const char* k, std::string& dst) {
      if (e[k].get(sv) != simdjson::SUCCESS) return false;
      dst = std::string(sv);
      return true;
    };
    if (e["id"].get(u) != simdjson::SUCCESS) return bad("rollout without id");
    r.id = u;
    if (!str("region", r.region) || !str("model", r.model) || !str("from", r.from_version) ||
        !str("to", r.to_version))
      return bad("rollout " + std::to_string(r.id) + " lacks region/model/from/to");
    simdjson::dom::array a;
    if (e["green_endpoints"].get(a) == simdjson::SUCCESS)
      for (auto x : a)
        if (x.get(sv) == simdjson::SUCCESS) r.green_endpoints.emplace_back(sv);
    if (e["steps"].get(a) == simdjson::SUCCESS) {
      r.steps.clear();
      for (auto x : a)
        if (x.get(u) == simdjson::SUCCESS) r.steps.push_back(static_cast<uint32_t>(u));
    }
    if (r.steps.empty()) return bad("rollout " + std::to_string(r.id) + " has no steps");
    if (e["step_ms"].get(u) == simdjson::SUCCESS) r.step_ms = static_cast<uint32_t>(u);
    if (e["step_max_ms"].get(u) == simdjson::SUCCESS) r.step_max_ms = static_cast<uint32_t>(u);
    simdjson::dom::element t;
    if (e["thresholds"].get(t) == simdjson::SUCCESS) {
      if (t["min_requests"].get(u) == simdjson::SUCCESS) r.thresholds.min_requests = static_cast<uint32_t>(u);
      if (t["max_error_rate"].get(d) == simdjson::SUCCESS) r.thresholds.max_error_rate = d;
      if (t["max_error_rate_increase"].get(d) == simdjson::SUCCESS) r.thresholds.max_error_rate_increase = d;
      if (t["max_ttft_p99_ratio"].get(d) == simdjson::SUCCESS) r.thresholds.max_ttft_p99_ratio = d;
      if (t["max_ttft_p99_ms"].get(u) == simdjson::SUCCESS) r.thresholds.max_ttft_p99_ms = static_cast<uint32_t>(u);
      // Absent from older state files: the defaults apply.
      if (t["gate_alpha"].get(d) == simdjson::SUCCESS) r.thresholds.gate_alpha = d;
      if (t["max_ttft_median_ratio"].get(d) == simdjson::SUCCESS) r.thresholds.max_ttft_median_ratio = d;
    }
    std::string s;
    if (!str("state", s) || !parsePhase(s, r.phase))
      return bad("rollout " + std::to_string(r.id) + " has an unknown state");
    if (str("paused_from", s)) parsePhase(s, r.paused_from);
    if (e["step"].get(u) == simdjson::SUCCESS) r.step = static_cast<uint32_t>(u);
    if (r.step >= r.steps.size()) return bad("rollout " + std::to_string(r.id) + " step out of range");
    if (e["prewarmed"].get(u) == simdjson::SUCCESS) r.prewarmed = u;
    if (e["gates"].get(a) == simdjson::SUCCESS)
      for (auto g : a) {
        GateResult gr;
        if (g["gate"].get(sv) == simdjson::SUCCESS) gr.gate = std::string(sv);
        if (g["outcome"].get(sv) == simdjson::SUCCESS) parseOutcome(sv, gr.outcome);
        if (g["detail"].get(sv) == simdjson::SUCCESS) gr.detail = std::string(sv);
        r.gates.push_back(std::move(gr));
      }
    if (e["history"].get(a) == simdjson::SUCCESS)
      for (auto h : a) {
        Transition tr;
        int64_t ts;
        if (h["ts_us"].get(ts) == simdjson::SUCCESS) tr.wall_us = ts;
        if (h["from"].get(sv) == simdjson::SUCCESS) parsePhase(sv, tr.from);
        if (h["to"].get(sv) == simdjson::SUCCESS) parsePhase(sv, tr.to);
        if (h["step"].get(u) == simdjson::SUCCESS) tr.step = static_cast<uint32_t>(u);
        if (h["reason"].get(sv) == simdjson::SUCCESS) tr.reason = std::string(sv);
        r.history.push_back(std::move(tr));
      }
    out.push_back(std::move(r));
  }
  return out;
}

Status saveRecords(const std::string& path, const std::vector<RolloutRecord>& records) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return Error::internal("cannot write rollout state '" + tmp + "'", "state_write_failed");
    f << recordsToJson(records) << "\n";
    f.flush();
    if (!f) return Error::internal("cannot write rollout state '" + tmp + "'", "state_write_failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return Error::internal("cannot rename rollout state to '" + path + "'", "state_write_failed");
  return {};
}

Result<std::vector<RolloutRecord>> loadRecords(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::vector<RolloutRecord>{};
  std::ifstream in(path);
  if (!in) return Error::config("cannot read rollout state '" + path + "'", "invalid_state");
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = recordsFromJson(ss.str());
  if (!r) return Error::config(path + ": " + r.error().message, r.error().code);
  return r;
}

}  // namespace regiongate::rollout
