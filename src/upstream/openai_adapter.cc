#include "upstream/provider_adapters_impl.h"

namespace regiongate::upstream {

bool OpenAiAdapter::servesRoute(std::string_view route) const { return isOpenAiRoute(route); }

Result<UpstreamRequest> OpenAiAdapter::buildRequest(const EndpointConfig& ep,
                                                    const AttemptInput& in) const {
  UpstreamRequest r;
  r.target = ep.base_path + std::string(in.route);
  if (!ep.credential.empty()) r.headers.emplace_back("Authorization", ep.credential);
  return r;
}

}  // namespace regiongate::upstream
