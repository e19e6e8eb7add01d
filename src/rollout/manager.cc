#include "rollout/manager.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/json.h"
#include "http/client.h"
#include "rollout/endpoint_tls.h"
#include "rollout/start_request.h"
#include "rollout/state_store.h"

namespace regiongate::rollout {

namespace {

std::string slotKey(std::string_view region, std::string_view model) {
  return std::string(region) + "|" + std::string(model);
}

using Kind = AdminError::Kind;

AdminReply err(Kind kind, std::string code, std::string message) {
  AdminReply r;
  r.error = AdminError{kind, std::move(code), std::move(message)};
  return r;
}

AdminReply reply(AdminReply::Shape shape, std::vector<RolloutRecord> records) {
  AdminReply r;
  r.shape = shape;
  r.records = std::move(records);
  return r;
}

}  // namespace

RolloutManager::RolloutManager(const Clock& clock) : clock_(clock), fetch_(httpParityFetch(30000)) {}
RolloutManager::~RolloutManager() = default;

std::string RolloutManager::stateFile() const {
  std::lock_guard lock(mu_);
  return state_file_;
}

void RolloutManager::setParityFetch(ParityFetch f) {
  std::lock_guard lock(mu_);
  fetch_ = std::move(f);
}

Status RolloutManager::configure(ConfigPtr cfg) {
  std::lock_guard lock(mu_);
  cfg_ = std::move(cfg);
  sampler_.setCapacity(cfg_->rollout.prewarm ? cfg_->rollout.sample_size : 0);
  if (!loaded_ && !cfg_->rollout.store_dsn.empty()) {
    // Shared mode: the store holds the rollouts; the control thread reads them on its first tick.
    shared_ = std::make_unique<SharedStore>(cfg_->rollout.store_dsn, cfg_->rollout.store_timeout_ms);
    shared_status_.configured = true;
    shared_status_.store = shared_->name();
    shared_status_.replica_id = replica_id_;
    shared_configured_.store(true, std::memory_order_relaxed);
    loaded_ = true;
  } else if (loaded_ && shared_ && cfg_->rollout.store_dsn.empty()) {
    spdlog::warn("rollout.store_dsn cannot be removed by a reload; restart to leave shared mode");
  }
  if (!loaded_) {
    state_file_ = !cfg_->rollout.state_file.empty() ? cfg_->rollout.state_file
                                                    : cfg_->audit.dir + "/rollouts.json";
    auto recs = loadRecords(state_file_);
    if (!recs) return recs.error();
    for (auto& r : recs.value()) {
      next_id_ = std::max(next_id_, r.id + 1);
      std::string key = slotKey(r.region, r.model);
      auto& slot = slots_[key];
      if (slot.machine && slot.machine->record().id > r.id) continue;
      if (!r.terminal())
        spdlog::info("rollout {} {} {} -> {} resumed from {} in state {} (step {})", r.id,
                     r.region, r.model, r.from_version, r.to_version, state_file_,
                     phaseName(r.phase), r.step);
      slot.machine = std::make_unique<RolloutMachine>(std::move(r), clock_);
      slot.seen_generation = slot.machine->stepGeneration();
    }
    loaded_ = true;
  }
  publishLocked();
  return {};
}

std::string RolloutManager::effectiveVersionLocked(const EndpointConfig& ep,
                                                   const std::string& model) const {
  if (auto it = discovered_.find(ep.name); it != discovered_.end())
    if (auto m = it->second.find(model); m != it->second.end()) return m->second;
  for (const auto& m : ep.models)
    if (m.name == model) return m.version;
  return "";
}

void RolloutManager::publishLocked() {
  if (!cfg_) return;
  auto v = std::make_shared<RolloutView>();
  v->config = cfg_.get();
  for (const auto& ep : cfg_->endpoints) {
    std::vector<ModelRef> list;
    for (const auto& m : ep.models) {
      std::string ver = effectiveVersionLocked(ep, m.name);
      if (ver != m.version) v->any_override = true;
      list.push_back({m.name, ver});
    }
    v->versions.push_back(std::move(list));
    v->region_of_endpoint.push_back(ep.region);
  }
  // Declared rollouts (config `rollouts:`) without a runtime rollout: green staged, blue only.
  for (const auto& rc : cfg_->rollouts)
    if (!slots_.count(slotKey(rc.region, rc.model)))
      v->entries.push_back({rc.region, rc.model, rc.from_version, rc.to_version, 0, false});
  for (const auto& [key, slot] : slots_) {
    const auto& r = slot.machine->record();
    v->entries.push_back({r.region, r.model, r.from_version, r.to_version,
                          slot.machine->greenWeightPermille(),
                          r.phase == Phase::Shifting || r.phase == Phase::Paused});
  }
  view_.store(std::move(v), std::memory_order_release);
}

Status RolloutManager::saveLocked() {
  std::vector<RolloutRecord> recs;
  for (const auto& [k, s] : slots_) recs.push_back(s.machine->record());
  auto st = saveRecords(state_file_, recs);
  if (!st) spdlog::error("rollout state not saved: {}", st.error().message);
  return st;
}

void RolloutManager::observe(const std::string& region, const std::string& model,
                             const std::string& version, bool error, double ttft_ms) {
  std::lock_guard lock(obs_mu_);
  auto& o = obs_[obsKey(region, model, version)];
  ++o.requests;
  if (error) ++o.errors;
  if (!error && ttft_ms >= 0) {
    if (o.ttft_ms.size() >= 4096) o.ttft_ms.erase(o.ttft_ms.begin(), o.ttft_ms.begin() + 1024);
    o.ttft_ms.push_back(ttft_ms);
  }
}

void RolloutManager::sample(std::string_view jurisdiction, std::string_view region,
                            std::string_view model, std::span<const uint64_t> blocks,
                            std::string_view body) {
  sampler_.record(PromptSampler::key(jurisdiction, region, model), blocks, body);
}

AdminReply RolloutManager::startLocked(std::string_view body) {
  RolloutRecord r;
  if (auto refused = buildStartLocked(body, r); refused.error) return refused;
  auto key = slotKey(r.region, r.model);
  r.id = next_id_++;
  {
    std::lock_guard lock(obs_mu_);
    obs_.erase(obsKey(r.region, r.model, r.from_version));
    obs_.erase(obsKey(r.region, r.model, r.to_version));
  }
  auto& slot = slots_[key];
  slot.machine = std::make_unique<RolloutMachine>(std::move(r), clock_);
  slot.seen_generation = slot.machine->stepGeneration();
  (void)saveLocked();  // logs on failure; the in-memory state stays authoritative
  publishLocked();
  spdlog::info("rollout started: {}", slot.machine->record().history.back().reason);
  return reply(AdminReply::Shape::Created, {slot.machine->record()});
}

// Checks a start request against the config and the known rollouts and fills `out` (without an
// id); a refusal is returned as a reply with its error set.
AdminReply RolloutManager::buildStartLocked(std::string_view body, RolloutRecord& out) {
  auto req = parseStartRequest(body);
  if (!req) return err(Kind::BadRequest, req.error().code, req.error().message);
  const Config& cfg = *cfg_;
  const auto& s = cfg.rollout;
  RolloutRecord r;
  r.region = req->region;
  r.model = req->model;
  r.to_version = req->to_version;
  r.from_version = req->from_version;
  if (!cfg.region(r.region)) return err(Kind::NotFound, "unknown_region", "unknown region '" + r.region + "'");
  auto key = slotKey(r.region, r.model);
  if (auto it = slots_.find(key); it != slots_.end() && !it->second.machine->record().terminal())
    return err(Kind::Conflict, "rollout_in_progress",
               "a rollout of " + r.model + " in " + r.region + " is already " +
                   std::string(phaseName(it->second.machine->phase())));
  // Green endpoints: given, else declared in config `rollouts:`, else the region's endpoints whose
  // (configured or discovered) version is `to`.
  if (req->green_endpoints) {
    r.green_endpoints = *req->green_endpoints;
  } else {
    for (const auto& rc : cfg.rollouts)
      if (rc.region == r.region && rc.model == r.model && rc.to_version == r.to_version)
        r.green_endpoints = rc.green_endpoints;
    if (r.green_endpoints.empty())
      for (const auto& ep : cfg.endpoints)
        if (ep.region == r.region && ep.serves(r.model) &&
            effectiveVersionLocked(ep, r.model) == r.to_version)
          r.green_endpoints.push_back(ep.name);
  }
  if (r.green_endpoints.empty())
    return err(Kind::Conflict, "no_green_endpoint",
               "no endpoint in " + r.region + " serves " + r.model + "@" + r.to_version);
  for (const auto& g : r.green_endpoints) {
    const auto* ep = cfg.endpoint(g);
    // Residency: green must be in the rollout's region (the proof covered the config's endpoints
    // for that region's tenants; an endpoint elsewhere would move traffic across regions).
    if (!ep) return err(Kind::NotFound, "unknown_endpoint", "unknown endpoint '" + g + "'");
    if (ep->region != r.region || !ep->serves(r.model))
      return err(Kind::Conflict, "green_outside_region",
                 "green endpoint '" + g + "' is not in " + r.region + " serving " + r.model);
  }
  if (r.from_version.empty()) {
    std::map<std::string, int> counts;
    for (const auto& ep : cfg.endpoints)
      if (ep.region == r.region && ep.serves(r.model) &&
          std::find(r.green_endpoints.begin(), r.green_endpoints.end(), ep.name) == r.green_endpoints.end())
        ++counts[effectiveVersionLocked(ep, r.model)];
    int best = 0;
    for (const auto& [v, c] : counts)
      if (c > best && v != r.to_version) {
        best = c;
        r.from_version = v;
      }
    if (r.from_version.empty())
      return err(
          Kind::Conflict, "no_blue",
          "cannot tell the blue version of " + r.model + " in " + r.region + "; pass \"from\"");
  }
  if (r.from_version == r.to_version)
    return err(Kind::Conflict, "same_version", "from and to are both '" + r.to_version + "'");
  r.steps = req->steps.value_or(s.steps);
  r.step_ms = req->step_ms.value_or(s.step_ms);
  r.step_max_ms = req->step_max_ms.value_or(s.step_max_ms);
  r.thresholds = s;  // the gate limits part of the settings
  auto& t = r.thresholds;
  t.min_requests = req->min_requests.value_or(t.min_requests);
  t.max_error_rate = req->max_error_rate.value_or(t.max_error_rate);
  t.max_error_rate_increase = req->max_error_rate_increase.value_or(t.max_error_rate_increase);
  t.max_ttft_p99_ratio = req->max_ttft_p99_ratio.value_or(t.max_ttft_p99_ratio);
  t.max_ttft_p99_ms = req->max_ttft_p99_ms.value_or(t.max_ttft_p99_ms);
  out = std::move(r);
  return {};
}

namespace {

// /admin/rollouts/{region}/{model}[/{action}] -> its segments after /admin/rollouts.
std::vector<std::string> pathParts(std::string_view rest) {
  std::vector<std::string> parts;
  for (size_t p = 1; p <= rest.size();) {
    size_t q = rest.find('/', p);
    if (q == std::string_view::npos) q = rest.size();
    parts.emplace_back(rest.substr(p, q - p));
    p = q + 1;
  }
  return parts;
}

bool isMutation(std::string_view method, const std::vector<std::string>& parts) {
  return method == "POST" && (parts.empty() || parts.size() == 3);
}

}  // namespace

AdminReply RolloutManager::admin(std::string_view method, std::string_view path,
                                 std::string_view body) {
  std::string_view rest = path.substr(std::string_view("/admin/rollouts").size());
  std::vector<std::string> parts;
  if (!rest.empty() && rest != "/") parts = pathParts(rest);
  if (sharedConfigured() && isMutation(method, parts)) return adminShared(method, parts, body);
  std::lock_guard lock(mu_);
  if (!cfg_) return err(Kind::NotReady, "not_ready", "rollouts are not configured yet");
  if (parts.empty()) {
    if (method == "GET") {
      std::vector<RolloutRecord> all;
      for (const auto& [k, s] : slots_) all.push_back(s.machine->record());
      return reply(AdminReply::Shape::List, std::move(all));
    }
    if (method == "POST") return startLocked(body);
    return err(Kind::MethodNotAllowed, "method_not_allowed", "GET or POST /admin/rollouts");
  }
  if (parts.size() < 2 || parts.size() > 3)
    return err(Kind::NotFound, "not_found",
               "expected /admin/rollouts/{region}/{model}[/promote|abort|resume]");
  auto it = slots_.find(slotKey(parts[0], parts[1]));
  if (it == slots_.end())
    return err(Kind::NotFound, "no_rollout", "no rollout of " + parts[1] + " in " + parts[0]);
  auto& m = *it->second.machine;
  if (parts.size() == 2) {
    if (method != "GET") return err(Kind::MethodNotAllowed, "method_not_allowed", "GET only");
    return reply(AdminReply::Shape::Record, {m.record()});
  }
  if (method != "POST") return err(Kind::MethodNotAllowed, "method_not_allowed", "POST only");
  Status st;
  if (parts[2] == "promote")
    st = m.promote("promoted by operator");
  else if (parts[2] == "abort")
    st = m.abort("aborted by operator");
  else if (parts[2] == "resume")
    st = m.resume("resumed by operator");
  else
    return err(Kind::NotFound, "not_found", "unknown action '" + parts[2] + "'");
  if (!st) return err(Kind::Conflict, st.error().code, st.error().message);
  it->second.seen_generation = m.stepGeneration();
  resetWindowObsLocked(m.record());
  (void)saveLocked();  // logs on failure; the in-memory state stays authoritative
  publishLocked();
  spdlog::info("rollout {} {}: {}", m.record().region, m.record().model, m.record().history.back().reason);
  return reply(AdminReply::Shape::Record, {m.record()});
}

void RolloutManager::discover(const Config& cfg) {
  std::map<std::string, std::map<std::string, std::string>> found;
  for (const auto& ep : cfg.endpoints) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!ep.credential.empty()) headers.emplace_back("authorization", ep.credential);
    http::ClientRequest req;
    req.target = ep.base_path + "/v1/models";
    req.headers = std::move(headers);
    req.timeout_ms = std::max<uint32_t>(cfg.health.timeout_ms, 200);
    auto tls = endpointClientTls(ep);
    if (!tls) {
      spdlog::warn("endpoint {}: version discovery skipped: {}", ep.name, tls.error().message);
      continue;
    }
    req.tls = std::move(tls.value());
    auto r = http::call(ep.host, ep.port, std::move(req));
    if (!r || r->status != 200) continue;
    RefusedModelEntries refused;
    auto models = parseModelVersions(r->body, &refused);
    if (refused.count > 0) {
      refused_discovery_.fetch_add(refused.count, std::memory_order_relaxed);
      spdlog::warn("endpoint {}: refused {} model id(s)/version(s) from /v1/models, e.g. {}",
                   ep.name, refused.count, refused.examples.front());
    }
    for (const auto& m : ep.models)
      if (auto it = models.find(m.name); it != models.end()) found[ep.name][m.name] = it->second;
  }
  std::lock_guard lock(mu_);
  bool changed = false;
  for (auto& [ep, models] : found)
    for (auto& [m, v] : models) {
      auto& slot = discovered_[ep][m];
      if (slot != v) {
        if (!slot.empty()) spdlog::warn("endpoint {} now serves {}@{} (was {})", ep, m, v, slot);
        slot = v;
        changed = true;
      }
    }
  if (changed) publishLocked();
}

