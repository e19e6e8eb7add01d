#pragma once
// Test support: a real nginx (Debian nginx-light) on loopback as a plain-HTTP round-robin load
// balancer in front of several gateway replicas, as a Kubernetes Service or an L7 balancer would
// spread clients over pods. Its access log names, per request, the replica that answered
// ($upstream_addr) and the request id that replica gave it (x-regiongate-request-id), so a test
// can join what the client sent with what each backend received. Header-only; stopped by PID.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/process.h"

namespace regiongate::testing {

class NginxRoundRobin {
public:
  ~NginxRoundRobin() { proc_.stop(); }

  static std::string binary() { return access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : ""; }

  // Writes the config, starts nginx and waits (bounded) until it accepts connections.
  bool start(const std::vector<uint16_t>& upstream_ports) {
    dir_ = makeTempDir("nginx-lb");
    port_ = freePort();
    std::ostringstream c;
    c << "worker_processes 1;\ndaemon off;\npid " << dir_ << "/nginx.pid;\n"
      << "error_log " << dir_ << "/error.log warn;\nevents { worker_connections 512; }\nhttp {\n"
      << "  log_format replica '$upstream_addr $upstream_http_x_regiongate_request_id $status';\n"
      << "  client_body_temp_path " << dir_ << "/body;\n  proxy_temp_path " << dir_ << "/proxy;\n"
      << "  fastcgi_temp_path " << dir_ << "/fastcgi;\n  uwsgi_temp_path " << dir_ << "/uwsgi;\n"
      << "  scgi_temp_path " << dir_ << "/scgi;\n  upstream replicas {\n";
    for (uint16_t p : upstream_ports) c << "    server 127.0.0.1:" << p << " max_fails=0;\n";
    // Kept-alive connections to the replicas, as a production balancer keeps them: a new
    // loopback connection per request churns thousands of ports through TIME_WAIT in a test.
    c << "    keepalive 16;\n  }\n  server {\n    listen 127.0.0.1:" << port_ << ";\n"
      << "    access_log " << dir_ << "/access.log replica;\n"
      << "    location / {\n      proxy_pass http://replicas;\n      proxy_http_version 1.1;\n"
      << "      proxy_set_header Connection \"\";\n      proxy_buffering off;\n"
      << "      proxy_next_upstream error timeout non_idempotent;\n    }\n  }\n}\n";
    std::ofstream(dir_ + "/nginx.conf") << c.str();
    std::string bin = binary();
    if (bin.empty() || port_ == 0) return false;
    if (!proc_.start({bin, "-p", dir_, "-c", dir_ + "/nginx.conf", "-e", dir_ + "/error.log"},
                     dir_ + "/stderr.log"))
      return false;
    return waitAccepting();
  }

  uint16_t port() const { return port_; }

  // (upstream port, request id, status) of every request nginx finished so far.
  struct Line {
    uint16_t upstream = 0;
    std::string request_id;
    int status = 0;
  };
  std::vector<Line> accessLog() const {
    std::vector<Line> out;
    std::ifstream in(dir_ + "/access.log");
    std::string line;
    while (std::getline(in, line)) {
      // "$upstream_addr $request_id $status"; a retried request lists every upstream tried
      // ("a:1, b:2 id 200"): the last one answered.
      std::istringstream words(line);
      std::vector<std::string> w;
      for (std::string x; words >> x;) w.push_back(x);
      if (w.size() < 3) continue;
      const std::string& addr = w[w.size() - 3];
      auto colon = addr.rfind(':');
      Line l;
      l.upstream = colon == std::string::npos ? 0 : static_cast<uint16_t>(std::atoi(addr.c_str() + colon + 1));
      l.request_id = w[w.size() - 2];
      l.status = std::atoi(w.back().c_str());
      out.push_back(l);
    }
    return out;
  }

private:
  static uint16_t freePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    ::close(fd);
    return port;
  }

  bool waitAccepting() const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (int guard = 0; guard < 10000; ++guard) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port_);
      bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
      ::close(fd);
      if (ok) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition, bounded
    }
    return false;
  }

  std::string dir_;
  uint16_t port_ = 0;
  ChildProcess proc_;
};

}  // namespace regiongate::testing
