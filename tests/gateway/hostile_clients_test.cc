// Integration: hostile clients against the real `regiongate serve` on loopback:
// slowloris, pipelined garbage, huge headers and 10k idle connections. In each case the hostile
// connections get the typed answer of src/http/server.cc (408 request_timeout, 400 bad_request,
// 431 headers_too_large, 503 too_many_connections) or a silent close, the limit counter moves,
// and a normal client is served meanwhile. Sockets here are raw POSIX (non-blocking, poll with a
// deadline) so that every wait is bounded and thousands of them fit in one thread.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <boost/beast/http/parser.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "gateway_fixture.h"
#include "raw_client.h"

namespace regiongate::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string chatBody(const std::string& content) {
  return "{\"model\":\"llama-3.1-8b\",\"stream\":false,\"messages\":[{\"role\":\"user\","
         "\"content\":\"" + content + "\"}]}";
}

std::string chatRequest(const std::string& key, const std::string& content,
                        const std::string& extra_headers = "") {
  std::string body = chatBody(content);
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + key +
         "\r\nContent-Type: application/json\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

double limitCount(Deployment& d, const std::string& kind) {
  return Deployment::metricSum(d.metrics(), "regiongate_limit_rejections_total",
                               {"kind=\"" + kind + "\""});
}

// Connections the gateway has accepted on `port`: established TCP sockets (IPv4) whose local port
// is the gateway's and that belong to a file (inode != 0; a connection still waiting in the
// listen backlog has none). From /proc/PID/net/tcp, the gateway's network namespace.
size_t acceptedConnections(pid_t pid, uint16_t port) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/net/tcp");
  std::string line;
  size_t n = 0;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, queues, timer, retransmits, uid, timeout, inode;
    if (!(f >> sl >> local >> remote >> st >> queues >> timer >> retransmits >> uid >> timeout >>
          inode))
      continue;
    auto colon = local.find(':');
    if (colon == std::string::npos || st != "01" || inode == "0") continue;
    if (std::strtoul(local.c_str() + colon + 1, nullptr, 16) == port) ++n;
  }
  return n;
}

// VmRSS of a process in KiB (0 if unreadable).
uint64_t rssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

// ---------------------------------------------------------------------------------- slowloris

