#include "http/tls_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/hash.h"
#include "http/tls.h"

namespace regiongate::http {

namespace {

Error tlsError(const std::string& key, const std::string& problem) {
  return Error::config(key + ": " + problem, "tls_config");
}

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> slurp(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return ss.str();
}

Status loadTrust(SSL_CTX* ctx, const TlsClientFiles& t, const std::string& path) {
  if (t.ca_file.empty()) {
    // Debian's ca-certificates: /etc/ssl/certs (OpenSSL's default paths).
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
      return tlsError(path, takeOpenSslError("cannot load the system trust store"));
    return {};
  }
  if (SSL_CTX_load_verify_locations(ctx, t.ca_file.c_str(), nullptr) != 1)
    return tlsError(path + ".ca_file",
                    "'" + t.ca_file + "': " + takeOpenSslError("cannot load the CA certificates"));
  return {};
}

Status loadClientCertificate(SSL_CTX* ctx, const TlsClientFiles& t, const std::string& path) {
  if (t.client_cert_file.empty()) return {};
  if (SSL_CTX_use_certificate_chain_file(ctx, t.client_cert_file.c_str()) != 1)
    return tlsError(path + ".client_cert_file",
                    "'" + t.client_cert_file + "': " +
                        takeOpenSslError("cannot load the certificate chain"));
  if (SSL_CTX_use_PrivateKey_file(ctx, t.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return tlsError(path + ".client_key_file",
                    "'" + t.client_key_file + "': " + takeOpenSslError("cannot load the private key"));
  if (SSL_CTX_check_private_key(ctx) != 1)
    return tlsError(path + ".client_key_file", "'" + t.client_key_file +
                                                   "' does not match " + t.client_cert_file);
  return {};
}

// SHA-256 over the name and the files' contents (see ClientTls::identity).
Result<std::string> identityOf(const TlsClientFiles& t, const std::string& server_name,
                               const std::string& path) {
  std::string id = server_name + "\n";
  for (const std::string* f : {&t.ca_file, &t.client_cert_file, &t.client_key_file}) {
    if (f->empty()) {
      id += "-\n";
      continue;
    }
    auto content = slurp(*f);
    if (!content) return tlsError(path, "cannot read '" + *f + "'");
    id += sha256Hex(*content) + "\n";
  }
  return sha256Hex(id);
}

}  // namespace

Result<ClientTlsPtr> makeClientTls(const TlsClientFiles& files, const std::string& host,
                                   const std::string& path) {
  ERR_clear_error();
  auto tls = std::make_shared<ClientTls>();
  SSL_CTX* ctx = tls->context.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // Sessions are kept by each worker's pool (SSL_get1_session), not in the shared context.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (auto st = loadTrust(ctx, files, path); !st) return st.error();
  if (auto st = loadClientCertificate(ctx, files, path); !st) return st.error();

  tls->server_name = files.server_name.empty() ? host : files.server_name;
  boost::system::error_code ec;
  boost::asio::ip::make_address(tls->server_name, ec);
  tls->server_name_is_ip = !ec;
  auto id = identityOf(files, tls->server_name, path);
  if (!id) return id.error();
  tls->identity = std::move(id.value());
  ERR_clear_error();
  return tls;
}

void prepareClientSsl(SSL* ssl, const ClientTls& tls) {
  const std::string& name = tls.server_name;
  if (tls.server_name_is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set1_host(ssl, name.c_str());
  }
}

Error handshakeError(SSL* ssl, const boost::system::error_code& ec, const std::string& where) {
  long verify = SSL_get_verify_result(ssl);
  std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : ec.message();
  ERR_clear_error();
  return Error{ErrorSource::Upstream, "upstream_tls_error",
               "TLS handshake with " + where + ": " + why, true};
}

}  // namespace regiongate::http
