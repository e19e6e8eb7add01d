#include "residency/proof.h"

#include <boost/asio/ip/address.hpp>
#include <algorithm>
#include <initializer_list>
#include <map>
#include <set>

#include "common/json.h"
#include "legal/legal_basis.h"
#include "residency/forwarding.h"
#include "residency/residency_index.h"

namespace regiongate::residency {

namespace {

constexpr int64_t kExpiryWarningDays = 90;

std::string quote(const std::string& s) { return "'" + s + "'"; }

class Prover {
 public:
  Prover(const Config& config, Date today)
      // Non-owning ConfigPtr (aliasing constructor): the index lives only inside this call.
      : config_(config), index_(ConfigPtr(std::shared_ptr<const Config>(), &config)) {
    report_.config_file = config.source_file;
    report_.today = today;
  }

  ProofReport run() {
    regionsWithoutCountry();
    plaintextEndpoints();
    ingress();
    std::set<std::string> models;
    for (const auto& ep : config_.endpoints)
      for (const auto& m : ep.models) models.insert(m.name);
    for (uint32_t t = 0; t < config_.tenants.size(); ++t) {
      for (const auto& m : models) tenantModel(t, m);
      narrowing(t);
    }
    jurisdictionCoverage();
    bases();
    return std::move(report_);
  }

 private:
  const RegionConfig* regionOf(const EndpointConfig& ep) const { return config_.region(ep.region); }
  std::string countryOf(const EndpointConfig& ep) const {
    const auto* r = regionOf(ep);
    return r ? r->country : std::string();
  }

  void error(ProofFinding f) { add(report_.errors, std::move(f)); }
  void warning(ProofFinding f) { add(report_.warnings, std::move(f)); }
  void add(std::vector<ProofFinding>& list, ProofFinding f) {
    if (seen_.insert(f.code + "\x1f" + f.message).second) list.push_back(std::move(f));
  }

  // Why `country` is in `j`, and remember that the config relies on it.
  std::string basisFor(const JurisdictionConfig& j, const std::string& country) {
    relied_.emplace(j.name, country);
    bool listed = std::find(j.countries.begin(), j.countries.end(), country) != j.countries.end();
    if (const legal::Preset* p = legal::findPreset(j.preset)) {
      if (const legal::LegalBasis* b = legal::findBasis(*p, country)) {
        std::string s(b->basis);
        if (!b->qualifier.empty()) s += "; qualifier: " + std::string(b->qualifier);
        if (b->expires) s += "; expires " + legal::formatDate(*b->expires);
        return s;
      }
    }
    if (listed) return "custom: listed in jurisdictions." + j.name + ".countries";
    return "(no basis)";
  }

  void regionsWithoutCountry() {
    for (const auto& ep : config_.endpoints) {
      const auto* r = regionOf(ep);
      if (r && r->country.empty())
        error({"region_without_country", "", "", "", ep.name, r->name, "",
               "endpoint " + quote(ep.name) + " is in region " + quote(r->name) +
                   ", which has no country: where it runs cannot be proven (it is in no pool); "
                   "give regions." +
                   r->name + " a country or remove the endpoint"});
    }
  }

  // An http:// endpoint beyond loopback: anyone on the path can read the prompts and forge the
  // evidence header or body the residency judgement trusts.
  void plaintextEndpoints() {
    for (const auto& ep : config_.endpoints) {
      if (ep.https || isLoopbackHost(ep.host)) continue;
      warning({"plaintext_upstream", "", "", "", ep.name, ep.region, countryOf(ep),
               "endpoint " + quote(ep.name) + " is reached in plaintext (" + ep.url +
                   ") over the network: prompts can be read and evidence forged on the path; "
                   "use an https:// url"});
    }
  }

  void ingress() {
    if (config_.gateway_region.empty()) {
      warning({"ingress_unproven", "", "", "", "", "", "",
               "gateway.region is not set: where requests are decrypted and read is unproven "
               "(every tenant is accepted at this gateway); declare the region this instance "
               "runs in"});
      return;
    }
    const RegionConfig* r = config_.region(config_.gateway_region);
    std::string country = r ? r->country : std::string();
    for (uint32_t t = 0; t < config_.tenants.size(); ++t) {
      const auto& tenant = config_.tenants[t];
      const auto& j = index_.jurisdictionOf(t);
      if (!index_.ingressAllowed(t)) {
        error({"ingress_outside_jurisdiction", tenant.name, j.name, "", "", config_.gateway_region,
               country,
               "tenant " + quote(tenant.name) + " (jurisdiction " + quote(j.name) +
                   ") would reach this gateway in region " + quote(config_.gateway_region) + " (" +
                   (country.empty() ? std::string("no country") : country) +
                   "), outside its jurisdiction: its requests would be refused with 421; serve "
                   "it from a gateway inside " +
                   j.name + " or remove it from this config"});
        continue;
      }
      report_.paths.push_back({tenant.name, j.name, "(ingress)", "(gateway)",
                               config_.gateway_region, country, "ingress", basisFor(j, country)});
    }
  }