// Many connections trickle a request head one byte at a time, far slower than
// limits.read_timeout_ms allows: each gets a typed 408 request_timeout and is closed, no earlier
// than the timeout; connections that never send a byte are closed silently after
// limits.idle_timeout_ms. A normal client is answered while they are all still open.
TEST(HostileClients, SlowlorisConnectionsAreTimedOutAndOthersAreServed) {
  constexpr int kSlow = 64;
  constexpr int kSilent = 16;
  constexpr int kReadTimeoutMs = 1000;
  constexpr int kTickMs = 100;  // one byte per connection per tick: ~10 bytes before the timeout
  Deployment d;
  GatewaySettings s;
  s.read_timeout_ms = kReadTimeoutMs;
  s.limits_extra = ", idle_timeout_ms: 1500";
  ASSERT_TRUE(d.startGateway(s));
  ASSERT_EQ(d.chat(kEuKey, "warm up").status, 200);
  const double timeouts_before = limitCount(d, "request_timeout");

  const std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                           kEuKey + "\r\nX-Slow: " + std::string(4096, 'a');
  std::vector<std::unique_ptr<RawConn>> slow, silent;
  for (int i = 0; i < kSlow; ++i) slow.push_back(std::make_unique<RawConn>(d.port()));
  for (int i = 0; i < kSilent; ++i) silent.push_back(std::make_unique<RawConn>(d.port()));
  for (auto& c : slow) ASSERT_TRUE(c->waitConnected());
  for (auto& c : silent) ASSERT_TRUE(c->waitConnected());

  std::vector<size_t> sent(kSlow, 0);
  std::vector<Clock::time_point> first_byte(kSlow), closed_at(kSlow);
  int served_status = 0;
  int open_when_served = -1;
  auto t0 = Clock::now();
  // The attacker's pace: one byte per connection per tick, for at most 15 s. The poll() between
  // ticks is the pacing (and collects the gateway's answers), not synchronisation.
  auto still_open = [&](int i) {  // reads what arrived; records when the gateway closed it
    auto& c = *slow[i];
    if (c.closed()) return false;
    if (c.drain()) return true;
    closed_at[i] = Clock::now();
    return false;
  };
  for (int tick = 0; tick < 150; ++tick) {
    int open = 0;
    for (int i = 0; i < kSlow; ++i) {
      auto& c = *slow[i];
      if (!still_open(i)) continue;
      ++open;
      if (sent[i] < head.size() && c.send(head.substr(sent[i], 1), 100) == 1) {
        if (sent[i] == 0) first_byte[i] = Clock::now();
        ++sent[i];
      }
    }
    if (tick == 3) {
      // Meanwhile, a normal client on its own connection.
      auto r = d.chat(kEuKey, "served during slowloris");
      served_status = r.status;
      open_when_served = 0;
      for (int i = 0; i < kSlow; ++i) open_when_served += still_open(i) ? 1 : 0;
    }
    if (open == 0 && tick > 3) break;
    std::vector<pollfd> fds;
    for (auto& c : slow)
      if (!c->closed()) fds.push_back(pollfd{c->fd(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), kTickMs);
  }
  EXPECT_EQ(served_status, 200);
  EXPECT_GT(open_when_served, 0) << "the normal request was only answered after the slowloris "
                                    "connections were gone";
  for (int i = 0; i < kSlow; ++i) {
    auto& c = *slow[i];
    ASSERT_TRUE(c.closed()) << "slow connection " << i << " still open after " << msSince(t0)
                            << " ms; sent " << sent[i] << " bytes";
    auto responses = parseResponses(c.received());
    ASSERT_EQ(responses.size(), 1u) << c.received();
    EXPECT_EQ(responses[0].status, 408) << c.received();
    EXPECT_NE(responses[0].body.find("\"code\":\"request_timeout\""), std::string::npos)
        << responses[0].body;
    EXPECT_EQ(responses[0].header("connection"), "close");
    // The gateway's timer starts when it reads the first byte, which is after we sent it.
    EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(closed_at[i] - first_byte[i])
                  .count(), kReadTimeoutMs - 5)
        << "connection " << i << " was closed before the read timeout";
    EXPECT_LT(sent[i], head.size()) << "the head was complete: not a slowloris";
  }
  // Silent connections: closed by the idle timeout, without an answer.
  for (size_t i = 0; i < silent.size(); ++i) {
    auto& c = *silent[i];
    EXPECT_TRUE(c.readUntilClosed(10000)) << "silent connection " << i << " never closed";
    EXPECT_EQ(c.received(), "");
  }
  EXPECT_GE(limitCount(d, "request_timeout") - timeouts_before, kSlow);
  EXPECT_EQ(d.chat(kEuKey, "after slowloris").status, 200);
}

// ---------------------------------------------------------------------------------- pipelining

// A valid request followed by garbage on the same connection: the request is answered 200, the
// garbage gets a typed 400 bad_request, and the connection closes.
TEST(HostileClients, PipelinedGarbageAfterAValidRequestGets400AndClose) {
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  const double bad_before = limitCount(d, "bad_request");
  RawConn c(d.port());
  ASSERT_TRUE(c.waitConnected());
  std::string bytes = chatRequest(kEuKey, "valid first") +
                      std::string("\x01\x02\x03 GARBAGE \xff\xfe not http at all\r\n\r\n");
  ASSERT_EQ(c.send(bytes), bytes.size());
  ASSERT_TRUE(c.readUntilClosed(15000)) << "connection not closed; got: " << c.received();
  std::string rest;
  auto responses = parseResponses(c.received(), &rest);
  ASSERT_EQ(responses.size(), 2u) << c.received();
  EXPECT_EQ(responses[0].status, 200) << responses[0].body;
  EXPECT_NE(responses[0].body.find("\"choices\""), std::string::npos) << responses[0].body;
  EXPECT_EQ(responses[1].status, 400) << responses[1].body;
  EXPECT_NE(responses[1].body.find("\"code\":\"bad_request\""), std::string::npos)
      << responses[1].body;
  EXPECT_EQ(responses[1].header("connection"), "close");
  EXPECT_EQ(rest, "");
  EXPECT_GE(limitCount(d, "bad_request") - bad_before, 1);
  EXPECT_EQ(d.chat(kEuKey, "others still served").status, 200);
}

