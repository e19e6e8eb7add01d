#include "config/loader.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>

#include "common/host_port.h"
#include "common/peer_string.h"
#include "config/secrets.h"
#include "legal/countries.h"
#include "legal/legal_basis.h"
#include "legal/provider_geographies.h"

namespace regiongate {

namespace {

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}
bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}
bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}
std::string join(std::initializer_list<const char*> items) {
  std::string out;
  for (const char* i : items) {
    if (!out.empty()) out += ", ";
    out += i;
  }
  return out;
}

// Thrown inside the loader only; loadConfigString turns it into an Error at the edge.
struct LoadFailure {
  std::string message;
};

class Loader {
 public:
  Loader(std::string file, LoadOptions options) : file_(std::move(file)), options_(options) {}

  Config load(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
      std::string msg = e.msg;
      throw LoadFailure{file_ + ":" + std::to_string(e.mark.line + 1) +
                        ": YAML syntax error: " + msg};
    }
    if (!root.IsDefined() || root.IsNull())
      throw LoadFailure{file_ + ":1: (top level): config is empty (expected a mapping)"};
    if (!root.IsMap()) fail(root, "(top level)", "expected a mapping of keys");
    cfg_.source_file = file_;
    if (const auto& bad = legal::ProviderGeographies::builtin().error(); !bad.empty())
      throw LoadFailure{file_ + ": the built-in " + bad};

