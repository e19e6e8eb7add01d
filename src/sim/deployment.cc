#include "sim/deployment.h"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/hash.h"
#include "config/loader.h"

namespace regiongate::sim {

namespace {

struct DeployError {
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& n, const std::string& path, const std::string& what) {
  int line = n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
  throw DeployError{fmt::format("{}: {}: {}", line, path, what)};
}

void checkKeys(const YAML::Node& n, const std::string& path, std::set<std::string> allowed) {
  if (!n.IsMap()) fail(n, path, "expected a map");
  for (const auto& kv : n) {
    auto k = kv.first.as<std::string>();
    if (!allowed.count(k)) fail(kv.first, path + "." + k, "unknown key");
  }
}

template <class T> T get(const YAML::Node& n, const std::string& key, const std::string& path, T def) {
  if (!n[key]) return def;
  try {
    return n[key].as<T>();
  } catch (const YAML::Exception&) {
    fail(n[key], path + "." + key, "wrong type");
  }
}

double positive(const YAML::Node& n, const std::string& key, const std::string& path, double def,
                bool allow_zero = false) {
  double v = get<double>(n, key, path, def);
  if (!(v > 0 || (allow_zero && v == 0))) fail(n[key], path + "." + key, "must be > 0");
  return v;
}

Deployment parse(const YAML::Node& root) {
  Deployment d;
  checkKeys(root, "deployment",
            {"name", "description", "model", "routing", "gateway", "time_scale", "ops",
             "proof_date", "jurisdictions", "regions", "rollouts", "failures"});
  d.name = get<std::string>(root, "name", "", "deployment");
  d.description = get<std::string>(root, "description", "", "");
  d.model = get<std::string>(root, "model", "", d.model);
  d.time_scale = positive(root, "time_scale", "", 1.0);
  d.proof_date = get<std::string>(root, "proof_date", "", "");
  if (auto r = root["routing"]) {
    checkKeys(r, "routing", {"policy", "candidate_info"});
    d.policy = get<std::string>(r, "policy", "routing", d.policy);
    d.candidate_info = get<std::string>(r, "candidate_info", "routing", d.candidate_info);
    if (d.candidate_info != "simulator" && d.candidate_info != "gateway")
      fail(r["candidate_info"], "routing.candidate_info", "expected simulator or gateway");
  }
  if (auto g = root["gateway"]) {
    checkKeys(g, "gateway", {"region"});
    d.gateway_region = get<std::string>(g, "region", "gateway", "");
  }
  if (auto o = root["ops"]) {
    checkKeys(o, "ops", {"rollout_gate_cost_usd"});
    d.rollout_gate_cost_usd = positive(o, "rollout_gate_cost_usd", "ops", 0, true);
  }
  auto js = root["jurisdictions"];
  if (!js || !js.IsMap() || js.size() == 0) fail(root, "jurisdictions", "need at least one");
  for (const auto& kv : js) {
    DeployJurisdiction j;
    j.name = kv.first.as<std::string>();
    std::string path = "jurisdictions." + j.name;
    checkKeys(kv.second, path, {"preset", "countries", "traffic_share"});
    j.preset = get<std::string>(kv.second, "preset", path, "");
    j.countries = get<std::vector<std::string>>(kv.second, "countries", path, {});
    j.traffic_share = positive(kv.second, "traffic_share", path, 0, true);
    d.jurisdictions.push_back(j);
  }
  auto rs = root["regions"];
  if (!rs || !rs.IsMap() || rs.size() == 0) fail(root, "regions", "need at least one");
  for (const auto& kv : rs) {
    DeployRegion r;
    r.name = kv.first.as<std::string>();
    std::string path = "regions." + r.name;
    checkKeys(kv.second, path,
              {"country", "instances", "gpu_price_per_hour", "kv_tokens", "prefill_ms_per_token",
               "ttft_fixed_ms", "decode_ms_per_token", "batch_slots"});
    r.country = get<std::string>(kv.second, "country", path, "");
    if (r.country.empty()) fail(kv.second, path + ".country", "required");
    int n = get<int>(kv.second, "instances", path, 1);
    if (n < 0 || n > 4096) fail(kv.second, path + ".instances", "must be 0..4096");
    r.instances = uint32_t(n);
    r.gpu_price_per_hour = positive(kv.second, "gpu_price_per_hour", path, 0, true);
    r.params.kv_tokens = uint64_t(positive(kv.second, "kv_tokens", path, 450000));
    r.params.prefill_ms_per_token =
        positive(kv.second, "prefill_ms_per_token", path, r.params.prefill_ms_per_token);
    r.params.ttft_fixed_ms = positive(kv.second, "ttft_fixed_ms", path, r.params.ttft_fixed_ms, true);
    r.params.decode_ms_per_token =
        positive(kv.second, "decode_ms_per_token", path, r.params.decode_ms_per_token, true);
    r.params.batch_slots = uint32_t(positive(kv.second, "batch_slots", path, r.params.batch_slots));
    d.regions.push_back(r);
  }
  auto region_known = [&](const std::string& name) {
    for (const auto& r : d.regions)
      if (r.name == name) return true;
    return false;
  };
  if (auto ro = root["rollouts"]) {
    if (!ro.IsSequence()) fail(ro, "rollouts", "expected a list");
    for (size_t i = 0; i < ro.size(); ++i) {
      std::string path = fmt::format("rollouts[{}]", i);
      checkKeys(ro[i], path, {"region", "at_s", "version"});
      DeployRollout r;
      r.region = get<std::string>(ro[i], "region", path, "");
      if (!region_known(r.region)) fail(ro[i], path + ".region", "unknown region '" + r.region + "'");
      r.at_s = positive(ro[i], "at_s", path, 0, true);
      r.version = get<std::string>(ro[i], "version", path, "next");
      d.rollouts.push_back(r);
    }
  }
  if (auto fs = root["failures"]) {
    if (!fs.IsSequence()) fail(fs, "failures", "expected a list");
    for (size_t i = 0; i < fs.size(); ++i) {
      std::string path = fmt::format("failures[{}]", i);
      checkKeys(fs[i], path, {"region", "instance", "from_s", "to_s"});
      DeployFailure f;
      f.region = get<std::string>(fs[i], "region", path, "");
      if (!region_known(f.region)) fail(fs[i], path + ".region", "unknown region '" + f.region + "'");
      f.instance = get<int>(fs[i], "instance", path, -1);
      f.from_s = positive(fs[i], "from_s", path, 0, true);
      f.to_s = positive(fs[i], "to_s", path, 0, true);
      if (f.to_s <= f.from_s) fail(fs[i], path + ".to_s", "must be after from_s");
      d.failures.push_back(f);
    }
  }
  double total = 0;
  for (const auto& j : d.jurisdictions) total += j.traffic_share;
  if (!(total > 0)) fail(js, "jurisdictions", "traffic_share must sum to > 0");
  return d;
}

}  // namespace

Result<Deployment> parseDeployment(std::string_view yaml, std::string filename) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    Deployment d = parse(root);
    d.file = filename;
    auto cfg = deploymentConfig(d);  // validates jurisdictions, countries, regions
    if (!cfg) return Error::config(filename + ": " + cfg.error().message);
    return d;
  } catch (const DeployError& e) {
    return Error::config(filename + ":" + e.message);
  } catch (const YAML::Exception& e) {
    return Error::config(filename + ": " + e.what());
  }
}