// Several valid requests pipelined in one write (two tenants, two pinned regions, a models list)
// are answered in order on the same connection; the last asks to close it.
TEST(HostileClients, PipelinedValidRequestsAreAnsweredInOrder) {
  Deployment d;
  ASSERT_TRUE(d.startGateway());
  RawConn c(d.port());
  ASSERT_TRUE(c.waitConnected());
  std::string bytes =
      chatRequest(kEuKey, "one", "x-regiongate-region: eu-west-1\r\n") +
      "GET /v1/models HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + kEuKey + "\r\n\r\n" +
      chatRequest(kEuKey, "three", "x-regiongate-region: eu-central-1\r\n") +
      chatRequest(kUsKey, "four", "x-regiongate-region: us-west-2\r\nConnection: close\r\n");
  ASSERT_EQ(c.send(bytes), bytes.size());
  ASSERT_TRUE(c.readUntilClosed(15000)) << "connection not closed; got: " << c.received();
  std::string rest;
  auto r = parseResponses(c.received(), &rest);
  ASSERT_EQ(r.size(), 4u) << c.received();
  EXPECT_EQ(r[0].status, 200) << r[0].body;
  EXPECT_EQ(r[0].header("x-regiongate-region"), "eu-west-1");
  EXPECT_NE(r[0].body.find("\"choices\""), std::string::npos) << r[0].body;
  EXPECT_EQ(r[1].status, 200) << r[1].body;
  EXPECT_NE(r[1].body.find("\"object\":\"list\""), std::string::npos) << r[1].body;
  EXPECT_EQ(r[1].header("x-regiongate-jurisdiction"), "EU");
  EXPECT_EQ(r[2].status, 200) << r[2].body;
  EXPECT_EQ(r[2].header("x-regiongate-region"), "eu-central-1");
  EXPECT_EQ(r[3].status, 200) << r[3].body;
  EXPECT_EQ(r[3].header("x-regiongate-region"), "us-west-2");
  EXPECT_EQ(r[3].header("x-regiongate-jurisdiction"), "US");
  EXPECT_EQ(rest, "");
  // Each reached the backend it was pinned to, once.
  EXPECT_EQ(d.requestIdsAt("dub-a").count(r[0].header("x-regiongate-request-id")), 1u);
  EXPECT_EQ(d.requestIdsAt("pdx-a").count(r[3].header("x-regiongate-request-id")), 1u);
}

// ---------------------------------------------------------------------------------- huge headers

// Request heads over limits.max_header_bytes (one huge header, many small ones, a 1 MiB header
// streamed as fast as the gateway takes it) get a typed 431 headers_too_large and a close; a
// keep-alive client opened before keeps being served, and so do new ones.
TEST(HostileClients, HugeHeadersGet431AndOthersKeepWorking) {
  constexpr int kMaxHeaderBytes = 4096;
  Deployment d;
  GatewaySettings s;
  s.limits_extra = ", max_header_bytes: " + std::to_string(kMaxHeaderBytes);
  ASSERT_TRUE(d.startGateway(s));
  HttpClient keep(d.port());
  auto auth = std::vector<std::pair<std::string, std::string>>{{"authorization", "Bearer " + kEuKey}};
  ASSERT_EQ(keep.post("/v1/chat/completions", chatBody("before"), auth).status, 200);
  const double before = limitCount(d, "headers_too_large");

  std::string many;
  for (int i = 0; i < 400; ++i) many += "X-Filler-" + std::to_string(i) + ": abcdefghijklmnop\r\n";
  const std::vector<std::pair<std::string, std::string>> attacks = {
      {"one 8 KiB header", chatRequest(kEuKey, "x", "X-Big: " + std::string(8192, 'b') + "\r\n")},
      {"400 small headers", chatRequest(kEuKey, "x", many)},
      {"1 MiB header", chatRequest(kEuKey, "x", "X-Huge: " + std::string(1 << 20, 'h') + "\r\n")},
      {"oversized request line", "GET /v1/models?" + std::string(16384, 'q') +
                                     " HTTP/1.1\r\nHost: t\r\n\r\n"},
  };
  for (const auto& [name, bytes] : attacks) {
    RawConn c(d.port());
    ASSERT_TRUE(c.waitConnected()) << name;
    c.send(bytes, 5000);  // the gateway may stop reading (and close) before taking it all
    EXPECT_TRUE(c.readUntilClosed(10000)) << name << ": connection not closed";
    auto r = parseResponses(c.received());
    ASSERT_EQ(r.size(), 1u) << name << ": " << c.received() << (c.reset() ? " (reset)" : "");
    EXPECT_EQ(r[0].status, 431) << name << ": " << r[0].body;
    EXPECT_NE(r[0].body.find("\"code\":\"headers_too_large\""), std::string::npos)
        << name << ": " << r[0].body;
    // The keep-alive client in the middle of it all.
    EXPECT_EQ(keep.post("/v1/chat/completions", chatBody("during " + name), auth).status, 200)
        << name;
  }
  EXPECT_GE(limitCount(d, "headers_too_large") - before, static_cast<double>(attacks.size()));
  // A head just under the limit is still accepted.
  RawConn ok(d.port());
  ASSERT_TRUE(ok.waitConnected());
  std::string fine = chatRequest(kEuKey, "fits", "X-Medium: " + std::string(kMaxHeaderBytes / 2, 'm') +
                                                     "\r\nConnection: close\r\n");
  ASSERT_EQ(ok.send(fine), fine.size());
  ASSERT_TRUE(ok.readUntilClosed(15000));
  auto fr = parseResponses(ok.received());
  ASSERT_EQ(fr.size(), 1u) << ok.received();
  EXPECT_EQ(fr[0].status, 200) << fr[0].body;
  EXPECT_EQ(d.chat(kUsKey, "after").status, 200);
}

