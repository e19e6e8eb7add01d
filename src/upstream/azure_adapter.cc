#include "upstream/provider_adapters_impl.h"

namespace regiongate::upstream {

bool AzureOpenAiAdapter::servesRoute(std::string_view route) const { return isOpenAiRoute(route); }

Result<UpstreamRequest> AzureOpenAiAdapter::buildRequest(const EndpointConfig& ep,
                                                         const AttemptInput& in) const {
  UpstreamRequest r;
  const auto& az = ep.azure;
  if (az.deployment.empty()) {
    // v1: /openai/v1/chat/completions, no api-version.
    r.target = ep.base_path + "/openai" + std::string(in.route);
  } else {
    // /openai/deployments/NAME/chat/completions?api-version=V (the route without its "/v1").
    r.target = ep.base_path + "/openai/deployments/" + az.deployment +
               std::string(in.route.substr(3)) + "?api-version=" + az.api_version;
  }
  r.headers.emplace_back("api-key", ep.secret.value);
  return r;
}

}  // namespace regiongate::upstream
