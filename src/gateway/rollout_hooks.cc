#include "gateway/rollout_hooks.h"

#include <simdjson.h>

#include "common/json.h"
#include "gateway/error_table.h"
#include "rollout/state_store.h"
#include "routing/prompt_blocks.h"

namespace regiongate::gateway {

namespace {

void renderVersionInfo(std::string& out, const std::set<std::vector<std::string>>& current) {
  out += "# HELP regiongate_model_version_info Model version served by each endpoint (value is "
         "always 1).\n# TYPE regiongate_model_version_info gauge\n";
  static const char* const kNames[] = {"region", "endpoint", "model", "version"};
  for (const auto& labels : current) {
    out += "regiongate_model_version_info{";
    for (size_t i = 0; i < labels.size() && i < std::size(kNames); ++i) {
      if (i) out += ',';
      out += kNames[i];
      out += "=\"";
      metrics::appendEscapedLabelValue(out, labels[i]);
      out += "\"";
    }
    out += "} 1\n";
  }
}

}  // namespace

RolloutHooks::RolloutHooks(const Clock& clock, metrics::Registry& registry,
                           metrics::CounterFamily& peer_strings_refused, std::string replica_id)
    : manager_(clock),
      skew_(registry.gauge("regiongate_model_version_skew",
                           "1 when two regions serve one model at different versions", {"model"})),
      green_weight_(registry.gauge("regiongate_rollout_green_weight",
                                   "Share of a region's traffic for a model sent to the green "
                                   "version of its rollout (0..1)",
                                   {"region", "model"})),
      peer_strings_refused_(peer_strings_refused),
      store_up_(registry.gauge("regiongate_rollout_store_up",
                               "Shared mode: 1 when the last control-loop round reached the shared "
                               "rollout store, 0 when it did not (rollouts frozen)",
                               {})),
      leases_held_(registry.gauge("regiongate_rollout_leases_held",
                                  "Shared mode: rollouts whose gate lease this replica holds", {})) {
  registry.addCollector([info = version_info_](std::string& out) {
    std::lock_guard lock(info->mu);
    renderVersionInfo(out, info->current);
  });
  manager_.setReplicaId(std::move(replica_id));
  manager_.setWake([this] {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  });
}

RolloutHooks::~RolloutHooks() { stop(); }

Status RolloutHooks::configure(ConfigPtr config) {
  {
    std::lock_guard lock(mu_);
    tick_ms_ = config->rollout.tick_ms;
  }
  auto st = manager_.configure(std::move(config));
  exportMetrics();
  return st;
}

void RolloutHooks::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void RolloutHooks::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  manager_.refuseQueuedChanges();
}

void RolloutHooks::run() {
  for (;;) {
    manager_.tick();
    exportMetrics();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(tick_ms_), [this] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
  }
}

void RolloutHooks::exportMetrics() {
  std::lock_guard lock(export_mu_);
  std::set<std::vector<std::string>> now;
  for (const auto& v : manager_.versions())
    now.insert({v.region, v.endpoint, v.model, v.version.empty() ? "unversioned" : v.version});
  {
    std::lock_guard info_lock(version_info_->mu);
    version_info_->current = std::move(now);
  }
  for (const auto& [model, s] : manager_.skew()) skew_.with({model}).set(s);
  const uint64_t refused = manager_.refusedDiscoveryStrings();
  if (refused > refused_exported_)
    peer_strings_refused_.with({"model_version"}).inc(static_cast<double>(refused - refused_exported_));
  refused_exported_ = refused;
  if (auto view = manager_.view())
    for (const auto& e : view->entries)
      green_weight_.with({e.region, e.model}).set(e.green_permille / 1000.0);
  if (manager_.sharedConfigured()) {
    auto st = manager_.sharedStatus();
    store_up_.with({}).set(st.up ? 1 : 0);
    double held = 0;
    for (const auto& l : st.leases)
      if (l.holder == st.replica_id && l.left_ms > 0) ++held;
    leases_held_.with({}).set(st.up ? held : 0);
  }
}

bool RolloutHooks::pinPool(const Snapshot& snap, const std::string& model, bool allow_mixed,
                           uint64_t draw, std::vector<uint32_t>& members,
                           std::string& pool_version) const {
  auto view = manager_.view();
  if (!view || view->config != snap.config.get()) return false;  // reload in flight
  return view->pin(model, allow_mixed, draw, members, pool_version);
}

std::string RolloutHooks::versionOf(const Snapshot& snap, uint32_t endpoint,
                                    const std::string& model) const {
  auto view = manager_.view();
  if (view && view->config == snap.config.get()) return view->versionOf(endpoint, model);
  return snap.versionOf(endpoint, model);
}

