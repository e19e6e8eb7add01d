#pragma once
// TLS client settings for one server: an OpenSSL context that verifies the chain (a CA file, else
// the system trust store) and the host name, TLS 1.2 at least, with an optional client
// certificate for mTLS. The data plane's pools (upstream::ConnectionPool) and the control plane's
// client (http::call) both connect with it.
//
// Built on the control plane (the files are read there, never on a worker) and then shared
// read-only: OpenSSL lets many threads create connections from one SSL_CTX as long as nobody
// changes it, and nothing does after makeClientTls returns. What changes per connection (the
// session kept for resumption) is kept by the pools, per worker.
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "common/result.h"

struct ssl_st;

namespace regiongate::http {

struct TlsClientFiles {
  std::string ca_file;           // PEM bundle trusted instead of the system store; "" = system
  std::string server_name;       // SNI and the name the certificate must carry; "" = the host
  std::string client_cert_file;  // PEM; with client_key_file: mTLS
  std::string client_key_file;
};

struct ClientTls {
  ClientTls() : context(boost::asio::ssl::context::tls_client) {}
  boost::asio::ssl::context context;
  std::string server_name;  // sent as SNI (DNS names only) and required in the certificate
  bool server_name_is_ip = false;
  // SHA-256 over the settings and the files' contents: two contexts with the same identity are
  // interchangeable, so a reload that changes nothing keeps pooled connections.
  std::string identity;
};
using ClientTlsPtr = std::shared_ptr<ClientTls>;

// Reads the files and builds the context for connections to `host`. `path` names the config key
// in errors ("endpoints[2].tls"). Errors: code "tls_config" naming the key and the reason.
Result<ClientTlsPtr> makeClientTls(const TlsClientFiles& files, const std::string& host,
                                   const std::string& path);

// Sets up a new client connection made from `tls.context`: SNI and the name (or IP address) the
// certificate must carry, checked by OpenSSL during the handshake.
void prepareClientSsl(ssl_st* ssl, const ClientTls& tls);

// A failed handshake's error (code "upstream_tls_error", retryable: another server may be fine).
// The reason is the certificate check's (certificate has expired, hostname mismatch, unable to
// get local issuer certificate) when that failed, else `ec`'s (no common version, an alert from
// the server, not TLS at all).
Error handshakeError(ssl_st* ssl, const boost::system::error_code& ec, const std::string& where);

}  // namespace regiongate::http