std::pair<uint64_t, std::string> RolloutManager::runPrewarm(const Config& cfg,
                                                            const RolloutRecord& r) {
  if (!cfg.rollout.prewarm) return {0, "pre-warm off"};
  auto bodies = sampler_.hottest(r.region, r.model, cfg.rollout.prewarm_prompts);
  uint64_t sent = 0, ok = 0;
  for (const auto& g : r.green_endpoints) {
    const auto* ep = cfg.endpoint(g);
    if (!ep || ep->region != r.region) continue;  // residency: only the rollout's own region
    std::vector<std::pair<std::string, std::string>> headers = {{"x-regiongate-request-id", "prewarm"}};
    if (!ep->credential.empty()) headers.emplace_back("authorization", ep->credential);
    auto tls = endpointClientTls(*ep);
    if (!tls) {
      spdlog::warn("endpoint {}: pre-warm skipped: {}", ep->name, tls.error().message);
      continue;
    }
    for (const auto& b : bodies) {
      std::string body = prewarmBody(b);
      if (body.empty()) continue;
      bool chat = body.find("\"messages\":") != std::string::npos;
      http::ClientRequest req{"POST",
                              ep->base_path + (chat ? "/v1/chat/completions" : "/v1/completions"),
                              std::move(body), headers, cfg.routing.per_try_timeout_ms};
      req.tls = tls.value();
      auto res = http::call(ep->host, ep->port, std::move(req));
      ++sent;
      if (res && res->status == 200) ++ok;
    }
  }
  return {ok, fmt::format("pre-warm replayed {} hottest prompt(s) to {} green endpoint(s), {} ok",
                          bodies.size(), r.green_endpoints.size(), ok)};
}

