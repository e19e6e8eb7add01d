// The parity run's HTTP fetch, apart from parity.cc so the suite and report code (which the parity
// fuzz target builds with clang) does not pull in the HTTP client's coroutines or OpenSSL.
#include <string>
#include <utility>
#include <vector>

#include "http/client.h"
#include "rollout/endpoint_tls.h"
#include "rollout/parity.h"

namespace regiongate::rollout {

ParityEndpoint parityEndpoint(const EndpointConfig& ep, std::string version) {
  ParityEndpoint p{ep.name, ep.region, std::move(version), ep.host, ep.base_path, ep.credential,
                   ep.port, ep.https, nullptr};
  if (auto tls = endpointClientTls(ep)) p.tls = std::move(tls.value());
  return p;
}

ParityFetch httpParityFetch(uint32_t timeout_ms) {
  return [timeout_ms](const ParityEndpoint& ep, const std::string& body) -> Result<std::string> {
    if (ep.https && !ep.tls)
      return Error{ErrorSource::Upstream, "tls_config",
                   ep.name + ": its TLS files cannot be used (see regiongate check)", false};
    std::vector<std::pair<std::string, std::string>> headers = {
        {"x-regiongate-request-id", "parity"}};
    if (!ep.credential.empty()) headers.emplace_back("authorization", ep.credential);
    std::string target = ep.base_path + "/v1/" +
                         (body.find("\"messages\":") != std::string::npos ? "chat/completions"
                                                                         : "completions");
    http::ClientRequest req{"POST", target, body, std::move(headers), timeout_ms};
    req.tls = ep.tls;
    auto r = http::call(ep.host, ep.port, std::move(req));
    if (!r) return r.error();
    if (r->status != 200)
      return Error{ErrorSource::Upstream, "status_" + std::to_string(r->status),
                   ep.name + " answered " + std::to_string(r->status), r->status >= 500};
    return completionText(r->body);
  };
}

}  // namespace regiongate::rollout
