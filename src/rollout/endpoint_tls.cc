#include "rollout/endpoint_tls.h"

namespace regiongate::rollout {

Result<http::ClientTlsPtr> endpointClientTls(const EndpointConfig& ep) {
  if (!ep.https) return http::ClientTlsPtr{};
  const EndpointTlsConfig& t = ep.tls;
  http::TlsClientFiles files{t.ca_file, t.server_name, t.client_cert_file, t.client_key_file};
  return http::makeClientTls(files, ep.host, "endpoint " + ep.name + " tls");
}

}  // namespace regiongate::rollout