GateResult RolloutManager::runParity(const Config& cfg, const RolloutRecord& r) {
  GateResult g{"parity", GateOutcome::Inconclusive, ""};
  if (cfg.rollout.parity_suite.empty()) {
    g.detail = "no rollout.parity_suite configured";
    return g;
  }
  auto suite = loadSuite(cfg.rollout.parity_suite, "");
  if (!suite) {
    g.detail = suite.error().message;
    return g;
  }
  std::vector<SuitePrompt> prompts;
  for (auto& p : suite.value())
    if (p.model == r.model && promptAllowedIn(cfg, p, r.region)) prompts.push_back(p);
  if (prompts.empty()) {
    g.detail = "the suite has no prompt for " + r.model + " in a jurisdiction containing " + r.region;
    return g;
  }
  auto endpointOf = [&](const EndpointConfig& ep) {
    return parityEndpoint(ep, r.to_version);
  };
  ParityGroup blue{r.region, r.model, r.from_version, {}, {}, {}, 0, 0};
  ParityGroup green{r.region, r.model, r.to_version, {}, {}, {}, 0, 0};
  std::string blue_where = r.region;
  {
    std::lock_guard lock(mu_);
    for (const auto& ep : cfg.endpoints) {
      if (!ep.serves(r.model)) continue;
      bool is_green = std::find(r.green_endpoints.begin(), r.green_endpoints.end(), ep.name) !=
                      r.green_endpoints.end();
      if (is_green) green.endpoints.push_back(endpointOf(ep));
      else if (ep.region == r.region && effectiveVersionLocked(ep, r.model) == r.from_version)
        blue.endpoints.push_back(endpointOf(ep));
    }
  }
  if (blue.endpoints.empty()) {
    g.detail = "no blue endpoint (" + r.model + "@" + r.from_version + ") in " + r.region + " to compare with";
    return g;
  }
  std::vector<ParityGroup> groups = {std::move(blue), std::move(green)};
  ParityOptions o;
  o.runs = cfg.rollout.parity_runs;
  o.alpha = cfg.rollout.parity_alpha;
  o.min_effect = cfg.rollout.parity_min_effect;
  ParityFetch fetch;
  {
    std::lock_guard lock(mu_);
    fetch = fetch_;
  }
  runGroups(cfg, prompts, groups, o, fetch);
  auto rep = buildReport(std::move(groups), prompts, o);
  g.outcome = rep.verdict;
  g.detail = rep.verdict_detail;
  return g;
}