  // Forwarding: the provider may run the request somewhere other than the endpoint's region
  // (residency/forwarding.h). Every country of a forwarding set inside the jurisdiction is a
  // reachable path; one outside it, or an unknown or global set, is an error: evidence would
  // only see the violation after the prompt had left.
  void forwarding(const TenantConfig& tenant, const JurisdictionConfig& j, const std::string& model,
                  const EndpointConfig& ep, const std::string& via) {
    ForwardingSet f = forwardingSet(config_, ep, model, j);
    using Kind = ForwardingSet::Kind;
    if (f.kind == Kind::None) {
      recognisablyGlobal(tenant, j, model, ep);
      return;
    }
    if (f.kind == Kind::Refused) {
      warning({"inference_geo_unavailable", tenant.name, j.name, model, ep.name, ep.region, "",
               "tenant " + quote(tenant.name) + ", model " + quote(model) + ": endpoint " +
                   quote(ep.name) + " has " + f.declared +
                   ": its requests are refused before they leave (provider_geography_unavailable)"});
      return;
    }
    std::string foreign;  // "" = all inside; "*" = anywhere / unknown
    if (f.kind == Kind::Countries) {
      for (const auto& c : f.countries)
        if (!j.resolved.count(c)) {
          foreign = c;
          break;
        }
    } else {
      foreign = "*";
    }
    if (foreign.empty()) {
      for (const auto& c : f.countries)
        report_.paths.push_back({tenant.name, j.name, model, ep.name, ep.region, c,
                                 via + " -> " + f.declared, basisFor(j, c)});
      return;
    }
    outsideForwarding(tenant, j, model, ep, f, foreign);
  }

  void outsideForwarding(const TenantConfig& tenant, const JurisdictionConfig& j,
                         const std::string& model, const EndpointConfig& ep,
                         const ForwardingSet& f, const std::string& foreign) {
    std::string where = f.kind == ForwardingSet::Kind::Anywhere ? std::string("anywhere")
                        : f.kind == ForwardingSet::Kind::Unknown
                            ? std::string("to places nothing defines (unknown geography)")
                            : "to " + foreign;
    std::string path = "tenant " + quote(tenant.name) + " -> model " + quote(model) +
                       " -> endpoint " + quote(ep.name) + " (region " + ep.region + ") -> " +
                       f.declared;
    if (ep.evidence.kind == EvidenceSpec::Kind::Endpoint) {
      error({"forwarding_without_evidence", tenant.name, j.name, model, ep.name, ep.region, foreign,
             path + ": may forward inference " + where + ", outside " + j.name +
                 ", and has no evidence source to see it (evidence: endpoint); configure "
                 "header:NAME or body:PATH evidence, or take it out of this jurisdiction"});
      return;
    }
    error({"forwarding_outside_jurisdiction", tenant.name, j.name, model, ep.name, ep.region,
           foreign,
           path + ": may forward inference " + where + ", outside " + j.name + "; evidence (" +
               ep.evidence.raw + ") would only detect it after the prompt has left; use a "
               "forwarding set inside " + j.name + " or take the endpoint out of this pool"});
  }

  void recognisablyGlobal(const TenantConfig& tenant, const JurisdictionConfig& j,
                          const std::string& model, const EndpointConfig& ep) {
    if (model.rfind("global.", 0) != 0 || ep.evidence.kind != EvidenceSpec::Kind::Endpoint) return;
    warning({"recognisably_global", tenant.name, j.name, model, ep.name, ep.region, "",
             "endpoint " + quote(ep.name) + " serves " + quote(model) +
                 ", which looks like a global (cross-region) deployment, and has no "
                 "evidence source: set 'forwards' and an evidence header or body field"});
  }

