#pragma once
// Where a provider may run a request other than the endpoint's own region: the endpoint's
// forwarding set for one model and one tenant jurisdiction. Declared by the config (`forwards:`)
// or by the provider settings, read against the provider geographies table:
//   - bedrock: the model id's inference-profile prefix (eu. us. apac. jp. au. global.)
//   - azure_openai: azure.deployment_type data_zone (the region's zone) or global
//   - anthropic: the inference_geo the gateway injects for the jurisdiction
//   - openai: the residency region (openai.residency or the REGION.api.openai.com host)
// Control plane (the proof); allocates.
#include <string>
#include <vector>

#include "config/config.h"

namespace regiongate::residency {

struct ForwardingSet {
  enum class Kind {
    None,       // runs in the endpoint's region only
    Countries,  // may run in any of `countries`
    Anywhere,   // global routing
    Unknown,    // declared, but nothing says which countries (an undefined geo label)
    Refused,    // anthropic: no inference_geo fits the jurisdiction; requests never leave
  };
  Kind kind = Kind::None;
  std::vector<std::string> countries;  // sorted; Kind::Countries
  std::string declared;                // e.g. "bedrock profile us. of model us.meta.llama3"
};

ForwardingSet forwardingSet(const Config& config, const EndpointConfig& endpoint,
                            const std::string& model, const JurisdictionConfig& jurisdiction);

// The inference-profile geography of a Bedrock model id ("eu" for "eu.anthropic.claude-..."),
// or "" when the prefix is not a profile geography of the table (an in-region model id).
std::string bedrockProfileGeography(const std::string& model);

}  // namespace regiongate::residency
