#pragma once
// A small blocking HTTP/1.1 client for the rollout control plane (version discovery, parity
// runs, cache pre-warm) and the `rollout`/`parity` CLIs. Never used on the data plane: each call
// blocks its thread for at most `timeout_ms` (connect, write and read are each bounded by it).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "upstream/tls_client.h"

namespace regiongate::rollout {

struct HttpCallReply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string header(const std::string& name) const;
};

// method "GET" / "POST"; target includes the base path. Transport errors -> Error (retryable).
// `tls` set: the call speaks TLS with that endpoint context's verification (a failed handshake
// is upstream_tls_error); null: plaintext.
Result<HttpCallReply> httpCall(const std::string& host, uint16_t port, const std::string& method,
                               const std::string& target, const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               uint32_t timeout_ms, upstream::ClientTls* tls = nullptr);

// A call to a configured endpoint: TLS for an https:// one (its context is built for the call:
// control plane only, the files are read), never plaintext.
Result<HttpCallReply> endpointCall(const EndpointConfig& ep, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   uint32_t timeout_ms);

// "HOST:PORT" -> (host, port).
Result<std::pair<std::string, uint16_t>> splitHostPort(const std::string& s);

}  // namespace regiongate::rollout