void RolloutHooks::onCompleted(const Snapshot& snap, const std::string& jurisdiction,
                               uint32_t endpoint, const std::string& model,
                               const std::string& version, unsigned status, bool upstream_ok,
                               double ttft_ms, std::string_view canonical_text,
                               uint32_t block_chars, std::string_view body) {
  if (endpoint >= snap.region_of_endpoint.size()) return;
  const std::string& region = snap.region_of_endpoint[endpoint];
  // The worker's block buffer may belong to another request by now (co_await points): recompute,
  // and only while sampling is on.
  // Every successful request is offered to the sampler (it never waits for its lock): pre-warm
  // needs the hit counts of the region's real prefixes, and sparser sampling measurably weakened
  // it (first-traffic hit rate 0.96 -> 0.66 in the pre-warm test).
  if (status < 400 && upstream_ok && manager_.sampler().enabled())
    manager_.sample(jurisdiction, region, model, routing::promptBlocks(canonical_text, block_chars),
                    body);
  auto view = manager_.view();
  if (!view) return;
  const rollout::ViewEntry* e = view->entry(region, model);
  if (!e || !e->observing) return;
  bool error = !upstream_ok || status >= 500;
  manager_.observe(region, model, version, error, status < 400 ? ttft_ms : -1);
}

namespace {

// One record in the state file's encoding (rollout/state_store.h), without its envelope.
std::string recordJson(const rollout::RolloutRecord& r) {
  std::string all = rollout::recordsToJson({r});
  // {"version":1,"rollouts":[ X ]} -> X
  auto b = all.find('[');
  return all.substr(b + 1, all.size() - b - 3);
}

std::string recordsJson(const std::vector<rollout::RolloutRecord>& records) {
  std::string out = "[";
  for (size_t i = 0; i < records.size(); ++i) out += (i ? "," : "") + recordJson(records[i]);
  return out + "]";
}

std::string versionsJson(const std::vector<rollout::VersionInfo>& vs) {
  std::string out = "[";
  for (size_t i = 0; i < vs.size(); ++i) {
    const auto& v = vs[i];
    out += (i ? "," : "") + std::string("{\"region\":") + jsonString(v.region) +
           ",\"endpoint\":" + jsonString(v.endpoint) + ",\"model\":" + jsonString(v.model) +
           ",\"version\":" + jsonString(v.version) + ",\"configured\":" + jsonString(v.configured) +
           ",\"source\":" + jsonString(v.source) + "}";
  }
  return out + "]";
}

std::string skewJson(const std::map<std::string, int>& skew) {
  std::string out = "{";
  bool first = true;
  for (const auto& [m, s] : skew) {
    out += (first ? "" : ",") + jsonString(m) + ":" + std::to_string(s);
    first = false;
  }
  return out + "}";
}

// A replica's report as stored: our own JSON, but it comes back from a database others can
// write: embedded only when it parses as a JSON object, else null.
std::string checkedReport(const std::string& report) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(report).get(obj) != simdjson::SUCCESS) return "null";
  return report;
}

std::string sharedStatusJson(const rollout::SharedStatus& st) {
  std::string out = "\"rollout_store\":{\"state\":" + jsonString(st.up ? "up" : "unavailable") +
                    ",\"store\":" + jsonString(st.store) + ",\"replica_id\":" +
                    jsonString(st.replica_id) + ",\"last_ok_ts_us\":" +
                    std::to_string(st.last_ok_wall_us) + ",\"last_error\":" +
                    jsonString(st.last_error) + ",\"leases\":[";
  for (size_t i = 0; i < st.leases.size(); ++i) {
    const auto& l = st.leases[i];
    out += (i ? "," : "") + std::string("{\"region\":") + jsonString(l.region) +
           ",\"model\":" + jsonString(l.model) + ",\"holder\":" + jsonString(l.holder) +
           ",\"left_ms\":" + std::to_string(l.left_ms) + "}";
  }
  out += "]},\"replicas\":[";
  for (size_t i = 0; i < st.replicas.size(); ++i) {
    const auto& r = st.replicas[i];
    out += (i ? "," : "") + std::string("{\"replica_id\":") + jsonString(r.replica_id) +
           ",\"last_report_age_ms\":" + std::to_string(r.age_ms) +
           ",\"report\":" + checkedReport(r.report) + "}";
  }
  return out + "]";
}

}  // namespace

RolloutHooks::AdminResponse RolloutHooks::admin(std::string_view method, std::string_view target,
                                                std::string_view body) {
  auto reply = manager_.admin(method, target, body);
  exportMetrics();
  if (reply.error) {
    const ErrorSpec spec = specFor(rolloutErrorKind(reply.error->kind));
    return {spec.status, errorBody(spec.type, reply.error->code, reply.error->message)};
  }
  using Shape = rollout::AdminReply::Shape;
  if (reply.shape == Shape::List) return {200, "{\"rollouts\":" + recordsJson(reply.records) + "}"};
  if (reply.records.empty())
    return {500, errorBody("internal_error", "internal_error", "no record")};
  return {reply.shape == Shape::Created ? 201u : 200u, recordJson(reply.records.front())};
}

std::string RolloutHooks::storeState() const {
  if (!manager_.sharedConfigured()) return "";
  return manager_.sharedUp() ? "up" : "unavailable";
}

std::string RolloutHooks::statusMembers() const {
  std::string out = "\"rollouts\":" + recordsJson(manager_.records()) +
                    ",\"versions\":" + versionsJson(manager_.versions()) +
                    ",\"version_skew\":" + skewJson(manager_.skew());
  if (manager_.sharedConfigured()) out += "," + sharedStatusJson(manager_.sharedStatus());
  return out;
}

}  // namespace regiongate::gateway
