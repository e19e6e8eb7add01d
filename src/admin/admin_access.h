#pragma once
// Admin listener routing and access control, as one pure decision per request (no socket, no
// I/O: the gateway's handler and the fuzz target call the same function).
//
// Routes and the scope each needs:
//   GET  /metrics /healthz /readyz        read (public by default: admin.public)
//   GET  / (dashboard), /admin/status      read
//   GET  /admin/rollouts[...]              read
//   POST /admin/rollouts[...]              operate
//   POST /admin/reload                     operate
// Tokens are bearer tokens whose SHA-256 is configured (admin.tokens); the presented token is
// hashed and compared with every configured digest in constant time. With no token configured,
// reads are open and mutations are refused (403). Paths under admin.public are readable without
// a token; a mutation always needs an operate token.
#include <string>
#include <string_view>

#include "config/config.h"

namespace regiongate::admin {

enum class AdminRoute { Metrics, Dashboard, Healthz, Readyz, Status, Rollouts, Reload, NotFound };
std::string_view routeName(AdminRoute r);

struct AdminDecision {
  AdminRoute route = AdminRoute::NotFound;
  std::string_view path;     // the target without its query (a view into the target)
  bool mutating = false;     // the request changes state (needs operate)
  bool method_allowed = true;  // false: answer 405 (after access was granted)
  bool allowed = false;
  // Refused: the status (401, 403), a stable error code and a message for the client.
  unsigned status = 200;
  std::string_view code;
  std::string_view message;
  std::string token_name;  // the token used; "" when none was needed (public path, open reads)
};

// `authorization`: the request's Authorization header value ("" when absent).
AdminDecision decideAdmin(const AdminConfig& cfg, std::string_view method, std::string_view target,
                          std::string_view authorization);

// True when the config has no token that may mutate (mutations are then refused).
bool mutationsDisabled(const AdminConfig& cfg);

}  // namespace regiongate::admin