Result<Deployment> loadDeploymentFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::config("cannot open deployment file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parseDeployment(ss.str(), path);
}

Result<ConfigPtr> deploymentConfig(const Deployment& d) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "listen" << YAML::Value << "127.0.0.1:0";
  y << YAML::Key << "admin_listen" << YAML::Value << "127.0.0.1:0";
  if (!d.gateway_region.empty()) {
    y << YAML::Key << "gateway" << YAML::Value << YAML::BeginMap << YAML::Key << "region"
      << YAML::Value << d.gateway_region << YAML::EndMap;
  }
  y << YAML::Key << "jurisdictions" << YAML::Value << YAML::BeginMap;
  for (const auto& j : d.jurisdictions) {
    y << YAML::Key << j.name << YAML::Value << YAML::BeginMap;
    if (!j.preset.empty()) y << YAML::Key << "preset" << YAML::Value << j.preset;
    if (!j.countries.empty()) y << YAML::Key << "countries" << YAML::Value << j.countries;
    y << YAML::EndMap;
  }
  y << YAML::EndMap;
  y << YAML::Key << "regions" << YAML::Value << YAML::BeginMap;
  for (const auto& r : d.regions)
    y << YAML::Key << r.name << YAML::Value << YAML::BeginMap << YAML::Key << "country"
      << YAML::Value << r.country << YAML::EndMap;
  y << YAML::EndMap;
  y << YAML::Key << "endpoints" << YAML::Value << YAML::BeginSeq;
  int port = 20000;
  for (const auto& r : d.regions) {
    for (uint32_t i = 0; i < r.instances; ++i) {
      y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << fmt::format("{}-{}", r.name, i)
        << YAML::Key << "url" << YAML::Value << fmt::format("http://127.0.0.1:{}", port++)
        << YAML::Key << "region" << YAML::Value << r.name << YAML::Key << "models" << YAML::Value
        << YAML::Flow << YAML::BeginSeq << d.model << YAML::EndSeq << YAML::EndMap;
    }
  }
  y << YAML::EndSeq;
  y << YAML::Key << "tenants" << YAML::Value << YAML::BeginSeq;
  for (const auto& j : d.jurisdictions) {
    std::string tenant = "tenant-" + j.name;
    y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << tenant << YAML::Key
      << "key_sha256" << YAML::Value << sha256Hex("plan:" + tenant) << YAML::Key
      << "jurisdiction" << YAML::Value << j.name << YAML::EndMap;
  }
  y << YAML::EndSeq;
  y << YAML::Key << "routing" << YAML::Value << YAML::BeginMap << YAML::Key << "policy"
    << YAML::Value << d.policy << YAML::EndMap;
  y << YAML::Key << "audit" << YAML::Value << YAML::BeginMap << YAML::Key << "sink"
    << YAML::Value << "none" << YAML::EndMap;
  y << YAML::EndMap;
  return loadConfigString(y.c_str(), d.file.empty() ? "<deployment>" : d.file + " (as config)");
}

uint32_t jurisdictionOf(uint64_t key, const std::vector<double>& cumulative) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((key >> (8 * i)) & 0xff);
  double u = double(xxh3(std::string_view(bytes, 8), 0x5eed) >> 11) / double(1ULL << 53);
  for (uint32_t i = 0; i < cumulative.size(); ++i)
    if (u < cumulative[i]) return i;
  return cumulative.empty() ? 0 : uint32_t(cumulative.size() - 1);
}

}  // namespace regiongate::sim