void RolloutManager::tick() {
  ConfigPtr cfg;
  bool discover_now = false;
  {
    std::lock_guard lock(mu_);
    cfg = cfg_;
    if (!cfg) return;
    int64_t now = clock_.nowNanos();
    if (cfg->rollout.discovery_interval_ms > 0 && now >= next_discovery_) {
      discover_now = true;
      next_discovery_ = now + int64_t{cfg->rollout.discovery_interval_ms} * 1'000'000;
    }
  }
  if (discover_now) discover(*cfg);
  if (shared_) tickShared(cfg);
  else tickLocal(cfg);
}

void RolloutManager::resetWindowObsLocked(const RolloutRecord& r) {
  std::lock_guard olock(obs_mu_);
  obs_.erase(obsKey(r.region, r.model, r.to_version));
  obs_.erase(obsKey(r.region, r.model, r.from_version));
}

void RolloutManager::tickLocal(const ConfigPtr& cfg) {
  struct Job {
    std::string key;
    uint64_t id;
    Phase phase;
    RolloutRecord rec;
  };
  std::vector<Job> jobs;
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, s] : slots_) {
      Phase p = s.machine->phase();
      if (p == Phase::Staged || p == Phase::Gating)
        jobs.push_back({k, s.machine->record().id, p, s.machine->record()});
    }
  }
  // Blocking work without the lock: pre-warm and parity talk to endpoints.
  for (auto& j : jobs) {
    if (j.phase == Phase::Staged) {
      auto [n, detail] = runPrewarm(*cfg, j.rec);
      std::lock_guard lock(mu_);
      auto it = slots_.find(j.key);
      if (it == slots_.end() || it->second.machine->record().id != j.id ||
          it->second.machine->phase() != Phase::Staged)
        continue;
      (void)it->second.machine->prewarmDone(n, detail);
      (void)saveLocked();  // logs on failure; the in-memory state stays authoritative
      publishLocked();
      // Parity runs in the same tick: green is staged and warm.
      j.phase = Phase::Gating;
    }
    if (j.phase == Phase::Gating) {
      GateResult g = runParity(*cfg, j.rec);
      std::lock_guard lock(mu_);
      auto it = slots_.find(j.key);
      if (it == slots_.end() || it->second.machine->record().id != j.id ||
          it->second.machine->phase() != Phase::Gating)
        continue;
      (void)it->second.machine->parityResult(std::move(g));
      spdlog::info("rollout {} {}: {}", j.rec.region, j.rec.model,
                   it->second.machine->record().history.back().reason);
      (void)saveLocked();  // logs on failure; the in-memory state stays authoritative
      publishLocked();
    }
  }
  // Step gates.
  std::lock_guard lock(mu_);
  bool changed = false;
  for (auto& [k, s] : slots_) {
    auto& m = *s.machine;
    if (m.phase() != Phase::Shifting) continue;
    if (s.seen_generation != m.stepGeneration()) {  // a step started: the window restarts
      resetWindowObsLocked(m.record());
      s.seen_generation = m.stepGeneration();
    }
    VersionObservations green, blue;
    {
      std::lock_guard olock(obs_mu_);
      green = obs_[obsKey(m.record().region, m.record().model, m.record().to_version)];
      blue = obs_[obsKey(m.record().region, m.record().model, m.record().from_version)];
    }
    if (m.tick(green, blue)) {
      changed = true;
      spdlog::info("rollout {} {}: {}", m.record().region, m.record().model,
                   m.record().history.back().reason);
      if (s.seen_generation != m.stepGeneration()) {
        resetWindowObsLocked(m.record());
        s.seen_generation = m.stepGeneration();
      }
    }
  }
  if (changed) {
    (void)saveLocked();  // logs on failure; the in-memory state stays authoritative
    publishLocked();
  }
}

