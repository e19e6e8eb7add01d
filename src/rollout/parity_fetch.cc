// The parity run's HTTP fetch, apart from parity.cc so the suite and report code (which the parity
// fuzz target builds with clang) does not pull in the HTTP client's coroutines.
#include <string>
#include <utility>
#include <vector>

#include "http/client.h"
#include "rollout/parity.h"

namespace regiongate::rollout {

ParityFetch httpParityFetch(uint32_t timeout_ms) {
  return [timeout_ms](const ParityEndpoint& ep, const std::string& body) -> Result<std::string> {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"x-regiongate-request-id", "parity"}};
    if (!ep.credential.empty()) headers.emplace_back("authorization", ep.credential);
    std::string target = ep.base_path + "/v1/" +
                         (body.find("\"messages\":") != std::string::npos ? "chat/completions"
                                                                         : "completions");
    auto r = http::call(ep.host, ep.port,
                        http::ClientRequest{"POST", target, body, std::move(headers), timeout_ms});
    if (!r) return r.error();
    if (r->status != 200)
      return Error{ErrorSource::Upstream, "status_" + std::to_string(r->status),
                   ep.name + " answered " + std::to_string(r->status), r->status >= 500};
    return completionText(r->body);
  };
}

}  // namespace regiongate::rollout
