#pragma once
// OpenSSL contexts for the gateway's TLS listeners (data plane and admin) and the checks both
// sides share. Control plane only: building a context reads certificate files (blocking); the
// data plane only creates TLS streams from a finished context, which OpenSSL allows from many
// threads at once as long as nobody changes the context (we never do after building it).
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/result.h"

namespace regiongate::http {

namespace asio = boost::asio;

using TlsContextPtr = std::shared_ptr<asio::ssl::context>;

struct TlsServerFiles {
  std::string cert_file;       // PEM: the certificate, then its intermediates
  std::string key_file;        // PEM private key matching cert_file
  std::string client_ca_file;  // "" = no client certificates; else required and verified (mTLS)
};

// A server context: TLS 1.2 and 1.3 only, no renegotiation, the key checked against the
// certificate. `what` names the config key in errors ("tls", "admin_tls").
// Errors: code "tls_config" naming the file and OpenSSL's reason.
Result<TlsContextPtr> makeServerTlsContext(const TlsServerFiles& files, const std::string& what);

// The first queued OpenSSL error as text (and clears the queue); `fallback` when there is none.
std::string takeOpenSslError(const std::string& fallback);

}  // namespace regiongate::http