// ---------------------------------------------------------------------------------- 10k idle

// Raises the soft RLIMIT_NOFILE to at least `want` (up to the hard limit) for this process and
// the gateway it starts afterwards; restores the old value on destruction.
class FdLimit {
public:
  explicit FdLimit(rlim_t want) {
    ::getrlimit(RLIMIT_NOFILE, &old_);
    rlimit r = old_;
    if (r.rlim_cur < want) r.rlim_cur = std::min<rlim_t>(want, r.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &r);
    ::getrlimit(RLIMIT_NOFILE, &now_);
  }
  ~FdLimit() { ::setrlimit(RLIMIT_NOFILE, &old_); }
  rlim_t soft() const { return now_.rlim_cur; }
  rlim_t hard() const { return now_.rlim_max; }

private:
  rlimit old_{}, now_{};
};

// The documented bound (docs/operations.md): with 10 000 idle connections the gateway's VmRSS
// stays under 256 MiB (measured ~95 MiB, bench/memory.sh). Sanitizer builds carry shadow memory
// and redzones, so their bound is wider.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr uint64_t kIdleRssBoundMiB = 1024;
#else
constexpr uint64_t kIdleRssBoundMiB = 256;
#endif

// ThreadSanitizer looks for races, not capacity; 10 000 connections take minutes under it.
#if defined(__SANITIZE_THREAD__)
constexpr size_t kIdle = 2000;
#else
constexpr size_t kIdle = 10000;
#endif

