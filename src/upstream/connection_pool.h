#pragma once
// Pooled keep-alive connections to one upstream endpoint, for ONE worker thread (no locks: each
// worker owns its pools, as Envoy's per-worker connection pools). Lifetime: owned by the worker's
// state; connections handed out are returned with release() or dropped.
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

namespace regiongate::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;

struct Connection {
  Connection(asio::any_io_executor ex, http::DeadlineService& deadlines)
      : stream(std::move(ex)), deadline(deadlines, stream) {}
  asio::ip::tcp::socket stream;
  http::Deadline deadline;    // connect, per-try and body timeouts (coarse, no syscall per arm)
  beast::flat_buffer buffer;  // bytes read past the previous response stay with the connection
  // Body pieces are decoded into this buffer (Exchange::next): it lives as long as the pooled
  // connection, so a request allocates none.
  std::array<char, 16 * 1024> body_buf;
  uint64_t requests = 0;      // requests sent on it (0 = fresh)
};

class ConnectionPool {
public:
  ConnectionPool(asio::any_io_executor ex, std::string host, uint16_t port, size_t max_idle);

  // A pooled idle connection if one exists, else a new one (connect bounded by timeout).
  // Errors: connect_failed / connect_timeout / resolve_failed (source Upstream, retryable).
  asio::awaitable<Result<std::unique_ptr<Connection>>> acquire(std::chrono::milliseconds timeout);
  // A fresh connection (used to re-send when a reused one turned out closed by the server).
  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(std::chrono::milliseconds timeout);
  // Returns a connection whose last response was read completely and was keep-alive.
  void release(std::unique_ptr<Connection> c);
  size_t idle() const { return idle_.size(); }
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }

private:
  asio::any_io_executor ex_;
  http::DeadlineService* deadlines_;
  std::string host_;
  uint16_t port_;
  size_t max_idle_;
  std::vector<asio::ip::tcp::endpoint> resolved_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace regiongate::upstream