std::vector<VersionInfo> RolloutManager::versions() const {
  std::lock_guard lock(mu_);
  std::vector<VersionInfo> out;
  if (!cfg_) return out;
  for (const auto& ep : cfg_->endpoints)
    for (const auto& m : ep.models) {
      std::string v = effectiveVersionLocked(ep, m.name);
      bool disc = discovered_.count(ep.name) && discovered_.at(ep.name).count(m.name);
      out.push_back({ep.region, ep.name, m.name, v, m.version, disc ? "discovered" : "config"});
    }
  return out;
}

std::map<std::string, int> RolloutManager::skew() const {
  // model -> region -> the versions that region serves now (rollout-aware)
  std::map<std::string, std::map<std::string, std::set<std::string>>> served;
  auto view = this->view();
  for (const auto& vi : versions()) {
    const ViewEntry* e = view ? view->entry(vi.region, vi.model) : nullptr;
    auto& set = served[vi.model][vi.region];
    if (e) {
      if (e->green_permille < 1000) set.insert(e->blue);
      if (e->green_permille > 0) set.insert(e->green);
    } else {
      set.insert(vi.version);
    }
  }
  std::map<std::string, int> out;
  for (const auto& [model, regions] : served) {
    int skewed = 0;
    const std::set<std::string>* first = nullptr;
    for (const auto& [region, set] : regions) {
      if (!first) first = &set;
      else if (set != *first) skewed = 1;
    }
    out[model] = skewed;
  }
  return out;
}

