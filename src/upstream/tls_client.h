#pragma once
// An https:// endpoint's TLS client context (http/tls_client.h) built from its `tls:` settings:
// one per endpoint, built on the control plane (startup and every reload) and shared read-only
// by all workers through the config snapshot. Per worker are only the connections and the session
// kept for resumption (ConnectionPool).
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "http/tls_client.h"

namespace regiongate::upstream {

using http::ClientTls;
using http::ClientTlsPtr;
using http::handshakeError;
using http::prepareClientSsl;

// Reads the endpoint's files and builds its context. Errors: code "tls_config" naming the key
// (`path`.ca_file, ...) and the reason.
Result<ClientTlsPtr> makeClientTls(const EndpointConfig& ep, const std::string& path);

// One entry per endpoint of `cfg` (index = endpoint index), null for http:// endpoints.
Result<std::vector<ClientTlsPtr>> makeClientTlsSet(const Config& cfg);

}  // namespace regiongate::upstream
