#include "gateway/tls_material.h"

namespace regiongate::gateway {

namespace {

Result<http::TlsContextPtr> listenerContext(const ListenerTlsConfig& t, const std::string& what) {
  if (!t.enabled()) return http::TlsContextPtr{};
  return http::makeServerTlsContext({t.cert_file, t.key_file, t.client_ca_file}, what);
}

}  // namespace

Result<TlsMaterial> loadTlsMaterial(const Config& cfg) {
  TlsMaterial m;
  auto listen = listenerContext(cfg.tls, "tls");
  if (!listen) return listen.error();
  m.listen = std::move(listen.value());
  auto admin = listenerContext(cfg.admin_tls, "admin_tls");
  if (!admin) return admin.error();
  m.admin = std::move(admin.value());
  auto upstream = upstream::makeClientTlsSet(cfg);
  if (!upstream) return upstream.error();
  m.upstream = std::move(upstream.value());
  return m;
}

}  // namespace regiongate::gateway
