#include "common/host_port.h"

#include <gtest/gtest.h>

namespace regiongate {
namespace {

TEST(HostPort, HostWithAndWithoutPort) {
  auto a = parseHostPort("example.com:8080");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->host, "example.com");
  EXPECT_EQ(a->port, 8080);
  auto b = parseHostPort("example.com");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->port.has_value());
  auto v6 = parseHostPort("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_EQ(parseHostPort("[fe80::1]")->host, "fe80::1");
}

TEST(HostPort, RejectsBadInputNamingIt) {
  for (const char* bad : {"", ":80", "h:", "h:65536", "h:8x", "h:+80", "h:-1", "::1:80", "[::1",
                          "[::1]80", "a b:80", "u@h:80", "h/x:80", "h:123456"}) {
    auto r = parseHostPort(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) EXPECT_EQ(r.error().source, ErrorSource::Config) << bad;
  }
  auto r = parseHostPort("h:99999", "http://h:99999/v1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("http://h:99999/v1"), std::string::npos);
}

TEST(HostPort, RequiredPort) {
  EXPECT_TRUE(parseHostPortRequired("127.0.0.1:9901").ok());
  auto r = parseHostPortRequired("127.0.0.1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("HOST:PORT"), std::string::npos);
}

}  // namespace
}  // namespace regiongate
