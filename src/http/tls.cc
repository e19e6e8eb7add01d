#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace regiongate::http {

namespace {

Error tlsConfigError(const std::string& what, const std::string& key, const std::string& file,
                     const std::string& problem) {
  return Error::config(what + "." + key + " '" + file + "': " + problem, "tls_config");
}

}  // namespace

std::string takeOpenSslError(const std::string& fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  // "error:0A000086:SSL routines::certificate verify failed" -> the reason after the last ':'.
  std::string s(buf);
  auto colon = s.rfind(':');
  return colon == std::string::npos || colon + 1 == s.size() ? s : s.substr(colon + 1);
}

Result<TlsContextPtr> makeServerTlsContext(const TlsServerFiles& files, const std::string& what) {
  ERR_clear_error();
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(native, files.cert_file.c_str()) != 1)
    return tlsConfigError(what, "cert_file", files.cert_file,
                          takeOpenSslError("cannot load the certificate chain"));
  if (SSL_CTX_use_PrivateKey_file(native, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return tlsConfigError(what, "key_file", files.key_file,
                          takeOpenSslError("cannot load the private key"));
  if (SSL_CTX_check_private_key(native) != 1)
    return tlsConfigError(what, "key_file", files.key_file,
                          "does not match the certificate in " + files.cert_file);
  // Sessions resumed by a client must come from this listener (required with client
  // verification: OpenSSL refuses to resume without a session id context).
  static const unsigned char kSidContext[] = "regiongate";
  SSL_CTX_set_session_id_context(native, kSidContext, sizeof(kSidContext) - 1);
  if (!files.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(native, files.client_ca_file.c_str(), nullptr) != 1)
      return tlsConfigError(what, "client_ca_file", files.client_ca_file,
                            takeOpenSslError("cannot load the CA certificates"));
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str());
    if (names == nullptr)
      return tlsConfigError(what, "client_ca_file", files.client_ca_file,
                            takeOpenSslError("holds no CA certificate"));
    SSL_CTX_set_client_CA_list(native, names);  // takes ownership
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  ERR_clear_error();
  return ctx;
}

}  // namespace regiongate::http
