// The body of POST /admin/rollouts (src/rollout/start_request.h), checked before the manager
// looks at the config: required fields, versions as peer strings, steps.
#include "rollout/start_request.h"

#include <gtest/gtest.h>

namespace regiongate::rollout {
namespace {

TEST(StartRequest, ParsesTheFieldsAndOptionalOverrides) {
  auto r = parseStartRequest(
      R"({"region":"eu-central-1","model":"m","to":"v2","from":"v1","green_endpoints":["a","b"],)"
      R"("steps":[25,100],"step_ms":150,"min_requests":5,"max_error_rate":0.1})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->region, "eu-central-1");
  EXPECT_EQ(r->to_version, "v2");
  EXPECT_EQ(r->from_version, "v1");
  EXPECT_EQ(r->green_endpoints, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->steps, (std::vector<uint32_t>{25, 100}));
  EXPECT_EQ(r->step_ms, 150u);
  EXPECT_EQ(r->min_requests, 5u);
  EXPECT_EQ(r->max_error_rate, 0.1);
  EXPECT_FALSE(r->step_max_ms.has_value());
  auto minimal = parseStartRequest(R"({"region":"r","model":"m","to":"v2"})");
  ASSERT_TRUE(minimal.ok());
  EXPECT_FALSE(minimal->green_endpoints.has_value());
  EXPECT_FALSE(minimal->steps.has_value());
}

TEST(StartRequest, RefusesBadBodiesWithTypedCodes) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "invalid_json"},
      {"[1]", "invalid_json"},
      {R"({"region":"r","model":"m"})", "missing_field"},
      {R"({"region":"r","model":"m","to":"v2\r\nx-evil: 1"})", "invalid_version"},
      {R"({"region":"r","model":"m","to":"v2","from":"a b"})", "invalid_version"},
      {R"({"region":"r","model":"m","to":"v2","steps":[50,40,100]})", "invalid_steps"},
      {R"({"region":"r","model":"m","to":"v2","steps":[10,50]})", "invalid_steps"},
      {R"({"region":"r","model":"m","to":"v2","steps":[]})", "invalid_steps"},
  };
  for (const auto& [body, code] : cases) {
    auto r = parseStartRequest(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, code) << body;
  }
  auto crlf = parseStartRequest(R"({"region":"r","model":"m","to":"v2\r\nx-evil: 1"})");
  EXPECT_NE(crlf.error().message.find("v2\\x0d\\x0ax-evil: 1"), std::string::npos)
      << crlf.error().message;
}

}  // namespace
}  // namespace regiongate::rollout
