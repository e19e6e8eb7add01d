#include "admin/admin_access.h"

#include <algorithm>

#include "common/hash.h"

namespace regiongate::admin {

std::string_view routeName(AdminRoute r) {
  switch (r) {
    case AdminRoute::Metrics: return "metrics";
    case AdminRoute::Dashboard: return "dashboard";
    case AdminRoute::Healthz: return "healthz";
    case AdminRoute::Readyz: return "readyz";
    case AdminRoute::Status: return "status";
    case AdminRoute::Rollouts: return "rollouts";
    case AdminRoute::Reload: return "reload";
    case AdminRoute::NotFound: return "not_found";
  }
  return "not_found";
}

namespace {

// Which route a path names, and whether `method` is one it serves (GET reads, POST mutations).
void route(AdminDecision& d, std::string_view method) {
  const bool get = method == "GET", post = method == "POST";
  const std::string_view p = d.path;
  d.method_allowed = get;
  if (p == "/metrics") d.route = AdminRoute::Metrics;
  else if (p == "/") d.route = AdminRoute::Dashboard;
  else if (p == "/healthz") d.route = AdminRoute::Healthz;
  else if (p == "/readyz") d.route = AdminRoute::Readyz;
  else if (p == "/admin/status") d.route = AdminRoute::Status;
  else if (p == "/admin/reload") {
    d.route = AdminRoute::Reload;
    d.method_allowed = post;
    d.mutating = post;
  } else if (p == "/admin/rollouts" || p.starts_with("/admin/rollouts/")) {
    d.route = AdminRoute::Rollouts;
    d.method_allowed = get || post;
    d.mutating = post;
  } else {
    d.route = AdminRoute::NotFound;
    d.method_allowed = true;  // 404 rather than 405
  }
}

// The token after "Bearer " (scheme case-insensitive), or "" when there is none.
std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return {};
  }
  std::string_view t = authorization.substr(kScheme.size());
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

// The configured token whose digest matches, or nullptr. Every digest is compared, each in
// constant time, so the time taken says nothing about how close a guess was.
const AdminTokenConfig* matchToken(const AdminConfig& cfg, std::string_view token) {
  const std::string digest = sha256Hex(token);
  const AdminTokenConfig* found = nullptr;
  for (const auto& t : cfg.tokens)
    if (constantTimeEquals(digest, t.sha256)) found = &t;
  return found;
}

AdminDecision& refuse(AdminDecision& d, unsigned status, std::string_view code,
                      std::string_view message) {
  d.allowed = false;
  d.status = status;
  d.code = code;
  d.message = message;
  return d;
}

}  // namespace

bool mutationsDisabled(const AdminConfig& cfg) {
  return std::none_of(cfg.tokens.begin(), cfg.tokens.end(),
                      [](const AdminTokenConfig& t) { return t.scope == AdminScope::Operate; });
}

AdminDecision decideAdmin(const AdminConfig& cfg, std::string_view method, std::string_view target,
                          std::string_view authorization) {
  AdminDecision d;
  d.path = target.substr(0, target.find('?'));
  route(d, method);
  const bool is_public = std::find(cfg.public_paths.begin(), cfg.public_paths.end(), d.path) !=
                         cfg.public_paths.end();
  if (!d.mutating && (is_public || cfg.tokens.empty())) {
    d.allowed = true;
    return d;
  }
  if (d.mutating && mutationsDisabled(cfg))
    return refuse(d, 403, "admin_mutations_disabled",
                  "no admin token with scope operate is configured (admin.tokens), so this "
                  "listener refuses every change");
  std::string_view token = bearerToken(authorization);
  if (token.empty())
    return refuse(d, 401, "missing_admin_token",
                  "this admin path needs a bearer token (Authorization: Bearer TOKEN)");
  const AdminTokenConfig* t = matchToken(cfg, token);
  if (!t) return refuse(d, 401, "invalid_admin_token", "the admin token is not valid");
  d.token_name = t->name;
  if (d.mutating && t->scope != AdminScope::Operate)
    return refuse(d, 403, "insufficient_scope",
                  "this admin token has scope read; changes need scope operate");
  d.allowed = true;
  return d;
}

}  // namespace regiongate::admin
