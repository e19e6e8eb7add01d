#pragma once
// The TLS context the control plane (discovery, pre-warm, parity) calls an https:// endpoint
// with: the endpoint's own `tls:` settings, verified like the data plane's connections, never
// plaintext. Built per use from the files (control plane only).
#include "common/result.h"
#include "config/config.h"
#include "http/tls_client.h"

namespace regiongate::rollout {

// Null for an http:// endpoint; an error (code tls_config) when its files cannot be used.
Result<http::ClientTlsPtr> endpointClientTls(const EndpointConfig& ep);

}  // namespace regiongate::rollout
