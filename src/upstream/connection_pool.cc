#include "upstream/connection_pool.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/ssl.h>

namespace regiongate::upstream {

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
}

ConnectionPool::ConnectionPool(asio::any_io_executor ex, std::string host, uint16_t port,
                               size_t max_idle, ClientTlsPtr tls)
    : ex_(std::move(ex)),
      deadlines_(&http::DeadlineService::of(ex_)),
      host_(std::move(host)),
      port_(port),
      max_idle_(max_idle),
      tls_(std::move(tls)) {}

ConnectionPool::~ConnectionPool() {
  idle_.clear();
  if (session_) SSL_SESSION_free(session_);
}

asio::awaitable<Result<std::unique_ptr<Connection>>> ConnectionPool::acquire(
    std::chrono::milliseconds timeout) {
  while (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    if (c->stream.is_open()) co_return std::move(c);
  }
  co_return co_await connect(timeout);
}

asio::awaitable<Result<std::unique_ptr<Connection>>> ConnectionPool::connect(
    std::chrono::milliseconds timeout) {
  if (resolved_.empty()) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host_ == "localhost" ? "127.0.0.1" : host_, ec);
    if (!ec) {
      resolved_.emplace_back(addr, port_);
    } else {
      asio::ip::tcp::resolver resolver(ex_);
      auto [rec, results] = co_await resolver.async_resolve(host_, std::to_string(port_), use_nothrow);
      if (rec)
        co_return Error{ErrorSource::Upstream, "resolve_failed",
                        "cannot resolve " + host_ + ": " + rec.message(), true};
      for (const auto& r : results) resolved_.push_back(r.endpoint());
    }
  }
  auto c = std::make_unique<Connection>(ex_, *deadlines_);
  c->deadline.arm(timeout);  // one budget for connect and handshake
  auto [ec, ep] = co_await asio::async_connect(c->socket, resolved_, use_nothrow);
  if (ec) {
    c->deadline.disarm();
    bool to = c->deadline.expired();
    co_return Error{ErrorSource::Upstream, to ? "connect_timeout" : "connect_failed",
                    "connect to " + host_ + ":" + std::to_string(port_) + ": " + ec.message(), true};
  }
  boost::system::error_code ignored;
  c->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  if (tls_) {
    auto st = co_await handshake(*c);
    c->deadline.disarm();
    if (!st) co_return st.error();
  } else {
    c->stream.allowWriteNow();
  }
  c->deadline.disarm();
  co_return std::move(c);
}

asio::awaitable<Status> ConnectionPool::handshake(Connection& c) {
  c.tls = std::make_unique<http::TlsStream>(c.socket, tls_->context);
  SSL* ssl = c.tls->native_handle();
  prepareClientSsl(ssl, *tls_);
  // The connection gets its own copy, so whatever OpenSSL marks on it stays off session_.
  if (SSL_SESSION* copy = session_ ? SSL_SESSION_dup(session_) : nullptr) {
    SSL_set_session(ssl, copy);
    SSL_SESSION_free(copy);  // the connection holds its own reference
  }
  auto [ec] = co_await c.tls->async_handshake(asio::ssl::stream_base::client, use_nothrow);
  if (!ec) {
    c.resumed = SSL_session_reused(ssl) == 1;
    c.stream.setTls(c.tls.get());
    co_return Status{};
  }
  const std::string where = host_ + ":" + std::to_string(port_) + " (" + tls_->server_name + ")";
  if (c.deadline.expired())
    co_return Error{ErrorSource::Upstream, "connect_timeout",
                    "TLS handshake with " + where + " timed out", true};
  co_return handshakeError(ssl, ec, where);
}

void ConnectionPool::rememberSession(Connection& c) {
  SSL_SESSION* s = SSL_get0_session(c.tls->native_handle());
  if (s == nullptr || s == session_ || s == from_ || SSL_SESSION_is_resumable(s) != 1) return;
  // A copy: OpenSSL marks a connection's own session not resumable when the connection is
  // freed without a TLS shutdown, which is how pooled connections end.
  SSL_SESSION* copy = SSL_SESSION_dup(s);
  if (copy == nullptr) return;
  if (session_) SSL_SESSION_free(session_);
  session_ = copy;
  from_ = s;
}

void ConnectionPool::release(std::unique_ptr<Connection> c) {
  if (!c || !c->stream.is_open()) return;
  if (c->tls) rememberSession(*c);
  if (idle_.size() >= max_idle_) return;
  idle_.push_back(std::move(c));
}

}  // namespace regiongate::upstream
