#include "upstream/provider_adapters_impl.h"

namespace regiongate::upstream {

bool OpenAiAdapter::servesRoute(std::string_view route) const {
  return route == "/v1/chat/completions" || route == "/v1/completions" ||
         route == "/v1/responses" || route == "/v1/embeddings";
}

Result<UpstreamRequest> OpenAiAdapter::buildRequest(const EndpointConfig& ep,
                                                    const AttemptInput& in) const {
  UpstreamRequest r;
  r.target = ep.base_path + std::string(in.route);
  if (!ep.credential.empty()) r.headers.emplace_back("Authorization", ep.credential);
  return r;
}

}  // namespace regiongate::upstream
