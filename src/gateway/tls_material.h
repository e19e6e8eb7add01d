#pragma once
// The TLS contexts one config needs: the listeners' (tls, admin_tls) and one per https://
// endpoint. Built on the control plane at startup and at every reload, which re-reads every
// certificate and key file: replacing the files and reloading (SIGHUP, POST /admin/reload)
// rotates certificates. A file that cannot be used refuses the config (the old one stays).
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "http/tls.h"
#include "upstream/tls_client.h"

namespace regiongate::gateway {

struct TlsMaterial {
  http::TlsContextPtr listen;                    // null: `listen` is plaintext
  http::TlsContextPtr admin;                     // null: `admin_listen` is plaintext
  std::vector<upstream::ClientTlsPtr> upstream;  // by endpoint index; null for http://
};

Result<TlsMaterial> loadTlsMaterial(const Config& cfg);

}  // namespace regiongate::gateway