    auto top = entries(
        root, "",
        {"listen", "admin_listen", "tls", "admin_tls", "workers", "gateway", "jurisdictions",
         "regions", "endpoints", "tenants", "routing", "health", "residency", "audit", "limits",
         "rollouts", "rollout", "admin"});
    // Dependency order, not document order: references are checked as they are read.
    if (auto n = get(top, "listen")) cfg_.listen = listenAddr(*n, "listen");
    if (auto n = get(top, "admin_listen")) cfg_.admin_listen = listenAddr(*n, "admin_listen");
    if (auto n = get(top, "tls")) cfg_.tls = listenerTls(*n, "tls");
    if (auto n = get(top, "admin_tls")) cfg_.admin_tls = listenerTls(*n, "admin_tls");
    if (auto n = get(top, "workers")) cfg_.workers = uint(*n, "workers", 1, 1024);
    if (auto n = get(top, "residency")) residency(*n);
    if (auto n = get(top, "jurisdictions")) jurisdictions(*n);
    if (auto n = get(top, "regions")) regions(*n);
    if (auto n = get(top, "gateway")) gateway(*n);
    if (auto n = get(top, "endpoints")) endpoints(*n);
    if (auto n = get(top, "tenants")) tenants(*n);
    if (auto n = get(top, "routing")) routing(*n);
    if (auto n = get(top, "health")) health(*n);
    if (auto n = get(top, "audit")) audit(*n);
    if (auto n = get(top, "limits")) limits(*n);
    if (auto n = get(top, "rollouts")) rollouts(*n);
    if (auto n = get(top, "rollout")) rolloutSettings(*n);
    if (auto n = get(top, "admin")) admin(*n);
    endpointHealthPaths();
    return std::move(cfg_);
  }

 private:
  using Entries = std::map<std::string, std::pair<YAML::Node, YAML::Node>>;  // key -> (key, value)

  int line(const YAML::Node& n) const {
    int l = n.Mark().line;
    return l >= 0 ? l + 1 : 0;
  }
  [[noreturn]] void fail(const YAML::Node& at, const std::string& path, const std::string& msg) {
    int l = line(at);
    throw LoadFailure{file_ + ":" + (l > 0 ? std::to_string(l) : std::string("?")) + ": " + path +
                      ": " + msg};
  }
  [[noreturn]] void failAt(int l, const std::string& path, const std::string& msg) {
    throw LoadFailure{file_ + ":" + std::to_string(l) + ": " + path + ": " + msg};
  }
  static std::string sub(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string idx(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }
  static std::optional<YAML::Node> get(const Entries& e, const std::string& key) {
    auto it = e.find(key);
    if (it == e.end()) return std::nullopt;
    return it->second.second;
  }
  static int keyLine(const Entries& e, const std::string& key) {
    auto it = e.find(key);
    return it == e.end() ? 0 : it->second.first.Mark().line + 1;
  }

  // A mapping's entries, rejecting duplicate keys, non-scalar keys and (when `allowed` is not
  // empty) unknown keys. A null node is an empty mapping (`routing:` with nothing under it).
  Entries entries(const YAML::Node& n, const std::string& path,
                  std::initializer_list<const char*> allowed) {
    Entries out;
    if (n.IsNull()) return out;
    if (!n.IsMap()) fail(n, path.empty() ? "(top level)" : path, "expected a mapping");
    for (auto it = n.begin(); it != n.end(); ++it) {
      YAML::Node k = it->first;  // a copy: operator-> returns a temporary proxy
      if (!k.IsScalar()) fail(k, path.empty() ? "(top level)" : path, "keys must be plain strings");
      const std::string& key = k.Scalar();
      if (allowed.size() > 0 &&
          std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }))
        fail(k, sub(path, key), "unknown key (expected one of: " + join(allowed) + ")");
      if (out.count(key))
        fail(k, sub(path, key),
             "duplicate key (first at line " + std::to_string(keyLine(out, key)) + ")");
      out.emplace(key, std::make_pair(k, it->second));
    }
    return out;
  }
  // Same, for mappings whose keys are user names (jurisdictions, regions): document order kept.
  std::vector<std::pair<YAML::Node, YAML::Node>> namedEntries(const YAML::Node& n,
                                                              const std::string& path) {
    std::vector<std::pair<YAML::Node, YAML::Node>> out;
    if (n.IsNull()) return out;
    if (!n.IsMap()) fail(n, path, "expected a mapping of NAME: {...}");
    std::map<std::string, int> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      YAML::Node k = it->first;  // a copy: operator-> returns a temporary proxy
      if (!k.IsScalar() || k.Scalar().empty()) fail(k, path, "names must be non-empty strings");
      auto [pos, fresh] = seen.emplace(k.Scalar(), line(k));
      if (!fresh)
        fail(k, sub(path, k.Scalar()),
             "duplicate name (first at line " + std::to_string(pos->second) + ")");
      out.emplace_back(k, it->second);
    }
    return out;
  }

  std::string str(const YAML::Node& n, const std::string& path, bool allow_empty = false) {
    if (!n.IsScalar()) fail(n, path, n.IsNull() ? "missing value" : "expected a string");
    if (!allow_empty && n.Scalar().empty()) fail(n, path, "must not be empty");
    return n.Scalar();
  }
  uint64_t uint(const YAML::Node& n, const std::string& path, uint64_t min, uint64_t max) {
    if (!n.IsScalar()) fail(n, path, "expected a whole number");
    const std::string& s = n.Scalar();
    if (s.empty() || s.size() > 19 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      fail(n, path, "expected a whole number, got '" + s + "'");
    uint64_t v = std::stoull(s);
    if (v < min || v > max)
      fail(n, path,
           "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
    return v;
  }
  bool boolean(const YAML::Node& n, const std::string& path) {
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    fail(n, path, "expected true or false");
  }
  std::string oneOf(const YAML::Node& n, const std::string& path,
                    std::initializer_list<const char*> values) {
    std::string s = str(n, path);
    if (std::none_of(values.begin(), values.end(), [&](const char* v) { return s == v; }))
      fail(n, path, "'" + s + "' is not one of: " + join(values));
    return s;
  }
  // A config choice parsed into its enum E (values 0..N-1, named by `name`).
  template <class E, size_t N>
  E choice(const YAML::Node& n, const std::string& path, std::string_view (*name)(E)) {
    const std::string s = str(n, path);
    std::string names;
    for (size_t i = 0; i < N; ++i) {
      if (s == name(E(i))) return E(i);
      names += (i ? ", " : "") + std::string(name(E(i)));
    }
    fail(n, path, "'" + s + "' is not one of: " + names);
  }
  std::vector<std::pair<YAML::Node, std::string>> strList(const YAML::Node& n,
                                                          const std::string& path) {
    std::vector<std::pair<YAML::Node, std::string>> out;
    if (n.IsNull()) return out;
    if (!n.IsSequence()) fail(n, path, "expected a list, e.g. [a, b]");
    for (size_t i = 0; i < n.size(); ++i) out.emplace_back(n[i], str(n[i], idx(path, i)));
    return out;
  }
  template <class T>
  T check(const YAML::Node& n, const std::string& path, Result<T> r) {
    if (!r.ok()) fail(n, path, r.error().message);
    return std::move(r).value();
  }
  std::string listenAddr(const YAML::Node& n, const std::string& path) {
    std::string s = str(n, path);
    check(n, path, parseListenAddress(s));
    return s;
  }
  // A file path for a TLS setting: non-empty, no control characters.
  std::string tlsFile(const YAML::Node& n, const std::string& path) {
    std::string s = str(n, path);
    if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
      fail(n, path, "must not contain control characters");
    return s;
  }
  ListenerTlsConfig listenerTls(const YAML::Node& n, const std::string& path) {
    auto e = entries(n, path, {"cert_file", "key_file", "client_ca_file"});
    ListenerTlsConfig t;
    for (const char* req : {"cert_file", "key_file"})
      if (!e.count(req))
        fail(n, sub(path, req), "missing (a TLS listener needs a certificate and its key)");
    t.cert_file = tlsFile(*get(e, "cert_file"), path + ".cert_file");
    t.key_file = tlsFile(*get(e, "key_file"), path + ".key_file");
    if (auto v = get(e, "client_ca_file")) t.client_ca_file = tlsFile(*v, path + ".client_ca_file");
    return t;
  }
  EndpointTlsConfig endpointTls(const YAML::Node& n, const std::string& path) {
    auto e = entries(n, path, {"ca_file", "server_name", "client_cert_file", "client_key_file"});
    EndpointTlsConfig t;
    if (auto v = get(e, "ca_file")) t.ca_file = tlsFile(*v, path + ".ca_file");
    if (auto v = get(e, "server_name")) {
      t.server_name = str(*v, path + ".server_name");
      if (!std::all_of(t.server_name.begin(), t.server_name.end(),
                       [](char c) { return isTokenChar(c) || c == ':'; }))
        fail(*v, path + ".server_name", "expected a DNS name or an IP address");
    }
    if (auto v = get(e, "client_cert_file"))
      t.client_cert_file = tlsFile(*v, path + ".client_cert_file");
    if (auto v = get(e, "client_key_file"))
      t.client_key_file = tlsFile(*v, path + ".client_key_file");
    if (t.client_cert_file.empty() != t.client_key_file.empty())
      fail(n, path, "client_cert_file and client_key_file go together (mTLS needs both)");
    return t;
  }

  // An ISO code or a preset name, expanded into `out`.
  void countryOrPreset(const YAML::Node& n, const std::string& path, const std::string& s,
                       std::set<std::string>& out) {
    if (const auto* p = legal::findPreset(s)) {
      for (const auto& b : p->countries) out.emplace(b.country);
      return;
    }
    out.insert(countryCode(n, path, s));
  }
  std::string countryCode(const YAML::Node& n, const std::string& path, const std::string& s) {
    const auto* c = legal::findCountry(s);
    if (c == nullptr) fail(n, path, "'" + s + "' is not an ISO 3166-1 alpha-2 country code");
    return std::string(c->code);
  }

  void residency(const YAML::Node& n) {
    auto e = entries(n, "residency", {"on_violation", "require_evidence", "geo_labels"});
    auto& r = cfg_.residency;
    if (auto v = get(e, "on_violation"))
      r.on_violation = choice<ViolationMode, 2>(*v, "residency.on_violation", violationModeName);
    if (auto v = get(e, "require_evidence"))
      r.require_evidence = boolean(*v, "residency.require_evidence");
    if (auto v = get(e, "geo_labels")) {
      for (auto& [k, val] : namedEntries(*v, "residency.geo_labels")) {
        std::string path = "residency.geo_labels." + k.Scalar();
        std::string label = lower(k.Scalar());
        if (r.geo_labels.count(label))
          fail(k, path, "duplicate label (labels are compared case-insensitively)");
        auto& set = r.geo_labels[label];
        auto items = strList(val, path);
        if (items.empty()) fail(val, path, "list at least one country code or preset");
        for (size_t i = 0; i < items.size(); ++i)
          countryOrPreset(items[i].first, idx(path, i), items[i].second, set);
      }
    }
  }

  void jurisdictions(const YAML::Node& n) {
    for (auto& [k, val] : namedEntries(n, "jurisdictions")) {
      JurisdictionConfig j;
      j.name = k.Scalar();
      j.loc = {file_, line(k)};
      std::string path = "jurisdictions." + j.name;
      if (!isToken(j.name)) fail(k, path, "name may use only letters, digits, '-', '_' and '.'");
      auto e = entries(val, path, {"preset", "countries"});
      if (auto v = get(e, "preset")) {
        j.preset = str(*v, path + ".preset");
        const auto* p = legal::findPreset(j.preset);
        if (p == nullptr)
          fail(*v, path + ".preset",
               "unknown preset '" + j.preset + "' (known: EEA, EU, EEA+adequacy)");
        for (const auto& b : p->countries) j.resolved.emplace(b.country);
      }
      if (auto v = get(e, "countries")) {
        auto items = strList(*v, path + ".countries");
        for (size_t i = 0; i < items.size(); ++i) {
          std::string code =
              countryCode(items[i].first, idx(path + ".countries", i), items[i].second);
          j.countries.push_back(code);
          j.resolved.insert(code);
        }
      }
      if (j.resolved.empty())
        fail(k, path, "a jurisdiction needs a preset or at least one country");
      cfg_.jurisdictions.push_back(std::move(j));
    }
  }

  void regions(const YAML::Node& n) {
    for (auto& [k, val] : namedEntries(n, "regions")) {
      RegionConfig r;
      r.name = k.Scalar();
      r.loc = {file_, line(k)};
      std::string path = "regions." + r.name;
      if (!isToken(r.name)) fail(k, path, "name may use only letters, digits, '-', '_' and '.'");
      auto e = entries(val, path, {"country"});
      // A region without a country loads (so `check` can name every endpoint it strands) but
      // fails the residency proof: nothing can be proven about where it is.
      if (auto v = get(e, "country")) {
        std::string s = str(*v, path + ".country");
        r.country = countryCode(*v, path + ".country", s);
      }
      cfg_.regions.push_back(std::move(r));
    }
  }

  void gateway(const YAML::Node& n) {
    auto e = entries(n, "gateway", {"region"});
    if (auto v = get(e, "region")) {
      cfg_.gateway_region = str(*v, "gateway.region");
      if (!cfg_.region(cfg_.gateway_region))
        fail(*v, "gateway.region", "unknown region '" + cfg_.gateway_region + "'" + regionHint());
    }
  }
  std::string regionHint() const {
    if (cfg_.regions.empty()) return " (no regions are declared under 'regions')";
    std::string out = " (declared: ";
    for (size_t i = 0; i < cfg_.regions.size() && i < 8; ++i)
      out += (i ? ", " : "") + cfg_.regions[i].name;
    return out + (cfg_.regions.size() > 8 ? ", ...)" : ")");
  }

  void endpoints(const YAML::Node& n) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) fail(n, "endpoints", "expected a list of endpoints");
    std::map<std::string, size_t> names;
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node& en = n[i];
      std::string path = idx("endpoints", i);
      auto e = entries(en, path,
                       {"name", "url", "region", "models", "evidence", "forwards", "provider",
                        "credential", "weight", "max_connections", "api", "credential_env",
                        "credential_file", "allow_inline_credential", "health_path", "azure",
                        "bedrock", "anthropic", "openai", "tls"});
      if (en.IsNull()) fail(en, path, "empty endpoint");
      EndpointConfig ep;
      ep.loc = {file_, line(en)};
      for (const char* req : {"name", "url", "region", "models"})
        if (!e.count(req)) fail(en, sub(path, req), "missing (required for every endpoint)");
      auto nameNode = *get(e, "name");
      ep.name = str(nameNode, path + ".name");
      if (!isToken(ep.name))
        fail(nameNode, path + ".name", "name may use only letters, digits, '-', '_' and '.'");
      if (auto [pos, fresh] = names.emplace(ep.name, i); !fresh)
        fail(nameNode, path + ".name",
             "duplicate endpoint name '" + ep.name + "' (also endpoints[" +
                 std::to_string(pos->second) + "])");
      auto urlNode = *get(e, "url");
      ep.url = str(urlNode, path + ".url");
      auto url = check(urlNode, path + ".url", parseEndpointUrl(ep.url));
      ep.host = url.host;
      ep.port = url.port;
      ep.base_path = url.base_path;
      ep.https = url.https;
      if (auto v = get(e, "tls")) {
        if (!ep.https)
          fail(*v, path + ".tls", "only an https:// url takes tls settings (url is '" + ep.url + "')");
        ep.tls = endpointTls(*v, path + ".tls");
      }
      auto regionNode = *get(e, "region");
      ep.region = str(regionNode, path + ".region");
      if (!cfg_.region(ep.region))
        fail(regionNode, path + ".region", "unknown region '" + ep.region + "'" + regionHint());
      auto modelsNode = *get(e, "models");
      auto models = strList(modelsNode, path + ".models");
      if (models.empty()) fail(modelsNode, path + ".models", "list at least one model");
      for (size_t m = 0; m < models.size(); ++m) {
        std::string mpath = idx(path + ".models", m);
        ModelRef ref = check(models[m].first, mpath, parseModelRef(models[m].second));
        for (const auto& prev : ep.models)
          if (prev.name == ref.name && prev.version == ref.version)
            fail(models[m].first, mpath, "model '" + models[m].second + "' listed twice");
        ep.models.push_back(std::move(ref));
      }
      if (auto v = get(e, "api"))
        ep.api = upstreamApi(*v, path + ".api");
      applyApiDefaults(ep);
      if (auto v = get(e, "evidence"))
        ep.evidence = check(*v, path + ".evidence", parseEvidence(str(*v, path + ".evidence")));
      if (auto v = get(e, "forwards")) {
        ep.forwards = str(*v, path + ".forwards");
        if (ep.forwards.rfind("geo:", 0) == 0) {
          std::string label = ep.forwards.substr(4);
          if (!isToken(label)) fail(*v, path + ".forwards", "expected geo:LABEL, e.g. geo:eu");
          ep.forwards = "geo:" + lower(label);
        } else if (ep.forwards != "none" && ep.forwards != "global") {
          fail(*v, path + ".forwards",
               "'" + ep.forwards + "' is not one of: none, global, geo:LABEL");
        }
      }
      if (auto v = get(e, "provider"))
        ep.provider = oneOf(*v, path + ".provider", {"self", "third_party"});
      endpointCredential(e, en, path, ep);
      providerSettings(e, path, ep);
      if (auto v = get(e, "health_path")) explicit_health_[cfg_.endpoints.size()] =
          healthPath(*v, path + ".health_path");
      if (auto v = get(e, "weight"))
        ep.weight = static_cast<uint32_t>(uint(*v, path + ".weight", 1, 1000000));
      if (auto v = get(e, "max_connections"))
        ep.max_connections = static_cast<uint32_t>(uint(*v, path + ".max_connections", 1, 1000000));
      cfg_.endpoints.push_back(std::move(ep));
    }
  }

  UpstreamApi upstreamApi(const YAML::Node& n, const std::string& path) {
    std::string s = oneOf(n, path, {"openai_compatible", "openai", "azure_openai", "anthropic",
                                    "bedrock"});
    for (UpstreamApi a : {UpstreamApi::OpenAiCompatible, UpstreamApi::OpenAi,
                          UpstreamApi::AzureOpenAi, UpstreamApi::Anthropic, UpstreamApi::Bedrock})
      if (upstreamApiName(a) == s) return a;
    return UpstreamApi::OpenAiCompatible;
  }

  // Defaults that depend on `api` (explicit keys read afterwards override them): managed
  // providers are third parties, and Azure and Anthropic report where inference ran.
  static void applyApiDefaults(EndpointConfig& ep) {
    if (ep.api == UpstreamApi::OpenAiCompatible) return;
    ep.provider = "third_party";
    if (ep.api == UpstreamApi::AzureOpenAi)
      ep.evidence = *parseEvidence("header:x-ms-region");
    else if (ep.api == UpstreamApi::Anthropic)
      ep.evidence = *parseEvidence("body:usage.inference_geo");
  }

  std::string healthPath(const YAML::Node& n, const std::string& path) {
    std::string s = str(n, path);
    if (s == "none") return "";
    if (s[0] != '/' || s.find_first_of(" \r\n") != std::string::npos)
      fail(n, path, "expected an absolute path such as /health, or none");
    return s;
  }

  // credential_env / credential_file, or an inline `credential` (refused unless
  // allow_inline_credential: true). The secret never appears in a message.
  void endpointCredential(const Entries& e, const YAML::Node& en, const std::string& path,
                          EndpointConfig& ep) {
    int sources = (e.count("credential") ? 1 : 0) + (e.count("credential_env") ? 1 : 0) +
                  (e.count("credential_file") ? 1 : 0);
    if (sources > 1)
      fail(en, path, "set at most one of credential, credential_env and credential_file");
    bool allow_inline = false;
    if (auto v = get(e, "allow_inline_credential"))
      allow_inline = boolean(*v, path + ".allow_inline_credential");
    if (auto v = get(e, "credential")) {
      if (!allow_inline)
        fail(*v, path + ".credential",
             "an inline secret in the config is refused: use credential_env or credential_file "
             "(or set allow_inline_credential: true)");
      if (ep.api != UpstreamApi::OpenAiCompatible && ep.api != UpstreamApi::OpenAi)
        fail(*v, path + ".credential",
             "an inline credential is an Authorization value: only for api openai_compatible or "
             "openai; use credential_env or credential_file");
      std::string c = str(*v, path + ".credential", true);
      if (c.find_first_of("\r\n") != std::string::npos)
        fail(*v, path + ".credential", "must not contain line breaks");
      ep.secret = {c, "inline"};
      ep.credential = c;  // the full Authorization value, as before
      return;
    }
    if (auto v = get(e, "credential_env")) {
      std::string name = str(*v, path + ".credential_env");
      ep.secret = options_.read_secrets ? check(*v, path + ".credential_env", secretFromEnv(name))
                                        : Secret{"", "env:" + name};
    } else if (auto f = get(e, "credential_file")) {
      std::string file = str(*f, path + ".credential_file");
      ep.secret = options_.read_secrets ? check(*f, path + ".credential_file", secretFromFile(file))
                                        : Secret{"", "file:" + file};
    } else {
      return;
    }
    if (ep.secret.empty()) return;  // named, not read (check)
    // The generic request path sends Authorization: Bearer for these; the Azure and Anthropic
    // adapters put the secret in their own header, and Bedrock signs unless auth is api_key.
    if (ep.api == UpstreamApi::OpenAiCompatible || ep.api == UpstreamApi::OpenAi)
      ep.credential = "Bearer " + ep.secret.value;
  }

  void providerSettings(const Entries& e, const std::string& path, EndpointConfig& ep) {
    struct Block {
      const char* key;
      UpstreamApi api;
    };
    for (Block b : {Block{"azure", UpstreamApi::AzureOpenAi}, Block{"bedrock", UpstreamApi::Bedrock},
                    Block{"anthropic", UpstreamApi::Anthropic}, Block{"openai", UpstreamApi::OpenAi}})
      if (auto v = get(e, b.key); v && ep.api != b.api)
        fail(*v, path + "." + b.key,
             std::string("only for api: ") + std::string(upstreamApiName(b.api)));
    switch (ep.api) {
      case UpstreamApi::AzureOpenAi:
        azureSettings(get(e, "azure"), path + ".azure", ep);
        break;
      case UpstreamApi::Bedrock:
        bedrockSettings(get(e, "bedrock"), path + ".bedrock", ep);
        break;
      case UpstreamApi::Anthropic:
        anthropicSettings(get(e, "anthropic"), path + ".anthropic", ep);
        break;
      case UpstreamApi::OpenAi:
        openaiSettings(get(e, "openai"), path + ".openai", ep);
        break;
      case UpstreamApi::OpenAiCompatible:
        break;
    }
    bool needs_secret = ep.api == UpstreamApi::AzureOpenAi || ep.api == UpstreamApi::Anthropic ||
                        ep.api == UpstreamApi::OpenAi ||
                        (ep.api == UpstreamApi::Bedrock && ep.bedrock.auth == "api_key");
    if (needs_secret && ep.secret.source.empty())
      failAt(ep.loc.line, path,
             "api: " + std::string(upstreamApiName(ep.api)) +
                 " needs a credential: set credential_env or credential_file");
  }

  void azureSettings(const std::optional<YAML::Node>& n, const std::string& path,
                     EndpointConfig& ep) {
    auto& a = ep.azure;
    if (!n) return;
    auto e = entries(*n, path, {"deployment", "api_version", "deployment_type"});
    if (auto v = get(e, "deployment")) {
      a.deployment = str(*v, path + ".deployment");
      if (!isToken(a.deployment))
        fail(*v, path + ".deployment", "may use only letters, digits, '-', '_' and '.'");
    }
    if (auto v = get(e, "api_version")) {
      a.api_version = str(*v, path + ".api_version");
      if (!isToken(a.api_version))
        fail(*v, path + ".api_version", "may use only letters, digits, '-', '_' and '.'");
    }
    if (!a.deployment.empty() && a.api_version.empty())
      fail(*n, path + ".api_version", "required with deployment (the deployment path needs it)");
    if (a.deployment.empty() && !a.api_version.empty())
      fail(*n, path + ".api_version", "only with deployment (the v1 path takes no api-version)");
    if (auto v = get(e, "deployment_type")) {
      a.deployment_type = oneOf(*v, path + ".deployment_type", {"standard", "data_zone", "global"});
      if (a.deployment_type == "data_zone" && azureDataZone(ep).empty())
        fail(*v, path + ".deployment_type",
             "data_zone needs the endpoint's region in an EU member state or the US (the two "
             "Azure data zones of the provider geographies table)");
    }
  }
  // "eu" or "us": the data zone of the endpoint's country, "" if neither.
  std::string azureDataZone(const EndpointConfig& ep) const {
    const RegionConfig* r = cfg_.region(ep.region);
    if (!r) return "";
    const auto& table = legal::ProviderGeographies::builtin();
    for (const char* zone : {"eu", "us"})
      if (const auto* g = table.find("azure", "data_zone", zone))
        if (std::binary_search(g->countries.begin(), g->countries.end(), r->country)) return zone;
    return "";
  }

  void bedrockSettings(const std::optional<YAML::Node>& n, const std::string& path,
                       EndpointConfig& ep) {
    auto& b = ep.bedrock;
    std::optional<std::string> file, profile;
    int line_no = ep.loc.line;
    if (n) {
      line_no = line(*n);
      auto e = entries(*n, path, {"region", "auth", "credentials_file", "profile"});
      if (auto v = get(e, "region")) b.region = str(*v, path + ".region");
      if (auto v = get(e, "auth")) b.auth = oneOf(*v, path + ".auth", {"sigv4", "api_key"});
      if (auto v = get(e, "credentials_file")) file = str(*v, path + ".credentials_file");
      if (auto v = get(e, "profile")) profile = str(*v, path + ".profile");
    }
    if (b.region.empty()) b.region = regionFromBedrockHost(ep.host);
    if (b.region.empty() || !isToken(b.region))
      failAt(line_no, path + ".region",
             "required (the AWS region requests are signed for) unless the URL host is "
             "bedrock-runtime.REGION.amazonaws.com");
    if (b.auth == "api_key") {
      if (file || profile)
        failAt(line_no, path, "credentials_file and profile are for auth: sigv4");
      if (!ep.secret.empty()) ep.credential = "Bearer " + ep.secret.value;
      return;
    }
    if (!ep.secret.source.empty())
      failAt(line_no, path + ".auth",
             "credential_env/credential_file hold a Bedrock API key: set auth: api_key (SigV4 "
             "reads AWS credentials from the environment or bedrock.credentials_file)");
    if (!options_.read_secrets) return;
    auto creds = file ? awsCredentialsFromFile(*file, profile.value_or("default"))
                      : awsCredentialsFromEnv();
    if (!creds.ok()) failAt(line_no, path, creds.error().message);
    b.aws = std::move(*creds);
  }
  static std::string regionFromBedrockHost(const std::string& host) {
    const std::string prefix = "bedrock-runtime.", suffix = ".amazonaws.com";
    if (host.size() <= prefix.size() + suffix.size() || host.rfind(prefix, 0) != 0 ||
        host.compare(host.size() - suffix.size(), suffix.size(), suffix) != 0)
      return "";
    return host.substr(prefix.size(), host.size() - prefix.size() - suffix.size());
  }

  void anthropicSettings(const std::optional<YAML::Node>& n, const std::string& path,
                         EndpointConfig& ep) {
    auto& a = ep.anthropic;
    const auto& table = legal::ProviderGeographies::builtin();
    if (n) {
      auto e = entries(*n, path, {"version", "inference_geo"});
      if (auto v = get(e, "version")) {
        a.version = str(*v, path + ".version");
        if (!isToken(a.version))
          fail(*v, path + ".version", "may use only letters, digits, '-', '_' and '.'");
      }
      if (auto v = get(e, "inference_geo")) {
        for (auto& [k, val] : namedEntries(*v, path + ".inference_geo")) {
          std::string kpath = path + ".inference_geo." + k.Scalar();
          const JurisdictionConfig* j = cfg_.jurisdiction(k.Scalar());
          if (!j) fail(k, kpath, "unknown jurisdiction '" + k.Scalar() + "'");
          std::string geo = str(val, kpath);
          const auto* g = table.find("anthropic", "inference_geo", geo);
          if (!g) fail(val, kpath, "'" + geo + "' is not an inference_geo of the provider "
                                   "geographies table");
          if (g->anywhere || !std::all_of(g->countries.begin(), g->countries.end(),
                                          [&](const std::string& c) { return j->resolved.count(c); }))
            fail(val, kpath, "inference_geo '" + geo + "' reaches outside jurisdiction " + j->name);
          a.inference_geo[j->name] = geo;
        }
      }
    }
    // Every other jurisdiction: the narrowest table geography wholly inside it, if any.
    for (const auto& j : cfg_.jurisdictions) {
      if (a.inference_geo.count(j.name)) continue;
      const legal::ProviderGeography* best = nullptr;
      for (const auto& g : table.all()) {
        if (g.provider != "anthropic" || g.kind != "inference_geo" || g.anywhere) continue;
        bool inside = std::all_of(g.countries.begin(), g.countries.end(),
                                  [&](const std::string& c) { return j.resolved.count(c) > 0; });
        if (inside && (!best || g.countries.size() < best->countries.size())) best = &g;
      }
      if (best) a.inference_geo[j.name] = best->name;
    }
  }

  void openaiSettings(const std::optional<YAML::Node>& n, const std::string& path,
                      EndpointConfig& ep) {
    auto& o = ep.openai;
    const auto& table = legal::ProviderGeographies::builtin();
    if (n) {
      auto e = entries(*n, path, {"residency"});
      if (auto v = get(e, "residency")) {
        o.residency = str(*v, path + ".residency");
        if (!table.find("openai", "residency", o.residency))
          fail(*v, path + ".residency",
               "'" + o.residency + "' is not an OpenAI residency region of the provider "
               "geographies table");
      }
    }
    if (!o.residency.empty()) return;
    // The regional hosts are REGION.api.openai.com; api.openai.com is global.
    const std::string suffix = ".api.openai.com";
    if (ep.host == "api.openai.com") {
      o.residency = "global";
    } else if (ep.host.size() > suffix.size() &&
               ep.host.compare(ep.host.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string prefix = ep.host.substr(0, ep.host.size() - suffix.size());
      if (table.find("openai", "residency", prefix)) o.residency = prefix;
    }
    if (o.residency.empty())
      failAt(ep.loc.line, path + ".residency",
             "required: the host is not one of OpenAI's residency hosts the provider geographies "
             "table lists (REGION.api.openai.com)");
  }

  void tenants(const YAML::Node& n) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) fail(n, "tenants", "expected a list of tenants");
    std::map<std::string, size_t> names, keys;
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node& tn = n[i];
      std::string path = idx("tenants", i);
      auto e = entries(
          tn, path, {"name", "key_sha256", "jurisdiction", "store_text", "allow_mixed_versions"});
      if (tn.IsNull()) fail(tn, path, "empty tenant");
      for (const char* req : {"name", "key_sha256", "jurisdiction"})
        if (!e.count(req)) fail(tn, sub(path, req), "missing (required for every tenant)");
      TenantConfig t;
      t.loc = {file_, line(tn)};
      auto nameNode = *get(e, "name");
      t.name = str(nameNode, path + ".name");
      if (auto [pos, fresh] = names.emplace(t.name, i); !fresh)
        fail(nameNode, path + ".name",
             "duplicate tenant name '" + t.name + "' (also tenants[" + std::to_string(pos->second) +
                 "])");
      auto keyNode = *get(e, "key_sha256");
      t.key_sha256 = lower(str(keyNode, path + ".key_sha256"));
      if (t.key_sha256.size() != 64 || !isHex(t.key_sha256))
        fail(keyNode, path + ".key_sha256",
             "expected 64 hex characters (the SHA-256 of the bearer key, e.g. from "
             "`printf %s KEY | sha256sum`), got " +
                 std::to_string(t.key_sha256.size()) + " characters");
      if (auto [pos, fresh] = keys.emplace(t.key_sha256, i); !fresh)
        fail(keyNode, path + ".key_sha256",
             "same key as tenant '" + cfg_.tenants[pos->second].name + "' (tenants[" +
                 std::to_string(pos->second) + "]): keys must identify one tenant");
      auto jNode = *get(e, "jurisdiction");
      t.jurisdiction = str(jNode, path + ".jurisdiction");
      if (!cfg_.jurisdiction(t.jurisdiction)) {
        std::string known;
        for (const auto& j : cfg_.jurisdictions) known += (known.empty() ? "" : ", ") + j.name;
        fail(jNode, path + ".jurisdiction",
             "unknown jurisdiction '" + t.jurisdiction + "'" +
                 (known.empty() ? " (none declared under 'jurisdictions')"
                                : " (declared: " + known + ")"));
      }
      if (auto v = get(e, "store_text")) t.store_text = boolean(*v, path + ".store_text");
      if (auto v = get(e, "allow_mixed_versions"))
        t.allow_mixed_versions = boolean(*v, path + ".allow_mixed_versions");
      cfg_.tenants.push_back(std::move(t));
    }
  }

  void admin(const YAML::Node& n) {
    auto e = entries(n, "admin", {"tokens", "public"});
    if (auto v = get(e, "tokens")) adminTokens(*v);
    if (auto v = get(e, "public")) {
      cfg_.admin.public_paths.clear();
      for (auto& [node, p] : strList(*v, "admin.public")) {
        if (p.empty() || p.front() != '/' || p.find_first_of("?# \t\r\n") != std::string::npos)
          fail(node, "admin.public", "'" + p + "' is not an absolute path (e.g. /metrics)");
        cfg_.admin.public_paths.push_back(p);
      }
    }
  }

  void adminTokens(const YAML::Node& n) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) fail(n, "admin.tokens", "expected a list of tokens");
    std::map<std::string, size_t> names, digests;
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node& tn = n[i];
      std::string path = idx("admin.tokens", i);
      auto e = entries(tn, path, {"name", "sha256", "scope"});
      if (tn.IsNull()) fail(tn, path, "empty token");
      for (const char* req : {"name", "sha256", "scope"})
        if (!e.count(req)) fail(tn, sub(path, req), "missing (required for every admin token)");
      AdminTokenConfig t;
      t.loc = {file_, line(tn)};
      auto nameNode = *get(e, "name");
      t.name = str(nameNode, path + ".name");
      if (!isToken(t.name))
        fail(nameNode, path + ".name", "use letters, digits, '-', '_' and '.' only");
      if (auto [pos, fresh] = names.emplace(t.name, i); !fresh)
        fail(nameNode, path + ".name",
             "duplicate token name (also admin.tokens[" + std::to_string(pos->second) + "])");
      auto digestNode = *get(e, "sha256");
      t.sha256 = lower(str(digestNode, path + ".sha256"));
      if (t.sha256.size() != 64 || !isHex(t.sha256))
        fail(digestNode, path + ".sha256",
             "expected 64 hex characters (the SHA-256 of the token, e.g. from "
             "`printf %s TOKEN | sha256sum`), got " + std::to_string(t.sha256.size()) +
                 " characters");
      if (auto [pos, fresh] = digests.emplace(t.sha256, i); !fresh)
        fail(digestNode, path + ".sha256",
             "same token as admin.tokens[" + std::to_string(pos->second) + "]");
      t.scope = oneOf(*get(e, "scope"), path + ".scope", {"read", "operate"}) == "operate"
                    ? AdminScope::Operate
                    : AdminScope::Read;
      cfg_.admin.tokens.push_back(std::move(t));
    }
  }

  void routing(const YAML::Node& n) {
    auto e = entries(n, "routing",
                     {"policy", "retries", "upstream_timeout_ms", "per_try_timeout_ms",
                      "block_chars", "index_capacity_blocks", "index_ttl_ms", "hash_key_blocks",
                      "virtual_nodes", "bounded_load_factor", "balance_abs_threshold",
                      "balance_rel_threshold", "cache_threshold", "default_prefill_ms_per_token",
                      "service_ms_per_request", "fixed_ms", "learn_alpha", "miss_weight", "share"});
    auto& r = cfg_.routing;
    if (auto v = get(e, "policy")) r.policy = policyKind(*v);
    policyOptions(e, r.policy_options);
    if (auto v = get(e, "retries")) r.retries = uint32(*v, "routing.retries", 0, 16);
    if (auto v = get(e, "upstream_timeout_ms"))
      r.upstream_timeout_ms = uint32(*v, "routing.upstream_timeout_ms", 1, 3600000);
    if (auto v = get(e, "per_try_timeout_ms"))
      r.per_try_timeout_ms = uint32(*v, "routing.per_try_timeout_ms", 1, 3600000);
    if (auto v = get(e, "block_chars")) r.block_chars = uint32(*v, "routing.block_chars", 1, 65536);
    if (auto v = get(e, "share")) routeShare(*v, r.share);
  }
  void routeShare(const YAML::Node& n, RouteShareConfig& s) {
    auto e = entries(n, "routing.share", {"workers", "dsn", "flush_ms", "queue_capacity"});
    s.enabled = true;
    if (auto v = get(e, "workers")) s.workers = boolean(*v, "routing.share.workers");
    if (auto v = get(e, "dsn")) {
      for (auto& [k, val] : namedEntries(*v, "routing.share.dsn")) {
        std::string path = "routing.share.dsn." + k.Scalar();
        if (!cfg_.jurisdiction(k.Scalar()))
          fail(k, path, "unknown jurisdiction '" + k.Scalar() + "'");
        // The jurisdiction names the NOTIFY channel (at most 63 bytes) and the payload header.
        if (k.Scalar().size() > 40 || !isValidPeerString(kRegionString, k.Scalar()))
          fail(k, path, "a shared jurisdiction's name must be 1-40 letters, digits, '.', '_', '-'");
        s.dsn[k.Scalar()] = str(val, path);
      }
    }
    if (auto v = get(e, "flush_ms")) s.flush_ms = uint32(*v, "routing.share.flush_ms", 1, 10000);
    if (auto v = get(e, "queue_capacity"))
      s.queue_capacity = uint32(*v, "routing.share.queue_capacity", 1, 1u << 20);
  }
  // Explicit `health_path` values win; otherwise openai_compatible endpoints use health.path and
  // managed providers (which have no health route) get none.
  void endpointHealthPaths() {
    for (size_t i = 0; i < cfg_.endpoints.size(); ++i) {
      auto& ep = cfg_.endpoints[i];
      auto it = explicit_health_.find(i);
      if (it != explicit_health_.end())
        ep.health_path = it->second;
      else
        ep.health_path = ep.api == UpstreamApi::OpenAiCompatible ? cfg_.health.path : "";
    }
  }

  routing::PolicyKind policyKind(const YAML::Node& n) {
    const std::string s = str(n, "routing.policy");
    auto parsed = routing::parsePolicyName(s);
    if (!parsed) {
      std::string names;
      for (auto name : routing::policyNames())
        names += (names.empty() ? "" : ", ") + std::string(name);
      fail(n, "routing.policy", "'" + s + "' is not one of: " + names);
    }
    if (parsed->deprecated)
      spdlog::warn("{}:{}: routing.policy '{}' is deprecated, use '{}' (docs/routing.md)", file_,
                   n.Mark().line + 1, s, routing::policyName(parsed->kind));
    return parsed->kind;
  }
  // Every routing::PolicyOptions field, same names (docs/routing.md "Options").
  void policyOptions(const Entries& e, routing::PolicyOptions& o) {
    if (auto v = get(e, "index_capacity_blocks"))
      o.index_capacity_blocks = uint(*v, "routing.index_capacity_blocks", 1, 1u << 30);
    if (auto v = get(e, "index_ttl_ms"))
      o.index_ttl_ms = uint(*v, "routing.index_ttl_ms", 1, 1ull << 40);
    if (auto v = get(e, "hash_key_blocks"))
      o.hash_key_blocks = uint32(*v, "routing.hash_key_blocks", 1, 1024);
    if (auto v = get(e, "virtual_nodes"))
      o.virtual_nodes = uint32(*v, "routing.virtual_nodes", 1, 4096);
    if (auto v = get(e, "bounded_load_factor"))
      o.bounded_load_factor = fraction(*v, "routing.bounded_load_factor", 100);
    if (auto v = get(e, "balance_abs_threshold"))
      o.balance_abs_threshold = uint32(*v, "routing.balance_abs_threshold", 0, 1u << 20);
    if (auto v = get(e, "balance_rel_threshold"))
      o.balance_rel_threshold = fraction(*v, "routing.balance_rel_threshold", 1000);
    if (auto v = get(e, "cache_threshold"))
      o.cache_threshold = fraction(*v, "routing.cache_threshold", 1);
    if (auto v = get(e, "default_prefill_ms_per_token"))
      o.default_prefill_ms_per_token = fraction(*v, "routing.default_prefill_ms_per_token", 1000);
    if (auto v = get(e, "service_ms_per_request"))
      o.service_ms_per_request = fraction(*v, "routing.service_ms_per_request", 1e6);
    if (auto v = get(e, "fixed_ms")) o.fixed_ms = fraction(*v, "routing.fixed_ms", 1e6);
    if (auto v = get(e, "learn_alpha")) o.learn_alpha = fraction(*v, "routing.learn_alpha", 1);
    if (auto v = get(e, "miss_weight")) o.miss_weight = fraction(*v, "routing.miss_weight", 1000);
  }
  uint32_t uint32(const YAML::Node& n, const std::string& path, uint32_t min, uint32_t max) {
    return static_cast<uint32_t>(uint(n, path, min, max));
  }

  void health(const YAML::Node& n) {
    auto e = entries(n, "health",
                     {"consecutive_failures", "base_ejection_ms", "max_ejection_ms", "path",
                      "interval_ms", "timeout_ms"});
    auto& h = cfg_.health;
    if (auto v = get(e, "consecutive_failures"))
      h.consecutive_failures = uint32(*v, "health.consecutive_failures", 1, 1000);
    if (auto v = get(e, "base_ejection_ms"))
      h.base_ejection_ms = uint32(*v, "health.base_ejection_ms", 1, 3600000);
    if (auto v = get(e, "max_ejection_ms"))
      h.max_ejection_ms = uint32(*v, "health.max_ejection_ms", 1, 86400000);
    if (h.max_ejection_ms < h.base_ejection_ms)
      failAt(
          keyLine(e, e.count("max_ejection_ms") ? "max_ejection_ms" : "base_ejection_ms"),
          "health.max_ejection_ms",
          "must be at least health.base_ejection_ms (" + std::to_string(h.base_ejection_ms) + ")");
    if (auto v = get(e, "path")) {
      h.path = str(*v, "health.path");
      if (h.path[0] != '/' || h.path.find_first_of(" \r\n") != std::string::npos)
        fail(*v, "health.path", "expected an absolute path such as /health");
    }
    if (auto v = get(e, "interval_ms"))
      h.interval_ms = uint32(*v, "health.interval_ms", 0, 3600000);
    if (auto v = get(e, "timeout_ms")) h.timeout_ms = uint32(*v, "health.timeout_ms", 1, 600000);
  }

  void audit(const YAML::Node& n) {
    auto e = entries(n, "audit",
                     {"dir", "sink", "dsn", "on_audit_failure", "durability", "queue_capacity",
                      "batch_max", "flush_interval_ms", "replica_id", "checkpoint_key_file",
                      "wait_durable", "checkpoint_interval_ms", "stop_timeout_ms",
                      "sqlite_wal_coalesce", "spill_dir"});
    auto& a = cfg_.audit;
    if (auto v = get(e, "dir")) a.dir = str(*v, "audit.dir");
    if (auto v = get(e, "sink")) a.sink = choice<AuditSink, 3>(*v, "audit.sink", auditSinkName);
    if (auto v = get(e, "dsn")) {
      for (auto& [k, val] : namedEntries(*v, "audit.dsn")) {
        std::string path = "audit.dsn." + k.Scalar();
        if (!cfg_.jurisdiction(k.Scalar()))
          fail(k, path, "unknown jurisdiction '" + k.Scalar() + "'");
        a.dsn[k.Scalar()] = str(val, path);
      }
    }
    if (a.sink == AuditSink::Postgres) {
      for (const auto& t : cfg_.tenants)
        if (!a.dsn.count(t.jurisdiction))
          failAt(keyLine(e, "sink"), "audit.dsn",
                 "sink is postgres but jurisdiction '" + t.jurisdiction + "' (tenant '" + t.name +
                     "') has no DSN");
    }
    if (auto v = get(e, "on_audit_failure"))
      a.on_audit_failure =
          choice<AuditFailureMode, 2>(*v, "audit.on_audit_failure", auditFailureModeName);
    if (auto v = get(e, "durability"))
      a.durability = choice<AuditDurability, 3>(*v, "audit.durability", auditDurabilityName);
    if (auto v = get(e, "sqlite_wal_coalesce"))
      a.sqlite_wal_coalesce = boolean(*v, "audit.sqlite_wal_coalesce");
    if (auto v = get(e, "queue_capacity"))
      a.queue_capacity = uint32(*v, "audit.queue_capacity", 1, 1u << 26);
    if (auto v = get(e, "batch_max")) a.batch_max = uint32(*v, "audit.batch_max", 1, 1u << 20);
    if (auto v = get(e, "flush_interval_ms"))
      a.flush_interval_ms = uint32(*v, "audit.flush_interval_ms", 0, 60000);
    if (auto v = get(e, "replica_id")) a.replica_id = str(*v, "audit.replica_id");
    if (auto v = get(e, "checkpoint_key_file"))
      a.checkpoint_key_file = str(*v, "audit.checkpoint_key_file");
    if (auto v = get(e, "wait_durable")) a.wait_durable = boolean(*v, "audit.wait_durable");
    if (auto v = get(e, "checkpoint_interval_ms"))
      a.checkpoint_interval_ms = uint32(*v, "audit.checkpoint_interval_ms", 100, 86400000);
    if (auto v = get(e, "stop_timeout_ms"))
      a.stop_timeout_ms = uint32(*v, "audit.stop_timeout_ms", 0, 600000);
    if (auto v = get(e, "spill_dir")) {
      a.spill_dir = str(*v, "audit.spill_dir");
      if (a.spill_dir != "auto" && a.spill_dir != "off" && a.spill_dir.front() != '/')
        fail(*v, "audit.spill_dir", "expected auto, off or an absolute directory path");
    }
  }

  void limits(const YAML::Node& n) {
    auto e = entries(n, "limits",
                     {"max_body_bytes", "max_header_bytes", "read_timeout_ms", "idle_timeout_ms",
                      "max_connections", "drain_timeout_ms", "tls_handshake_timeout_ms"});
    auto& l = cfg_.limits;
    if (auto v = get(e, "max_body_bytes"))
      l.max_body_bytes = uint(*v, "limits.max_body_bytes", 1, uint64_t{1} << 34);
    if (auto v = get(e, "max_header_bytes"))
      l.max_header_bytes = uint32(*v, "limits.max_header_bytes", 256, 1u << 24);
    if (auto v = get(e, "read_timeout_ms"))
      l.read_timeout_ms = uint32(*v, "limits.read_timeout_ms", 1, 3600000);
    if (auto v = get(e, "idle_timeout_ms"))
      l.idle_timeout_ms = uint32(*v, "limits.idle_timeout_ms", 1, 86400000);
    if (auto v = get(e, "max_connections"))
      l.max_connections = uint32(*v, "limits.max_connections", 1, 10000000);
    if (auto v = get(e, "drain_timeout_ms"))
      l.drain_timeout_ms = uint32(*v, "limits.drain_timeout_ms", 0, 3600000);
    if (auto v = get(e, "tls_handshake_timeout_ms"))
      l.tls_handshake_timeout_ms = uint32(*v, "limits.tls_handshake_timeout_ms", 1, 600000);
  }

  void rollouts(const YAML::Node& n) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) fail(n, "rollouts", "expected a list of rollouts");
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node& rn = n[i];
      std::string path = idx("rollouts", i);
      auto e = entries(rn, path, {"region", "model", "from", "to", "green_endpoints"});
      if (rn.IsNull()) fail(rn, path, "empty rollout");
      for (const char* req : {"region", "model", "from", "to", "green_endpoints"})
        if (!e.count(req)) fail(rn, sub(path, req), "missing (required for every rollout)");
      RolloutConfig r;
      r.loc = {file_, line(rn)};
      auto regionNode = *get(e, "region");
      r.region = str(regionNode, path + ".region");
      if (!cfg_.region(r.region))
        fail(regionNode, path + ".region", "unknown region '" + r.region + "'" + regionHint());
      auto modelNode = *get(e, "model");
      r.model = str(modelNode, path + ".model");
      ModelRef ref = check(modelNode, path + ".model", parseModelRef(r.model));
      if (!ref.version.empty())
        fail(modelNode, path + ".model", "name the model without a version; use from/to");
      if (std::none_of(cfg_.endpoints.begin(), cfg_.endpoints.end(),
                       [&](const EndpointConfig& ep) { return ep.serves(r.model); }))
        fail(modelNode, path + ".model", "no endpoint serves model '" + r.model + "'");
      r.from_version = str(*get(e, "from"), path + ".from");
      r.to_version = str(*get(e, "to"), path + ".to");
      if (r.from_version == r.to_version)
        fail(*get(e, "to"), path + ".to", "same version as 'from' ('" + r.to_version + "')");
      auto greenNode = *get(e, "green_endpoints");
      auto greens = strList(greenNode, path + ".green_endpoints");
      if (greens.empty()) fail(greenNode, path + ".green_endpoints", "list at least one endpoint");
      for (size_t g = 0; g < greens.size(); ++g) {
        if (!cfg_.endpoint(greens[g].second))
          fail(greens[g].first, idx(path + ".green_endpoints", g),
               "unknown endpoint '" + greens[g].second + "'");
        r.green_endpoints.push_back(greens[g].second);
      }
      cfg_.rollouts.push_back(std::move(r));
    }
  }

  // `rollout:` settings (docs/rollouts.md).
  double fraction(const YAML::Node& n, const std::string& path, double max) {
    if (!n.IsScalar()) fail(n, path, "expected a number");
    char* end = nullptr;
    const std::string& s = n.Scalar();
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !(v >= 0 && v <= max))
      fail(n, path, "expected a number between 0 and " + std::to_string(max) + ", got '" + s + "'");
    return v;
  }
  void rolloutSettings(const YAML::Node& n) {
    auto e = entries(n, "rollout",
                     {"state_file", "steps", "step_ms", "step_max_ms", "min_requests",
                      "max_error_rate", "max_error_rate_increase", "max_ttft_p99_ratio",
                      "max_ttft_p99_ms", "gate_alpha", "max_ttft_median_ratio", "parity_suite",
                      "parity_runs", "parity_alpha",
                      "parity_min_effect", "prewarm", "prewarm_prompts", "sample_size",
                      "discovery_interval_ms", "tick_ms", "store_dsn", "lease_ms",
                      "store_timeout_ms"});
    auto& r = cfg_.rollout;
    if (auto v = get(e, "state_file")) r.state_file = str(*v, "rollout.state_file");
    if (auto v = get(e, "steps")) {
      if (!v->IsSequence() || v->size() == 0) fail(*v, "rollout.steps", "expected a list, e.g. [10, 50, 100]");
      r.steps.clear();
      for (size_t i = 0; i < v->size(); ++i) {
        uint32_t s = uint32((*v)[i], idx("rollout.steps", i), 1, 100);
        if (!r.steps.empty() && s <= r.steps.back())
          fail((*v)[i], idx("rollout.steps", i), "steps must increase");
        r.steps.push_back(s);
      }
      if (r.steps.back() != 100) fail(*v, "rollout.steps", "the last step must be 100");
    }
    if (auto v = get(e, "step_ms")) r.step_ms = uint32(*v, "rollout.step_ms", 1, 86400000);
    if (auto v = get(e, "step_max_ms")) r.step_max_ms = uint32(*v, "rollout.step_max_ms", 1, 604800000);
    if (auto v = get(e, "min_requests")) r.min_requests = uint32(*v, "rollout.min_requests", 1, 10000000);
    if (auto v = get(e, "max_error_rate")) r.max_error_rate = fraction(*v, "rollout.max_error_rate", 1);
    if (auto v = get(e, "max_error_rate_increase"))
      r.max_error_rate_increase = fraction(*v, "rollout.max_error_rate_increase", 1);
    if (auto v = get(e, "max_ttft_p99_ratio"))
      r.max_ttft_p99_ratio = fraction(*v, "rollout.max_ttft_p99_ratio", 1000);
    if (auto v = get(e, "max_ttft_p99_ms"))
      r.max_ttft_p99_ms = uint32(*v, "rollout.max_ttft_p99_ms", 0, 3600000);
    if (auto v = get(e, "gate_alpha")) r.gate_alpha = fraction(*v, "rollout.gate_alpha", 0.5);
    if (auto v = get(e, "max_ttft_median_ratio"))
      r.max_ttft_median_ratio = fraction(*v, "rollout.max_ttft_median_ratio", 1000);
    if (auto v = get(e, "parity_suite")) r.parity_suite = str(*v, "rollout.parity_suite");
    if (auto v = get(e, "parity_runs")) r.parity_runs = uint32(*v, "rollout.parity_runs", 2, 100);
    if (auto v = get(e, "parity_alpha")) r.parity_alpha = fraction(*v, "rollout.parity_alpha", 1);
    if (auto v = get(e, "parity_min_effect"))
      r.parity_min_effect = fraction(*v, "rollout.parity_min_effect", 1);
    if (auto v = get(e, "prewarm")) r.prewarm = boolean(*v, "rollout.prewarm");
    if (auto v = get(e, "prewarm_prompts"))
      r.prewarm_prompts = uint32(*v, "rollout.prewarm_prompts", 0, 100000);
    if (auto v = get(e, "sample_size")) r.sample_size = uint32(*v, "rollout.sample_size", 0, 1000000);
    if (auto v = get(e, "discovery_interval_ms"))
      r.discovery_interval_ms = uint32(*v, "rollout.discovery_interval_ms", 0, 86400000);
    if (auto v = get(e, "tick_ms")) r.tick_ms = uint32(*v, "rollout.tick_ms", 10, 60000);
    if (auto v = get(e, "store_dsn")) r.store_dsn = str(*v, "rollout.store_dsn");
    if (auto v = get(e, "store_timeout_ms"))
      r.store_timeout_ms = uint32(*v, "rollout.store_timeout_ms", 100, 60000);
    if (auto v = get(e, "lease_ms")) r.lease_ms = uint32(*v, "rollout.lease_ms", 100, 3600000);
    // The holder renews every tick: a lease shorter than two ticks would lapse between renewals.
    if (r.lease_ms < 2 * r.tick_ms)
      fail(n, "rollout.lease_ms", "must be at least twice rollout.tick_ms (" +
                                      std::to_string(2 * r.tick_ms) + "), got " +
                                      std::to_string(r.lease_ms));
  }

  std::string file_;
  LoadOptions options_;
  Config cfg_;
  std::map<size_t, std::string> explicit_health_;  // endpoint index -> health_path as written
};

}  // namespace

