#pragma once
// Test support: a raw, non-blocking client socket (every wait bounded by poll with a deadline) and
// a splitter of the bytes it received into HTTP/1.1 responses. For tests that send bytes no
// well-behaved client library would (hostile clients, request smuggling).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace regiongate::testing {

using SteadyClock = std::chrono::steady_clock;

inline int64_t msSince(SteadyClock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count();
}

// A non-blocking client socket to 127.0.0.1:port. Owns the fd.
class RawConn {
public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 && errno != EINPROGRESS) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  int fd() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

  // Waits (bounded) until the connection is established; false on error or timeout.
  bool waitConnected(int timeout_ms = 10000) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return false;
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    return err == 0;
  }

  // Writes as much of `data` as the socket takes within the deadline (stops early if the peer
  // closed). Returns the bytes written.
  size_t send(std::string_view data, int timeout_ms = 5000) {
    size_t off = 0;
    auto t0 = SteadyClock::now();
    for (int guard = 0; guard < 100000 && off < data.size() && fd_ >= 0; ++guard) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
      int left = timeout_ms - static_cast<int>(msSince(t0));
      if (left <= 0) break;
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, left) != 1) break;
    }
    return off;
  }

  // Reads whatever is available now into received(); returns false once the peer closed (EOF or
  // reset). Non-blocking.
  bool drain() {
    char buf[16384];
    for (int guard = 0; guard < 10000; ++guard) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        received_.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) return closed_ = true, false;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      reset_ = true;
      return closed_ = true, false;
    }
    return true;
  }

  // Reads until the peer closes or the deadline passes; true if it closed.
  bool readUntilClosed(int timeout_ms = 10000) {
    auto t0 = SteadyClock::now();
    for (int guard = 0; guard < 100000 && !closed_; ++guard) {
      if (!drain()) break;
      int left = timeout_ms - static_cast<int>(msSince(t0));
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, left);
    }
    return closed_;
  }

  // Reads until `marker` is among the bytes received, the peer closes or the deadline passes;
  // true if the marker arrived.
  bool readUntil(std::string_view marker, int timeout_ms = 10000) {
    auto t0 = SteadyClock::now();
    for (int guard = 0; guard < 100000 && received_.find(marker) == std::string::npos; ++guard) {
      if (!drain()) break;
      if (received_.find(marker) != std::string::npos) break;
      int left = timeout_ms - static_cast<int>(msSince(t0));
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, left);
    }
    return received_.find(marker) != std::string::npos;
  }

  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }
  bool reset() const { return reset_; }

private:
  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
  bool reset_ = false;
};

struct ParsedResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

// Splits a byte stream into complete HTTP/1.1 responses (bounded count); `rest` gets whatever
// trailing bytes did not form a complete response.
inline std::vector<ParsedResponse> parseResponses(std::string_view data, std::string* rest = nullptr) {
  std::vector<ParsedResponse> out;
  for (int i = 0; i < 64 && !data.empty(); ++i) {
    boost::beast::http::response_parser<boost::beast::http::string_body> p;
    p.eager(true);
    p.body_limit(64u << 20);
    size_t used = 0;
    boost::beast::error_code ec;
    for (int j = 0; j < 1000 && !p.is_done(); ++j) {
      size_t n = p.put(boost::asio::buffer(data.data() + used, data.size() - used), ec);
      used += n;
      if (ec || n == 0) break;
    }
    if (!p.is_done()) break;
    ParsedResponse r;
    r.status = p.get().result_int();
    for (const auto& f : p.get()) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    r.body = p.get().body();
    out.push_back(std::move(r));
    data.remove_prefix(used);
  }
  if (rest) *rest = std::string(data);
  return out;
}

}  // namespace regiongate::testing
