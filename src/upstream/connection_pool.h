#pragma once
// Pooled keep-alive connections to one upstream endpoint, for ONE worker thread (no locks: each
// worker owns its pools, as Envoy's per-worker connection pools). Lifetime: owned by the worker's
// state; connections handed out are returned with release() or dropped.
// An https:// endpoint's pool speaks TLS on every connection (never plaintext), verifying the
// certificate chain and host name at each handshake, and resumes the TLS session of the pool's
// last good connection when it opens a new one.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "http/deadline.h"
#include "http/stream.h"
#include "upstream/tls_client.h"

struct ssl_session_st;

namespace regiongate::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;

struct Connection {
  // Beast reads max(512, free capacity) bytes at a time, and the buffer grows only when a read
  // does not fit: a 512-byte buffer, once the head and the first body bytes are consumed, asks
  // for 512 again, so a 611-byte chat response took two reads on every request (strace of the
  // benchmark's gateway: 3.06 recvfrom per request; bench/syscalls.sh). Reserved once per pooled
  // connection, next to its body buffer: one read takes a response up to this size.
  static constexpr size_t kReadBufferBytes = 8 * 1024;
  Connection(asio::any_io_executor ex, http::DeadlineService& deadlines)
      : socket(std::move(ex)), stream(socket), deadline(deadlines, socket) {
    buffer.reserve(kReadBufferBytes);
  }
  asio::ip::tcp::socket socket;
  std::unique_ptr<http::TlsStream> tls;  // https:// endpoints: TLS over `socket`
  http::Stream stream;        // reads and writes: `tls` once set up, else `socket`
  http::Deadline deadline;    // connect, per-try and body timeouts (coarse, no syscall per arm)
  bool resumed = false;       // TLS: the handshake resumed the pool's session
  beast::flat_buffer buffer;  // bytes read past the previous response stay with the connection
  // Body pieces are decoded into this buffer (Exchange::next): it lives as long as the pooled
  // connection, so a request allocates none.
  std::array<char, 16 * 1024> body_buf;
  uint64_t requests = 0;      // requests sent on it (0 = fresh)
};

class ConnectionPool {
public:
  // `tls` set: an https:// endpoint (its context, shared read-only; see tls_client.h).
  ConnectionPool(asio::any_io_executor ex, std::string host, uint16_t port, size_t max_idle,
                 ClientTlsPtr tls = nullptr);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A pooled idle connection if one exists, else a new one (connect and TLS handshake bounded
  // by timeout). Errors (source Upstream, retryable): connect_failed / connect_timeout /
  // resolve_failed; upstream_tls_error when the handshake fails (certificate not trusted,
  // expired, issued for another name, client certificate refused, not TLS at all).
  asio::awaitable<Result<std::unique_ptr<Connection>>> acquire(std::chrono::milliseconds timeout);
  // A fresh connection (used to re-send when a reused one turned out closed by the server).
  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(std::chrono::milliseconds timeout);
  // Returns a connection whose last response was read completely and was keep-alive.
  void release(std::unique_ptr<Connection> c);
  size_t idle() const { return idle_.size(); }
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  bool tls() const { return tls_ != nullptr; }

private:
  // TLS handshake on a connected socket, resuming session_ when there is one.
  asio::awaitable<Status> handshake(Connection& c);
  // Keeps the connection's TLS session for the next handshake (TLS 1.3 tickets arrive after
  // the handshake, so this runs when a connection comes back after a response).
  void rememberSession(Connection& c);
  asio::any_io_executor ex_;
  http::DeadlineService* deadlines_;
  std::string host_;
  uint16_t port_;
  size_t max_idle_;
  std::vector<asio::ip::tcp::endpoint> resolved_;
  std::vector<std::unique_ptr<Connection>> idle_;
  ClientTlsPtr tls_;
  ssl_session_st* session_ = nullptr;  // owned (SSL_SESSION_free): resumed by new connections
  const ssl_session_st* from_ = nullptr;  // the connection session session_ was copied from
};

}  // namespace regiongate::upstream