Result<ModelRef> parseModelRef(std::string_view s) {
  auto bad = [](char c) { return c <= ' ' || c == 0x7f || c == ',' || c == '"' || c == '\\'; };
  if (s.empty()) return Error::config("empty model name");
  if (std::any_of(s.begin(), s.end(), bad))
    return Error::config("model '" + std::string(s) +
                         "' contains a space, quote, comma or control character");
  ModelRef ref;
  auto at = s.find('@');
  if (at == std::string_view::npos) {
    ref.name = std::string(s);
    return ref;
  }
  if (s.find('@', at + 1) != std::string_view::npos)
    return Error::config("model '" + std::string(s) + "' has more than one '@' (NAME@VERSION)");
  ref.name = std::string(s.substr(0, at));
  ref.version = std::string(s.substr(at + 1));
  if (ref.name.empty() || ref.version.empty())
    return Error::config("model '" + std::string(s) + "': expected NAME or NAME@VERSION");
  return ref;
}

Result<EvidenceSpec> parseEvidence(std::string_view s) {
  EvidenceSpec spec;
  spec.raw = std::string(s);
  if (s == "endpoint") return spec;
  if (s.rfind("header:", 0) == 0) {
    auto name = s.substr(7);
    auto tchar = [](char c) {
      return isTokenChar(c) || std::string_view("!#$%&'*+^`|~").find(c) != std::string_view::npos;
    };
    if (name.empty() || !std::all_of(name.begin(), name.end(), tchar))
      return Error::config("'" + spec.raw + "': expected header:NAME with a valid header name");
    spec.kind = EvidenceSpec::Kind::Header;
    spec.header = lower(name);
    return spec;
  }
  if (s.rfind("body:", 0) == 0) {
    auto path = s.substr(5);
    spec.kind = EvidenceSpec::Kind::Body;
    size_t start = 0;
    while (true) {
      auto dot = path.find('.', start);
      auto seg = path.substr(start, dot == std::string_view::npos ? path.npos : dot - start);
      if (seg.empty())
        return Error::config("'" + spec.raw + "': expected body:a.b.c (dot path, no empty parts)");
      spec.path.emplace_back(seg);
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    return spec;
  }
  return Error::config("'" + spec.raw +
                       "' is not an evidence source (expected endpoint, header:NAME or "
                       "body:JSON.PATH)");
}

Result<ParsedUrl> parseEndpointUrl(std::string_view url) {
  ParsedUrl out;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    out.https = true;
    out.port = 443;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return Error::config("'" + std::string(url) + "': expected http[s]://HOST[:PORT][/BASE]");
  }
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  if (hostport.find('@') != std::string_view::npos)
    return Error::config("'" + std::string(url) +
                         "': credentials in URLs are not supported; use 'credential'");
  auto hp = parseHostPort(hostport, url);
  if (!hp.ok()) return hp.error();
  out.host = std::move(hp->host);
  if (hp->port) out.port = *hp->port;
  if (slash != std::string_view::npos) {
    std::string_view base = rest.substr(slash);
    if (base.find_first_of("?#") != std::string_view::npos)
      return Error::config("'" + std::string(url) + "': no query or fragment allowed");
    if (std::any_of(base.begin(), base.end(), [](char c) { return c <= ' ' || c == 0x7f; }))
      return Error::config("'" + std::string(url) + "': bad character in path");
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    out.base_path = std::string(base);
  }
  return out;
}

Result<std::pair<std::string, uint16_t>> parseListenAddress(std::string_view s) {
  auto hp = parseHostPortRequired(s);
  if (!hp.ok()) return hp.error();
  return std::make_pair(std::move(hp->host), *hp->port);
}

Result<ConfigPtr> loadConfigString(std::string_view yaml, std::string filename,
                                   LoadOptions options) {
  try {
    Loader loader(filename, options);
    return ConfigPtr(std::make_shared<const Config>(loader.load(yaml)));
  } catch (const LoadFailure& f) {
    return Error::config(f.message);
  } catch (const YAML::Exception& e) {
    return Error::config(filename + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return Error::config(filename + ": " + e.what());
  }
}

Result<ConfigPtr> loadConfigFile(const std::string& path, LoadOptions options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::config(path + ": cannot open config file: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error::config(path + ": cannot read config file");
  return loadConfigString(ss.str(), path, options);
}

}  // namespace regiongate
