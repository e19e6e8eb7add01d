#include "upstream/tls_client.h"

namespace regiongate::upstream {

Result<ClientTlsPtr> makeClientTls(const EndpointConfig& ep, const std::string& path) {
  const EndpointTlsConfig& t = ep.tls;
  http::TlsClientFiles files{t.ca_file, t.server_name, t.client_cert_file, t.client_key_file};
  return http::makeClientTls(files, ep.host, path);
}

Result<std::vector<ClientTlsPtr>> makeClientTlsSet(const Config& cfg) {
  std::vector<ClientTlsPtr> out(cfg.endpoints.size());
  for (size_t i = 0; i < cfg.endpoints.size(); ++i) {
    const auto& ep = cfg.endpoints[i];
    if (!ep.https) continue;
    auto tls = makeClientTls(ep, "endpoints[" + std::to_string(i) + "].tls");
    if (!tls) return tls.error();
    out[i] = std::move(tls.value());
  }
  return out;
}

}  // namespace regiongate::upstream