TEST(HostileClients, TenThousandIdleConnectionsLeaveTheGatewayServingWithBoundedMemory) {
  constexpr size_t kOverLimit = 3;
  FdLimit limit(kIdle + 1024);
  if (limit.soft() < kIdle + 512)
    GTEST_SKIP() << "RLIMIT_NOFILE hard limit is " << limit.hard() << "; this test needs "
                 << kIdle + 512 << " descriptors for " << kIdle
                 << " idle connections (raise it with `ulimit -Hn` or LimitNOFILE)";
  Deployment d;
  GatewaySettings s;
  // Room for the idle connections plus exactly one normal client; idle ones are not timed out.
  s.limits_extra = ", idle_timeout_ms: 120000, max_connections: " + std::to_string(kIdle + 1);
  ASSERT_TRUE(d.startGateway(s));
  const pid_t gw = d.gatewayProcess().pid();
  const uint64_t rss_before = rssKiB(gw);
  ASSERT_GT(rss_before, 0u) << "cannot read /proc/" << gw << "/status";
  ASSERT_EQ(acceptedConnections(gw, d.port()), 0u);

  // Open them in batches (the listen backlog is finite); each batch must be established.
  std::vector<std::unique_ptr<RawConn>> idle;
  idle.reserve(kIdle);
  auto t0 = Clock::now();
  for (size_t i = 0; i < kIdle; i += 500) {
    size_t first = idle.size();
    for (size_t k = 0; k < 500 && idle.size() < kIdle; ++k) {
      idle.push_back(std::make_unique<RawConn>(d.port()));
      ASSERT_TRUE(idle.back()->ok()) << "socket() failed at " << idle.size() << ": "
                                     << std::strerror(errno);
    }
    for (size_t k = first; k < idle.size(); ++k)
      ASSERT_TRUE(idle[k]->waitConnected(20000)) << "connection " << k << " not established";
  }
  // Wait (bounded) until the gateway has accepted every one.
  size_t accepted = 0;
  for (int i = 0; i < 600; ++i) {
    accepted = acceptedConnections(gw, d.port());
    if (accepted >= kIdle) break;
    pollfd none{-1, 0, 0};
    ::poll(&none, 1, 50);  // bounded poll of /proc, not a synchronising sleep
  }
  ASSERT_GE(accepted, kIdle) << "the gateway accepted only " << accepted << " of " << kIdle
                             << " connections in " << msSince(t0) << " ms";
  const uint64_t rss_idle = rssKiB(gw);

  // A normal client is served (it takes the last free slot and keeps its connection).
  HttpClient normal(d.port());
  auto auth = std::vector<std::pair<std::string, std::string>>{{"authorization", "Bearer " + kEuKey}};
  auto r = normal.post("/v1/chat/completions", chatBody("among 10k idle"), auth);
  EXPECT_EQ(r.status, 200) << r.error << r.body;

  // Connections beyond max_connections: typed 503 too_many_connections and a close.
  const double refused_before = limitCount(d, "too_many_connections");
  for (size_t i = 0; i < kOverLimit; ++i) {
    RawConn extra(d.port());
    ASSERT_TRUE(extra.waitConnected());
    EXPECT_TRUE(extra.readUntilClosed(10000)) << "over-limit connection " << i << " not closed";
    auto er = parseResponses(extra.received());
    ASSERT_EQ(er.size(), 1u) << extra.received();
    EXPECT_EQ(er[0].status, 503) << er[0].body;
    EXPECT_NE(er[0].body.find("\"code\":\"too_many_connections\""), std::string::npos) << er[0].body;
  }
  EXPECT_GE(limitCount(d, "too_many_connections") - refused_before, static_cast<double>(kOverLimit));
  // The keep-alive client still has its slot.
  EXPECT_EQ(normal.post("/v1/chat/completions", chatBody("still here"), auth).status, 200);

  // None of the idle connections was closed or answered by the gateway.
  size_t closed = 0, answered = 0;
  for (auto& c : idle) {
    if (!c->drain()) ++closed;
    if (!c->received().empty()) ++answered;
  }
  EXPECT_EQ(closed, 0u);
  EXPECT_EQ(answered, 0u);

  const uint64_t rss_peak = std::max(rss_idle, rssKiB(gw));
  std::printf("[ hostile ] gateway VmRSS: %.1f MiB before, %.1f MiB with %zu idle connections "
              "(~%lld B/connection); bound %llu MiB\n",
              rss_before / 1024.0, rss_peak / 1024.0, kIdle,
              static_cast<long long>((rss_idle - std::min(rss_idle, rss_before)) * 1024 / kIdle),
              static_cast<unsigned long long>(kIdleRssBoundMiB));
  EXPECT_LT(rss_peak, kIdleRssBoundMiB * 1024)
      << "gateway RSS " << rss_peak / 1024 << " MiB with " << kIdle << " idle connections";

  // Once they go, the slots are free again: a new connection is served.
  idle.clear();
  normal.socket().close();
  int status = 0;
  for (int i = 0; i < 200 && status != 200; ++i) {  // bounded: the gateway notices the closes
    HttpClient again(d.port());
    status = again.post("/v1/chat/completions", chatBody("after"), auth).status;
    if (status != 200) {
      pollfd none{-1, 0, 0};
      ::poll(&none, 1, 50);
    }
  }
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace regiongate::testing