  void tenantModel(uint32_t t, const std::string& model) {
    const auto& tenant = config_.tenants[t];
    const auto& j = index_.jurisdictionOf(t);
    const auto& pool = index_.pool(t, model);
    std::set<std::string> regions;
    for (uint32_t e : pool) {
      const auto& ep = config_.endpoints[e];
      std::string country = countryOf(ep);
      if (country.empty() || !j.resolved.count(country)) {  // cannot happen: the index filters
        error({"pool_outside_jurisdiction", tenant.name, j.name, model, ep.name, ep.region, country,
               "internal: pool of tenant " + quote(tenant.name) + ", model " + quote(model) +
                   " contains endpoint " + quote(ep.name) + " in " + country + ", outside " +
                   j.name});
        continue;
      }
      regions.insert(ep.region);
      report_.paths.push_back(
          {tenant.name, j.name, model, ep.name, ep.region, country, "pool", basisFor(j, country)});
      forwarding(tenant, j, model, ep, "pool");
      if (ep.provider == "third_party" && ep.evidence.kind == EvidenceSpec::Kind::Endpoint)
        warning({"config_evidence_on_third_party", "", j.name, "", ep.name, ep.region, country,
                 "endpoint " + quote(ep.name) +
                     " is a third-party provider and its evidence is "
                     "'endpoint' (the config's own claim): nothing checks where inference ran; "
                     "configure a header or body evidence source"});
    }
    if (regions.size() == 1)
      warning({"single_region_pool", tenant.name, j.name, model, "", *regions.begin(), "",
               "tenant " + quote(tenant.name) + ", model " + quote(model) +
                   ": every endpoint is "
                   "in region " +
                   quote(*regions.begin()) + "; its availability is that region's"});
    rollouts(t, model);
  }

  // Every rollout state: blue endpoints are already in the pool; green ones are listed by name
  // and would take traffic for the rollout's region whatever their own location.
  void rollouts(uint32_t t, const std::string& model) {
    const auto& tenant = config_.tenants[t];
    const auto& j = index_.jurisdictionOf(t);
    for (size_t i = 0; i < config_.rollouts.size(); ++i) {
      const auto& ro = config_.rollouts[i];
      if (ro.model != model) continue;
      const RegionConfig* rr = config_.region(ro.region);
      if (!rr || rr->country.empty() || !j.resolved.count(rr->country)) continue;
      std::string via = "rollout " + ro.region + " green " + ro.model + "@" + ro.to_version;
      for (const auto& g : ro.green_endpoints) {
        const EndpointConfig* ep = config_.endpoint(g);
        if (!ep) continue;
        std::string country = countryOf(*ep);
        if (country.empty() || !j.resolved.count(country)) {
          error({"rollout_green_outside_jurisdiction", tenant.name, j.name, model, ep->name,
                 ep->region, country,
                 "tenant " + quote(tenant.name) + ", model " + quote(model) + ": rollouts[" +
                     std::to_string(i) + "] (region " + ro.region + ", " + ro.from_version +
                     " -> " + ro.to_version + ") sends green traffic to endpoint " +
                     quote(ep->name) + " in " + ep->region + " (" +
                     (country.empty() ? std::string("no country") : country) + "), outside " +
                     j.name});
          continue;
        }
        report_.paths.push_back(
            {tenant.name, j.name, model, ep->name, ep->region, country, via, basisFor(j, country)});
        forwarding(tenant, j, model, *ep, via);
        if (ep->region != ro.region)
          warning({"rollout_green_other_region", "", "", model, ep->name, ep->region, country,
                   "rollouts[" + std::to_string(i) + "]: green endpoint " + quote(ep->name) +
                       " is in region " + ep->region + ", not the rollout's region " + ro.region});
        bool serves_green =
            std::any_of(ep->models.begin(), ep->models.end(), [&](const ModelRef& m) {
              return m.name == ro.model && (m.version.empty() || m.version == ro.to_version);
            });
        if (!serves_green)
          warning({"rollout_green_missing_model", "", "", model, ep->name, ep->region, country,
                   "rollouts[" + std::to_string(i) + "]: green endpoint " + quote(ep->name) +
                       " does not list " + ro.model + "@" + ro.to_version});
      }
    }
  }

  void narrowing(uint32_t t) {
    const auto& tenant = config_.tenants[t];
    const auto& j = index_.jurisdictionOf(t);
    NarrowingSummary s{tenant.name, {}, {}};
    for (const auto& r : config_.regions) {
      auto res = index_.narrow(t, r.name);
      bool inside = !r.country.empty() && j.resolved.count(r.country) > 0;
      if (res.ok() != inside)  // the data plane's narrowing disagrees with the rule
        error({"narrowing_widens", tenant.name, j.name, "", "", r.name, r.country,
               "internal: narrowing tenant " + quote(tenant.name) + " to region " + r.name +
                   " was " + (res.ok() ? "accepted" : "refused") + " but the region is " +
                   (inside ? "inside " : "outside ") + j.name});
      (res.ok() ? s.accepted : s.refused).push_back(r.name);
    }
    report_.narrowing.push_back(std::move(s));
  }

