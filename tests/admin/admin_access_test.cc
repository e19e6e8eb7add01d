// admin::decideAdmin (src/admin/admin_access.h): route, token and scope decisions without a
// socket. The real listener is exercised by admin_routes_test.cc.
#include "admin/admin_access.h"

#include <gtest/gtest.h>

#include "common/hash.h"

namespace regiongate::admin {
namespace {

const std::string kOps = "tok-operate", kView = "tok-read";

AdminConfig withTokens() {
  AdminConfig c;
  c.tokens.push_back({"ops", sha256Hex(kOps), AdminScope::Operate, {}});
  c.tokens.push_back({"viewer", sha256Hex(kView), AdminScope::Read, {}});
  return c;
}

std::string bearer(const std::string& t) { return "Bearer " + t; }

TEST(AdminAccess, RoutesAndTheirMethods) {
  AdminConfig c = withTokens();
  struct Case { const char* method; const char* target; AdminRoute route; bool mutating, allowed_method; };
  const Case cases[] = {
      {"GET", "/metrics", AdminRoute::Metrics, false, true},
      {"GET", "/", AdminRoute::Dashboard, false, true},
      {"GET", "/healthz", AdminRoute::Healthz, false, true},
      {"GET", "/readyz?verbose=1", AdminRoute::Readyz, false, true},
      {"GET", "/admin/status", AdminRoute::Status, false, true},
      {"GET", "/admin/rollouts", AdminRoute::Rollouts, false, true},
      {"GET", "/admin/rollouts/eu-central-1/m", AdminRoute::Rollouts, false, true},
      {"POST", "/admin/rollouts", AdminRoute::Rollouts, true, true},
      {"POST", "/admin/rollouts/eu-central-1/m/abort", AdminRoute::Rollouts, true, true},
      {"POST", "/admin/reload", AdminRoute::Reload, true, true},
      {"GET", "/admin/reload", AdminRoute::Reload, false, false},
      {"DELETE", "/admin/rollouts", AdminRoute::Rollouts, false, false},
      {"POST", "/admin/status", AdminRoute::Status, false, false},
      {"GET", "/admin/rolloutsX", AdminRoute::NotFound, false, true},
      {"GET", "/nope", AdminRoute::NotFound, false, true},
  };
  for (const auto& k : cases) {
    auto d = decideAdmin(c, k.method, k.target, bearer(kOps));
    EXPECT_EQ(d.route, k.route) << k.method << " " << k.target;
    EXPECT_EQ(d.mutating, k.mutating) << k.method << " " << k.target;
    EXPECT_EQ(d.method_allowed, k.allowed_method) << k.method << " " << k.target;
    EXPECT_TRUE(d.allowed) << k.method << " " << k.target;
  }
}

TEST(AdminAccess, PublicPathsNeedNoTokenForReadsOnly) {
  AdminConfig c = withTokens();
  for (const char* p : {"/metrics", "/healthz", "/readyz"}) {
    auto d = decideAdmin(c, "GET", p, "");
    EXPECT_TRUE(d.allowed) << p;
    EXPECT_EQ(d.token_name, "") << p;
  }
  // Not public: a token is needed.
  EXPECT_EQ(decideAdmin(c, "GET", "/admin/status", "").status, 401u);
  // A public path list that names a mutation does not open it.
  c.public_paths.push_back("/admin/reload");
  auto d = decideAdmin(c, "POST", "/admin/reload", "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.status, 401u);
}

TEST(AdminAccess, MissingOrInvalidTokensAre401) {
  AdminConfig c = withTokens();
  for (const char* auth : {"", "Bearer ", "Basic b3BzOm9wcw==", "Bearer wrong", "tok-operate"}) {
    auto d = decideAdmin(c, "POST", "/admin/reload", auth);
    EXPECT_FALSE(d.allowed) << auth;
    EXPECT_EQ(d.status, 401u) << auth;
    EXPECT_EQ(d.token_name, "") << auth;
  }
  EXPECT_EQ(decideAdmin(c, "GET", "/admin/status", "").code, "missing_admin_token");
  EXPECT_EQ(decideAdmin(c, "GET", "/admin/status", "Bearer x").code, "invalid_admin_token");
  // A digest configured as the token is not the token.
  EXPECT_EQ(decideAdmin(c, "GET", "/admin/status", bearer(sha256Hex(kOps))).status, 401u);
}

TEST(AdminAccess, ReadTokensReadAndOperateTokensChange) {
  AdminConfig c = withTokens();
  auto read = decideAdmin(c, "GET", "/admin/status", bearer(kView));
  EXPECT_TRUE(read.allowed);
  EXPECT_EQ(read.token_name, "viewer");
  auto denied = decideAdmin(c, "POST", "/admin/rollouts/r/m/promote", bearer(kView));
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.status, 403u);
  EXPECT_EQ(denied.code, "insufficient_scope");
  EXPECT_EQ(denied.token_name, "viewer");
  auto ok = decideAdmin(c, "POST", "/admin/reload", "bearer  " + kOps + " ");
  EXPECT_TRUE(ok.allowed);
  EXPECT_EQ(ok.token_name, "ops");
}

TEST(AdminAccess, WithoutTokensReadsAreOpenAndChangesRefused) {
  AdminConfig none;
  EXPECT_TRUE(mutationsDisabled(none));
  EXPECT_TRUE(decideAdmin(none, "GET", "/admin/status", "").allowed);
  for (const char* t : {"/admin/reload", "/admin/rollouts"}) {
    auto d = decideAdmin(none, "POST", t, "Bearer anything");
    EXPECT_FALSE(d.allowed) << t;
    EXPECT_EQ(d.status, 403u) << t;
    EXPECT_EQ(d.code, "admin_mutations_disabled") << t;
  }
  // Only read tokens: changes are refused for everyone, reads need the token.
  AdminConfig readers;
  readers.tokens.push_back({"viewer", sha256Hex(kView), AdminScope::Read, {}});
  EXPECT_TRUE(mutationsDisabled(readers));
  EXPECT_EQ(decideAdmin(readers, "POST", "/admin/reload", bearer(kView)).status, 403u);
  EXPECT_EQ(decideAdmin(readers, "GET", "/admin/status", "").status, 401u);
}

}  // namespace
}  // namespace regiongate::admin
