#include "upstream/connection_pool.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace regiongate::upstream {

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
}

ConnectionPool::ConnectionPool(asio::any_io_executor ex, std::string host, uint16_t port,
                               size_t max_idle)
    : ex_(std::move(ex)), deadlines_(&http::DeadlineService::of(ex_)), host_(std::move(host)), port_(port), max_idle_(max_idle) {}

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
  c->deadline.arm(timeout);
  auto [ec, ep] = co_await asio::async_connect(c->stream, resolved_, use_nothrow);
  c->deadline.disarm();
  if (ec) {
    bool to = c->deadline.expired();
    co_return Error{ErrorSource::Upstream, to ? "connect_timeout" : "connect_failed",
                    "connect to " + host_ + ":" + std::to_string(port_) + ": " + ec.message(), true};
  }
  boost::system::error_code ignored;
  c->stream.set_option(asio::ip::tcp::no_delay(true), ignored);
  co_return std::move(c);
}

void ConnectionPool::release(std::unique_ptr<Connection> c) {
  if (!c || !c->stream.is_open() || idle_.size() >= max_idle_) return;
  idle_.push_back(std::move(c));
}

}  // namespace regiongate::upstream
