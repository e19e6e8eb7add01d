// The SigV4 signer against AWS's documented example and against botocore (Debian's
// python3-botocore, run as a child process): same request, time and credentials, same
// Authorization header.
#include "upstream/sigv4.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "common/json.h"
#include "testing/process.h"

namespace regiongate::upstream {
namespace {

const char* kPython = "/usr/bin/python3";  // Debian's, where python3-botocore is installed

std::string jsonField(const std::string& json, const std::string& name) {
  std::string key = "\"" + name + "\": \"";
  auto p = json.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  auto e = json.find('"', p);
  return e == std::string::npos ? "" : json.substr(p, e - p);
}

struct Case {
  std::string method, host, path, query, body, content_type, token, region, service;
  int64_t when;
};

// botocore's Authorization for the same request, or "" if it could not run.
std::string botocoreAuthorization(const Case& c, const std::string& amz_date) {
  std::string headers = "{\"Host\":" + jsonString(c.host);
  if (!c.content_type.empty()) headers += ",\"Content-Type\":" + jsonString(c.content_type);
  headers += "}";
  std::string url = "https://" + c.host + c.path + (c.query.empty() ? "" : "?" + c.query);
  std::string arg = "{\"method\":" + jsonString(c.method) + ",\"url\":" + jsonString(url) +
                    ",\"headers\":" + headers + ",\"body\":" + jsonString(c.body) +
                    ",\"access_key\":\"AKIDEXAMPLE\",\"secret_key\":"
                    "\"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\",\"token\":" +
                    jsonString(c.token) + ",\"region\":" + jsonString(c.region) +
                    ",\"service\":" + jsonString(c.service) + ",\"amz_date\":" +
                    jsonString(amz_date) + "}";
  testing::ChildProcess py;
  std::string script = std::string(REGIONGATE_SOURCE_DIR) + "/tests/providers/botocore_sigv4.py";
  if (!py.start({kPython, script, arg})) return "";
  std::string line = py.waitForLine("{", 20000);
  py.wait(10000);
  return jsonField(line, "authorization");
}

Result<SigV4Signature> ours(const Case& c) {
  SigV4Request r{c.method, c.host, c.path, c.query, {}, c.body};
  if (!c.content_type.empty()) r.headers.emplace_back("Content-Type", c.content_type);
  SigV4Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", c.token};
  return signSigV4(r, creds, c.region, c.service, c.when);
}

TEST(SigV4Test, AwsDocumentedExample) {
  // AWS's SigV4 example (IAM ListUsers, 2015-08-30T12:36:00Z), signature as AWS publishes it.
  Case c{"GET",
         "iam.amazonaws.com",
         "/",
         "Action=ListUsers&Version=2010-05-08",
         "",
         "application/x-www-form-urlencoded; charset=utf-8",
         "",
         "us-east-1",
         "iam",
         1440938160};
  auto s = ours(c);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->amz_date, "20150830T123600Z");
  EXPECT_EQ(s->authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(SigV4Test, MatchesBotocoreOnBedrockShapedRequests) {
  if (access(kPython, X_OK) != 0) GTEST_SKIP() << "no " << kPython;
  const std::vector<Case> cases = {
      // Bedrock runtime's OpenAI-compatible chat completions.
      {"POST", "bedrock-runtime.eu-central-1.amazonaws.com", "/openai/v1/chat/completions", "",
       R"({"model":"eu.meta.llama3","messages":[{"role":"user","content":"Grüße"}]})",
       "application/json", "", "eu-central-1", "bedrock", 1764936000},
      // Session token, a model id with ':' (encoded on the wire, encoded again when signed).
      {"POST", "bedrock-runtime.us-east-1.amazonaws.com",
       "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/invoke", "", "{}",
       "application/json", "FwoGZXIvYXdzEJr//////////wEaDH+token", "us-east-1", "bedrock",
       1767225599},
      // A loopback stand-in (host:port) and an unsorted query.
      {"POST", "127.0.0.1:41234", "/openai/v1/chat/completions", "b=2&a=1&a=0", "x",
       "application/json;  charset=utf-8", "", "eu-west-3", "bedrock", 1700000000},
  };
  for (const auto& c : cases) {
    auto s = ours(c);
    ASSERT_TRUE(s.ok()) << s.error().message;
    std::string expected = botocoreAuthorization(c, s->amz_date);
    ASSERT_FALSE(expected.empty()) << "botocore did not answer for " << c.path;
    EXPECT_EQ(s->authorization, expected) << c.path << "\n" << s->canonical_request;
    EXPECT_EQ(s->security_token, c.token);
  }
}

TEST(SigV4Test, SignatureCoversBodyTimeAndRegion) {
  Case c{"POST", "h", "/p", "", "body", "application/json", "", "eu-central-1", "bedrock", 1700000000};
  auto base = ours(c);
  ASSERT_TRUE(base.ok());
  for (auto change : {+[](Case& x) { x.body = "bodY"; }, +[](Case& x) { x.when += 1; },
                      +[](Case& x) { x.region = "eu-west-1"; }, +[](Case& x) { x.path = "/q"; }}) {
    Case d = c;
    change(d);
    auto other = ours(d);
    ASSERT_TRUE(other.ok());
    EXPECT_NE(other->authorization, base->authorization);
  }
}

TEST(SigV4Test, BadInputsAreTypedErrors) {
  SigV4Request r{"POST", "h", "/", "", {}, ""};
  EXPECT_EQ(signSigV4(r, {"", "s", ""}, "r", "bedrock", 0).error().code, "sigv4_no_credentials");
  EXPECT_EQ(signSigV4(r, {"a", "s", ""}, "", "bedrock", 0).error().code, "sigv4_bad_scope");
  r.headers.emplace_back("x-bad", "a\r\nb: c");
  EXPECT_EQ(signSigV4(r, {"a", "s", ""}, "r", "bedrock", 0).error().code, "sigv4_bad_header");
}

}  // namespace
}  // namespace regiongate::upstream
