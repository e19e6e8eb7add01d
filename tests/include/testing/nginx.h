#pragma once
// Test support: a real nginx (Debian nginx-light, as in bench/gateway_load.sh) on loopback as a
// TLS server in front of plain HTTP backends. One nginx process serves several TLS servers, each
// on its own port with its own certificate (and optionally requiring a client certificate), and
// writes one access log per server with what it saw of each request: the request id header the
// gateway sends, the client certificate's subject, the TLS version and whether the session was
// resumed. Header-only; stopped by PID (ChildProcess).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../../admin/run_command.h"
#include "testing/process.h"

namespace regiongate::testing {

// A free loopback port for a program that cannot report the one it bound (nginx). The kernel
// does not hand the same ephemeral port out again at once, so the short gap is harmless.
inline uint16_t freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// True once 127.0.0.1:port accepts a connection (bounded by timeout_ms).
inline bool waitForPort(uint16_t port, int timeout_ms = 10000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (int guard = 0; guard < 100000; ++guard) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
    if (ok) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition, bounded
  }
  return false;
}

struct NginxTlsServer {
  std::string name;          // access log: <dir>/<name>.access.log
  std::string cert, key;     // PEM files
  std::string client_ca;     // "" = no client certificate; else required (ssl_verify_client on)
  uint16_t backend_port = 0; // plain HTTP backend on 127.0.0.1
  uint16_t port = 0;         // filled by Nginx::start
};

class Nginx {
public:
  ~Nginx() { proc_.stop(); }

  static std::string binary() {
    std::string p = findProgram("nginx");
    if (p.empty() && access("/usr/sbin/nginx", X_OK) == 0) p = "/usr/sbin/nginx";
    return p;
  }

  // Writes the config, starts nginx and waits until every server accepts connections.
  bool start(std::vector<NginxTlsServer> servers) {
    dir_ = makeTempDir("nginx");
    std::ostringstream c;
    c << "worker_processes 1;\ndaemon off;\npid " << dir_ << "/nginx.pid;\n"
      << "error_log " << dir_ << "/error.log warn;\nevents { worker_connections 512; }\nhttp {\n"
      << "  log_format seen '$http_x_regiongate_request_id \"$ssl_client_s_dn\" $ssl_protocol "
         "$ssl_session_reused $status';\n"
      << "  client_body_temp_path " << dir_ << "/body;\n  proxy_temp_path " << dir_ << "/proxy;\n"
      << "  fastcgi_temp_path " << dir_ << "/fastcgi;\n  uwsgi_temp_path " << dir_ << "/uwsgi;\n"
      << "  scgi_temp_path " << dir_ << "/scgi;\n";
    for (auto& s : servers) {
      s.port = freeLoopbackPort();
      c << "  server {\n    listen 127.0.0.1:" << s.port << " ssl;\n"
        << "    ssl_certificate " << s.cert << ";\n    ssl_certificate_key " << s.key << ";\n"
        << "    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_session_cache shared:" << s.name
        << ":1m;\n    keepalive_requests 10000;\n"
        << "    access_log " << dir_ << "/" << s.name << ".access.log seen;\n";
      if (!s.client_ca.empty())
        c << "    ssl_client_certificate " << s.client_ca << ";\n    ssl_verify_client on;\n";
      c << "    location / {\n      proxy_pass http://127.0.0.1:" << s.backend_port << ";\n"
        << "      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n"
        << "      proxy_buffering off;\n    }\n  }\n";
    }
    c << "}\n";
    std::ofstream(dir_ + "/nginx.conf") << c.str();
    servers_ = servers;
    std::string bin = binary();
    if (bin.empty()) return false;
    if (!proc_.start({bin, "-p", dir_, "-c", dir_ + "/nginx.conf", "-e", dir_ + "/error.log"},
                     dir_ + "/stderr.log"))
      return false;
    for (const auto& s : servers_)
      if (!waitForPort(s.port)) return false;
    return true;
  }

  const NginxTlsServer& server(const std::string& name) const {
    for (const auto& s : servers_)
      if (s.name == name) return s;
    throw std::runtime_error("no nginx server " + name);
  }
  uint16_t port(const std::string& name) const { return server(name).port; }
  // The access log lines of one server (nginx writes each line when the request ends).
  std::vector<std::string> accessLog(const std::string& name) const {
    std::vector<std::string> lines;
    std::ifstream in(dir_ + "/" + name + ".access.log");
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
  }
  // The access log lines of `name` that start with `prefix`, once there are at least `want` of
  // them or after `timeout_ms`. nginx writes a line after the response has left, so a client
  // can hold the whole response before its line exists: this waits for that line (bounded).
  std::vector<std::string> awaitLines(const std::string& name, const std::string& prefix,
                                      size_t want, int timeout_ms = 5000) const {
    std::vector<std::string> out;
    for (int waited = 0;; waited += 5) {
      out.clear();
      for (auto& l : accessLog(name))
        if (l.rfind(prefix, 0) == 0) out.push_back(std::move(l));
      if (out.size() >= want || waited >= timeout_ms) return out;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a file, bounded
    }
  }
  std::string errorLog() const {
    std::ifstream in(dir_ + "/error.log");
    std::stringstream ss;
    ss << in.rdbuf();
    std::ifstream err(dir_ + "/stderr.log");
    ss << err.rdbuf();
    return ss.str();
  }

private:
  std::string dir_;
  std::vector<NginxTlsServer> servers_;
  ChildProcess proc_;
};

}  // namespace regiongate::testing
