#include "residency/forwarding.h"

#include <algorithm>

#include "legal/provider_geographies.h"

namespace regiongate::residency {

namespace {

using Kind = ForwardingSet::Kind;

ForwardingSet fromRow(const legal::ProviderGeography* g, std::string declared) {
  ForwardingSet f;
  f.declared = std::move(declared);
  if (!g) {
    f.kind = Kind::Unknown;
  } else if (g->anywhere) {
    f.kind = Kind::Anywhere;
  } else {
    f.kind = Kind::Countries;
    f.countries = g->countries;
  }
  return f;
}

// `forwards:` as written: global, an operator geo label, or a geography of the provider.
ForwardingSet declaredForwards(const Config& config, const EndpointConfig& ep) {
  ForwardingSet f;
  f.declared = "forwards: " + ep.forwards;
  if (ep.forwards == "global") {
    f.kind = Kind::Anywhere;
    return f;
  }
  std::string label = ep.forwards.substr(4);  // "geo:LABEL"
  auto it = config.residency.geo_labels.find(label);
  if (it != config.residency.geo_labels.end()) {
    f.kind = Kind::Countries;
    f.countries.assign(it->second.begin(), it->second.end());
    return f;
  }
  std::string_view provider = upstreamApiProvider(ep.api);
  const legal::ProviderGeography* g =
      provider.empty() ? nullptr : legal::ProviderGeographies::builtin().geography(provider, label);
  return fromRow(g, f.declared);
}

ForwardingSet azureForwarding(const Config& config, const EndpointConfig& ep) {
  const auto& table = legal::ProviderGeographies::builtin();
  const std::string& type = ep.azure.deployment_type;
  if (type == "global")
    return fromRow(table.find("azure", "deployment", "global"), "azure global deployment");
  if (type != "data_zone") return {};
  const RegionConfig* r = config.region(ep.region);
  for (const char* zone : {"eu", "us"}) {
    const auto* g = table.find("azure", "data_zone", zone);
    if (g && r && std::binary_search(g->countries.begin(), g->countries.end(), r->country))
      return fromRow(g, std::string("azure data zone ") + zone);
  }
  return fromRow(nullptr, "azure data zone of region " + ep.region);
}

ForwardingSet anthropicForwarding(const EndpointConfig& ep, const JurisdictionConfig& j) {
  auto it = ep.anthropic.inference_geo.find(j.name);
  if (it == ep.anthropic.inference_geo.end()) {
    ForwardingSet f;
    f.kind = Kind::Refused;
    f.declared = "no anthropic inference_geo inside " + j.name;
    return f;
  }
  return fromRow(legal::ProviderGeographies::builtin().find("anthropic", "inference_geo", it->second),
                 "anthropic inference_geo " + it->second);
}

}  // namespace

std::string bedrockProfileGeography(const std::string& model) {
  auto dot = model.find('.');
  if (dot == std::string::npos || dot == 0) return "";
  std::string prefix = model.substr(0, dot);
  const auto* g = legal::ProviderGeographies::builtin().find("aws", "bedrock_profile", prefix);
  return g ? prefix : "";
}

ForwardingSet forwardingSet(const Config& config, const EndpointConfig& ep,
                            const std::string& model, const JurisdictionConfig& j) {
  if (ep.forwards != "none") return declaredForwards(config, ep);
  switch (ep.api) {
    case UpstreamApi::Bedrock: {
      std::string geo = bedrockProfileGeography(model);
      if (geo.empty()) return {};
      return fromRow(legal::ProviderGeographies::builtin().find("aws", "bedrock_profile", geo),
                     "bedrock inference profile " + geo + ". of model " + model);
    }
    case UpstreamApi::AzureOpenAi:
      return azureForwarding(config, ep);
    case UpstreamApi::Anthropic:
      return anthropicForwarding(ep, j);
    case UpstreamApi::OpenAi:
      return fromRow(legal::ProviderGeographies::builtin().find("openai", "residency", ep.openai.residency),
                     "openai residency " + ep.openai.residency);
    case UpstreamApi::OpenAiCompatible:
      break;
  }
  return {};
}

}  // namespace regiongate::residency