  void jurisdictionCoverage() {
    std::map<std::string, std::set<std::string>> served;  // jurisdiction -> "name" and "name@v"
    std::vector<const JurisdictionConfig*> used;
    for (const auto& j : config_.jurisdictions) {
      auto& set = served[j.name];
      for (const auto& ep : config_.endpoints) {
        std::string c = countryOf(ep);
        if (c.empty() || !j.resolved.count(c)) continue;
        for (const auto& m : ep.models) {
          set.insert(m.name);
          if (!m.version.empty()) set.insert(m.name + "@" + m.version);
        }
      }
      bool has_tenants =
          std::any_of(config_.tenants.begin(), config_.tenants.end(),
                      [&](const TenantConfig& t) { return t.jurisdiction == j.name; });
      if (set.empty())
        warning({"jurisdiction_without_endpoints", "", j.name, "", "", "", "",
                 "jurisdiction " + quote(j.name) + " has no endpoints" +
                     (has_tenants ? ": its tenants' requests all get 503 residency_pool_exhausted"
                                  : std::string())});
      else if (has_tenants)
        used.push_back(&j);
    }
    // Parity between jurisdictions that have tenants and endpoints.
    std::set<std::string> union_keys;
    for (const auto* j : used) union_keys.insert(served[j->name].begin(), served[j->name].end());
    for (const auto& key : union_keys) {
      std::vector<std::string> have, lack;
      for (const auto* j : used) (served[j->name].count(key) ? have : lack).push_back(j->name);
      if (lack.empty()) continue;
      bool versioned = key.find('@') != std::string::npos;
      if (versioned && std::any_of(lack.begin(), lack.end(), [&](const std::string& j) {
            return !served[j].count(key.substr(0, key.find('@')));
          }))
        continue;  // already reported as a whole-model gap
      for (const auto& l : lack)
        warning(
            {versioned ? "version_parity_gap" : "parity_gap", "", l, key, "", "", "",
             "model " + quote(key) + " is served in " + have.front() +
                 (have.size() > 1 ? " (and " + std::to_string(have.size() - 1) + " more)" : "") +
                 " but not in " + l + ": the same request behaves differently by jurisdiction"});
    }
  }

  // Qualifiers and expiry dates of every basis the config relies on.
  void bases() {
    for (const auto& [jname, country] : relied_) {
      const JurisdictionConfig* j = config_.jurisdiction(jname);
      if (!j) continue;
      const legal::Preset* p = legal::findPreset(j->preset);
      const legal::LegalBasis* b = p ? legal::findBasis(*p, country) : nullptr;
      if (!b) continue;
      bool listed =
          std::find(j->countries.begin(), j->countries.end(), country) != j->countries.end();
      if (!b->qualifier.empty())
        warning({"qualifier_to_confirm", "", jname, "", "", "", country,
                 "jurisdiction " + jname + " relies on " + country + " (" + std::string(b->basis) +
                     "), which has a qualifier to confirm: " + std::string(b->qualifier)});
      if (b->expires) {
        int64_t left = legal::daysBetween(report_.today, *b->expires);
        if (left < 0) {
          ProofFinding f{"basis_expired",
                         "",
                         jname,
                         "",
                         "",
                         "",
                         country,
                         "jurisdiction " + jname + " relies on " + country + " (" +
                             std::string(b->basis) + "), which expired on " + legal::formatDate(*b->expires)};
          if (listed) {
            f.message += " (the country is also listed explicitly: confirm your own basis)";
            warning(std::move(f));
          } else {
            error(std::move(f));
          }
        } else if (left <= kExpiryWarningDays) {
          warning({"basis_expiring", "", jname, "", "", "", country,
                   "jurisdiction " + jname + " relies on " + country + " (" +
                       std::string(b->basis) + "), which expires on " + legal::formatDate(*b->expires) +
                       " (in " + std::to_string(left) + " days)"});
        }
      }
    }
  }

  const Config& config_;
  ResidencyIndex index_;
  ProofReport report_;
  std::set<std::string> seen_;
  std::set<std::pair<std::string, std::string>> relied_;  // (jurisdiction, country)
};

void appendField(std::string& out, const char* name, const std::string& value, bool& first) {
  if (!first) out += ',';
  first = false;
  appendJsonString(out, name);
  out += ':';
  appendJsonString(out, value);
}

// {"name":"value",...} of string fields, in order.
void appendObject(std::string& out,
                  std::initializer_list<std::pair<const char*, const std::string*>> fields) {
  bool first = true;
  out += '{';
  for (const auto& [name, value] : fields) appendField(out, name, *value, first);
  out += '}';
}

void appendFinding(std::string& out, const ProofFinding& f) {
  appendObject(out, {{"code", &f.code},
                     {"tenant", &f.tenant},
                     {"jurisdiction", &f.jurisdiction},
                     {"model", &f.model},
                     {"endpoint", &f.endpoint},
                     {"region", &f.region},
                     {"country", &f.country},
                     {"message", &f.message}});
}

void appendStrings(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, v[i]);
  }
  out += ']';
}

}  // namespace

