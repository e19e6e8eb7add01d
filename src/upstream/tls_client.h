#pragma once
// TLS client settings of one https:// endpoint: an OpenSSL context that verifies the chain (the
// endpoint's ca_file, else the system trust store) and the host name, TLS 1.2 at least, with
// the endpoint's client certificate for mTLS.
//
// One context per endpoint, built on the control plane (startup and every reload: the files are
// read there, never on a worker) and shared read-only by all workers through the config snapshot.
// Sharing is safe: OpenSSL lets many threads create connections from one SSL_CTX as long as
// nobody changes it, and nothing does after makeClientTls returns. Per worker are only the
// things that change: the connections and the session kept for resumption (ConnectionPool).
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "http/tls.h"

struct ssl_st;

namespace regiongate::upstream {

namespace asio = boost::asio;

struct ClientTls {
  ClientTls() : context(asio::ssl::context::tls_client) {}
  asio::ssl::context context;
  std::string server_name;  // sent as SNI (DNS names only) and required in the certificate
  bool server_name_is_ip = false;
  // SHA-256 over the settings and the files' contents: two contexts with the same identity are
  // interchangeable, so a reload that changes nothing keeps the endpoint's pooled connections.
  std::string identity;
};
using ClientTlsPtr = std::shared_ptr<ClientTls>;

// Reads the endpoint's files and builds its context. Errors: code "tls_config" naming the key
// (endpoints[i].tls.ca_file, ...) and the reason.
Result<ClientTlsPtr> makeClientTls(const EndpointConfig& ep, const std::string& path);

// One entry per endpoint of `cfg` (index = endpoint index), null for http:// endpoints.
Result<std::vector<ClientTlsPtr>> makeClientTlsSet(const Config& cfg);

// Sets up a new client connection made from `tls.context`: SNI and the name (or IP address) the
// certificate must carry, checked by OpenSSL during the handshake.
void prepareClientSsl(ssl_st* ssl, const ClientTls& tls);
// A failed handshake's error (code "upstream_tls_error", retryable: another endpoint of the pool
// may be fine). The reason is the certificate check's (expired, hostname mismatch, unable to get
// local issuer certificate) when that failed, else `ec`'s (no common version, alert from the
// server, not TLS at all).
Error handshakeError(ssl_st* ssl, const boost::system::error_code& ec, const std::string& where);

}  // namespace regiongate::upstream