std::vector<RolloutRecord> RolloutManager::records() const {
  std::lock_guard lock(mu_);
  std::vector<RolloutRecord> out;
  for (const auto& [k, s] : slots_) out.push_back(s.machine->record());
  return out;
}

}  // namespace regiongate::rollout

// ---- Shared mode (rollout.store_dsn) ----

namespace regiongate::rollout {

namespace {

// How long an admin change waits for the control thread: one tick may be running pre-warm or
// parity against endpoints (bounded by their own timeouts) before it serves the queue.
constexpr auto kAdminWait = std::chrono::seconds(15);

std::string windowReportJson(const RolloutRecord& r, int64_t window, const VersionObservations& g,
                             const VersionObservations& b) {
  auto obs = [](const VersionObservations& o) {
    return fmt::format("{{\"requests\":{},\"errors\":{},\"ttft_samples\":{}}}", o.requests, o.errors,
                       o.ttft_ms.size());
  };
  return "{\"region\":" + jsonString(r.region) + ",\"model\":" + jsonString(r.model) +
         ",\"rollout_id\":" + std::to_string(r.id) + ",\"window\":" + std::to_string(window) +
         ",\"green\":" + obs(g) + ",\"blue\":" + obs(b) + "}";
}

}  // namespace

void RolloutManager::setReplicaId(std::string id) {
  std::lock_guard lock(mu_);
  replica_id_ = std::move(id);
  shared_status_.replica_id = replica_id_;
}

void RolloutManager::setWake(std::function<void()> wake) {
  std::lock_guard lock(pending_mu_);
  wake_ = std::move(wake);
}

SharedStatus RolloutManager::sharedStatus() const {
  std::lock_guard lock(mu_);
  return shared_status_;
}

AdminReply RolloutManager::adminShared(std::string_view method, std::vector<std::string> parts,
                                       std::string_view body) {
  (void)method;  // only POSTs come here (isMutation)
  auto p = std::make_shared<PendingChange>();
  if (parts.empty()) {
    p->body = std::string(body);
  } else {
    p->region = parts[0];
    p->model = parts[1];
    p->action = parts[2];
    if (p->action != "promote" && p->action != "abort" && p->action != "resume")
      return err(Kind::NotFound, "not_found", "unknown action '" + p->action + "'");
  }
  auto done = p->done.get_future();
  std::function<void()> wake;
  {
    std::lock_guard lock(pending_mu_);
    pending_.push_back(p);
    wake = wake_;
  }
  if (wake) wake();
  if (done.wait_for(kAdminWait) != std::future_status::ready) {
    p->abandoned.store(true);
    return err(Kind::NotReady, "rollout_store_busy",
               "the rollout control loop did not reach the shared store in time; retry");
  }
  return done.get();
}

void RolloutManager::failPending(const std::string& why) {
  std::deque<std::shared_ptr<PendingChange>> list;
  {
    std::lock_guard lock(pending_mu_);
    list.swap(pending_);
  }
  for (auto& p : list)
    p->done.set_value(err(Kind::NotReady, "rollout_store_unavailable",
                          "the shared rollout store is unavailable: " + why));
}

void RolloutManager::tickShared(const ConfigPtr& cfg) {
  Status st = shared_->connected() ? Status{} : shared_->open();
  if (st) st = syncShared(*cfg);
  if (!st) {
    if (shared_up_.exchange(false) || shared_status_.last_ok_wall_us == 0)
      spdlog::error("rollout store unavailable (serving with the last known rollout state, "
                    "nothing advances): {}", st.error().message);
    shared_->close();
    failPending(st.error().message);
    std::lock_guard lock(mu_);
    shared_status_.up = false;
    shared_status_.last_error = st.error().message;
    return;
  }
  if (!shared_up_.exchange(true)) spdlog::info("rollout store {} reachable", shared_->name());
  std::lock_guard lock(mu_);
  shared_status_.up = true;
  shared_status_.last_ok_wall_us = clock_.wallMicros();
}

// One round with the store: admin changes, the mirror, this replica's report, the gates of the
// rollouts whose lease this replica holds, and what /admin/status shows. The first error ends it.
Status RolloutManager::syncShared(const Config& cfg) {
  if (Status st = servePending(); !st) return st;
  auto rows = shared_->loadAll();
  if (!rows) return rows.error();
  adoptShared(rows.value());
  if (Status st = reportShared(); !st) return st;
  std::vector<SharedStatus::Lease> leases;
  for (const auto& row : rows.value()) {
    if (row.record.terminal()) continue;
    if (Status st = evaluateAsHolder(cfg, row); !st) return st;
    leases.push_back({row.record.region, row.record.model, row.lease_holder, row.lease_left_ms});
  }
  auto replicas = shared_->replicas();
  if (!replicas) return replicas.error();
  std::lock_guard lock(mu_);
  shared_status_.leases = std::move(leases);
  shared_status_.replicas = std::move(replicas.value());
  return {};
}

Status RolloutManager::servePending() {
  for (;;) {
    std::shared_ptr<PendingChange> p;
    {
      std::lock_guard lock(pending_mu_);
      if (pending_.empty()) return {};
      p = pending_.front();
      pending_.pop_front();
    }
    if (p->abandoned.load()) continue;
    AdminReply r = applyPending(*p);
    bool store_failed = r.error && r.error->code == "rollout_store_unavailable";
    p->done.set_value(std::move(r));
    if (store_failed) return Error::internal("the store refused an admin change", "rollout_store_failed");
  }
}

// Applies one admin change in a store transaction; refusals come back as replies, a store failure
// as a reply with code rollout_store_unavailable.
AdminReply RolloutManager::applyPending(PendingChange& p) {
  std::optional<AdminReply> refused;
  RolloutRecord fresh;
  if (p.action.empty()) {
    std::lock_guard lock(mu_);
    if (!cfg_) return err(Kind::NotReady, "not_ready", "rollouts are not configured yet");
    if (auto r = buildStartLocked(p.body, fresh); r.error) return r;
    p.region = fresh.region;
    p.model = fresh.model;
  }
  auto refuse = [&](AdminReply r) -> Result<RolloutRecord> {
    refused = std::move(r);
    return Error::config("refused", "refused");
  };
  auto stored = shared_->change(
      p.region, p.model, [&](const StoredRollout* cur, bool& new_window) -> Result<RolloutRecord> {
        new_window = true;
        if (p.action.empty()) {
          if (cur && !cur->record.terminal())
            return refuse(err(Kind::Conflict, "rollout_in_progress",
                              "a rollout of " + p.model + " in " + p.region + " is already " +
                                  std::string(phaseName(cur->record.phase))));
          fresh.id = 0;  // the store's sequence numbers rollouts across replicas
          return RolloutMachine(fresh, clock_).record();
        }
        if (!cur) return refuse(err(Kind::NotFound, "no_rollout", "no rollout of " + p.model + " in " + p.region));
        RolloutMachine m(cur->record, clock_);
        Status st = p.action == "promote" ? m.promote("promoted by operator")
                    : p.action == "abort" ? m.abort("aborted by operator")
                                          : m.resume("resumed by operator");
        if (!st) return refuse(err(Kind::Conflict, st.error().code, st.error().message));
        new_window = m.stepGeneration() != 0;
        return m.record();
      });
  if (refused) return std::move(*refused);
  if (!stored) return err(Kind::NotReady, "rollout_store_unavailable", stored.error().message);
  adoptShared({stored.value()});
  const auto& rec = stored->record;
  spdlog::info("rollout {} {} ({} through replica {}): {}", rec.region, rec.model,
               p.action.empty() ? "started" : p.action, replica_id_, rec.history.back().reason);
  return reply(p.action.empty() ? AdminReply::Shape::Created : AdminReply::Shape::Record, {rec});
}

// Mirrors the stored rollouts into the slots (and the view); a new window resets this replica's
// observations of the rollout's two versions.
void RolloutManager::adoptShared(const std::vector<StoredRollout>& rows) {
  std::lock_guard lock(mu_);
  bool changed = false;
  for (const auto& row : rows) {
    auto& slot = slots_[slotKey(row.record.region, row.record.model)];
    if (slot.machine && slot.machine->record().id == row.record.id && slot.revision == row.revision)
      continue;
    bool new_window = !slot.machine || slot.machine->record().id != row.record.id ||
                      slot.window != row.window;
    slot.machine = std::make_unique<RolloutMachine>(row.record, clock_);
    slot.seen_generation = slot.machine->stepGeneration();
    slot.revision = row.revision;
    slot.window = row.window;
    if (new_window) resetWindowObsLocked(row.record);
    changed = true;
  }
  if (changed) publishLocked();
}

Status RolloutManager::reportShared() {
  struct Item {
    RolloutRecord rec;
    int64_t window;
    VersionObservations green, blue;
  };
  std::vector<Item> items;
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, s] : slots_) {
      const auto& r = s.machine->record();
      if (r.phase != Phase::Shifting && r.phase != Phase::Paused) continue;
      Item it{r, s.window, {}, {}};
      std::lock_guard olock(obs_mu_);
      if (auto g = obs_.find(obsKey(r.region, r.model, r.to_version)); g != obs_.end()) it.green = g->second;
      if (auto b = obs_.find(obsKey(r.region, r.model, r.from_version)); b != obs_.end()) it.blue = b->second;
      items.push_back(std::move(it));
    }
  }
  std::string summary = "{\"windows\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    if (Status st = shared_->report(replica_id_, it.rec.id, it.window, it.rec.to_version, it.green); !st)
      return st;
    if (Status st = shared_->report(replica_id_, it.rec.id, it.window, it.rec.from_version, it.blue); !st)
      return st;
    summary += (i ? "," : "") + windowReportJson(it.rec, it.window, it.green, it.blue);
  }
  return shared_->heartbeat(replica_id_, summary + "]}");
}