ProofReport proveResidency(const Config& config, Date today) { return Prover(config, today).run(); }

bool isLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  return !ec && addr.is_loopback();
}

std::string ProofReport::json() const {
  std::string out = "{";
  bool first = true;
  appendField(out, "config", config_file, first);
  appendField(out, "today", legal::formatDate(today), first);
  out += ",\"ok\":";
  out += ok() ? "true" : "false";
  out += ",\"paths\":[";
  for (size_t i = 0; i < paths.size(); ++i) {
    const auto& p = paths[i];
    if (i) out += ',';
    appendObject(out, {{"tenant", &p.tenant},
                       {"jurisdiction", &p.jurisdiction},
                       {"model", &p.model},
                       {"endpoint", &p.endpoint},
                       {"region", &p.region},
                       {"country", &p.country},
                       {"via", &p.via},
                       {"basis", &p.basis}});
  }
  out += "],\"narrowing\":[";
  for (size_t i = 0; i < narrowing.size(); ++i) {
    if (i) out += ',';
    bool f = true;
    out += '{';
    appendField(out, "tenant", narrowing[i].tenant, f);
    out += ",\"accepted\":";
    appendStrings(out, narrowing[i].accepted);
    out += ",\"refused\":";
    appendStrings(out, narrowing[i].refused);
    out += '}';
  }
  out += "],\"errors\":[";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i) out += ',';
    appendFinding(out, errors[i]);
  }
  out += "],\"warnings\":[";
  for (size_t i = 0; i < warnings.size(); ++i) {
    if (i) out += ',';
    appendFinding(out, warnings[i]);
  }
  out += "]}\n";
  return out;
}

std::string ProofReport::table() const {
  std::vector<std::string> head = {"TENANT", "JURISDICTION", "MODEL", "ENDPOINT",
                                   "REGION", "COUNTRY",      "VIA",   "BASIS"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : paths)
    rows.push_back(
        {p.tenant, p.jurisdiction, p.model, p.endpoint, p.region, p.country, p.via, p.basis});
  std::vector<size_t> width(head.size());
  for (size_t c = 0; c < head.size(); ++c) width[c] = head[c].size();
  for (const auto& r : rows)
    for (size_t c = 0; c + 1 < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t c = 0; c < r.size(); ++c) {
      s += r[c];
      if (c + 1 < r.size()) s += std::string(width[c] - r[c].size() + 2, ' ');
    }
    return s + "\n";
  };
  std::string out = "Residency proof for " + config_file + " (as of " + legal::formatDate(today) + ")\n\n";
  out += "Reachable paths (first pick, retries and failover stay in the pool):\n";
  out += line(head);
  for (const auto& r : rows) out += line(r);
  if (rows.empty()) out += "(none)\n";
  out += "\nNarrowing header x-regiongate-region:\n";
  for (const auto& n : narrowing) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s.empty() ? std::string("-") : s;
    };
    out += "  " + n.tenant + ": accepted " + list(n.accepted) + "; refused (403) " +
           list(n.refused) + "\n";
  }
  out += "\nErrors (" + std::to_string(errors.size()) + "):\n";
  for (const auto& e : errors) out += "  error[" + e.code + "]: " + e.message + "\n";
  out += "\nWarnings (" + std::to_string(warnings.size()) + "):\n";
  for (const auto& w : warnings) out += "  warning[" + w.code + "]: " + w.message + "\n";
  out += "\n";
  out += ok() ? "PROOF OK: no configured path leaves a tenant's jurisdiction\n"
              : "PROOF FAILED: " + std::to_string(errors.size()) + " error(s)\n";
  return out;
}

Status requireResidencyProof(const Config& config, Date today) {
  ProofReport r = proveResidency(config, today);
  if (r.ok()) return {};
  std::string msg = config.source_file + ": residency proof failed (" +
                    std::to_string(r.errors.size()) + " error(s)):";
  for (const auto& e : r.errors) msg += "\n  error[" + e.code + "]: " + e.message;
  return Error::config(msg, "residency_proof_failed");
}

}  // namespace regiongate::residency