// Takes or renews the lease of one live rollout and, holding it, advances the rollout as the
// single-node loop would, on the observations of every replica. A write the store refuses (the
// lease lapsed, or an operator changed the row meanwhile) is dropped: the next tick starts over
// from what the store holds.
Status RolloutManager::evaluateAsHolder(const Config& cfg, const StoredRollout& s) {
  const auto& rec = s.record;
  auto held = shared_->acquireLease(rec.region, rec.model, replica_id_, cfg.rollout.lease_ms);
  if (!held) return held.error();
  if (!held.value()) return {};
  if (s.lease_holder != replica_id_)
    spdlog::info("rollout {} {}: replica {} holds the gate lease (was '{}')", rec.region, rec.model,
                 replica_id_, s.lease_holder);
  RolloutMachine m(rec, clock_);
  if (rec.phase == Phase::Staged) {
    auto [n, detail] = runPrewarm(cfg, rec);
    (void)m.prewarmDone(n, detail);
  }
  if (m.phase() == Phase::Gating) {
    (void)m.parityResult(runParity(cfg, m.record()));
  } else if (rec.phase == Phase::Shifting) {
    auto pooled = shared_->pooled(rec.id, s.window, rec.to_version, rec.from_version);
    if (!pooled) return pooled.error();
    std::string source = fmt::format("pooled from {} replica(s)", pooled->replicas);
    if (!m.tickAt(s.step_elapsed_ms, pooled->green, pooled->blue, source)) return {};
  } else if (rec.phase != Phase::Staged) {
    return {};  // Paused waits for a person
  }
  auto written = shared_->writeAsHolder(m.record(), m.stepGeneration() != 0, replica_id_, s.revision);
  if (!written) return written.error();
  if (!written.value()) {
    spdlog::warn("rollout {} {}: the store refused this replica's gate decision (lease lapsed or "
                 "the rollout changed); it is taken again from the stored state",
                 rec.region, rec.model);
    return {};
  }
  spdlog::info("rollout {} {}: {}", rec.region, rec.model, m.record().history.back().reason);
  auto rows = shared_->loadAll();
  if (!rows) return rows.error();
  adoptShared(rows.value());
  return {};
}

}  // namespace regiongate::rollout
