#pragma once
// Coarse socket deadlines without a system call per request.
//
// Beast's tcp_stream (and a steady_timer per operation) re-arm the io_context's timerfd every time
// the earliest deadline changes: measured at ~7 timerfd_settime calls per proxied request, a
// sizeable share of the gateway's CPU per request. Network timeouts do not need microsecond
// precision, so we do what nginx's and Envoy's coarse timers do: arming a deadline only stores a
// time point in an intrusive list (no allocation, no system call); one periodic tick per
// io_context (DeadlineService, an Asio service, so each worker's io_context has its own, never
// shared across threads) walks the armed deadlines and cancels the socket operations of every
// expired one. A deadline therefore fires between `d` and `d + resolution` after arm(d).
//
// Usage (one socket, one thread):
//   Deadline dl(DeadlineService::of(ex), socket);
//   dl.arm(5s);  auto [ec, n] = co_await sock.async_read_some(...);  dl.disarm();
//   if (dl.timedOut(ec)) ...   // operation_aborted caused by this deadline
// An expired deadline stays armed and cancels the socket again at every tick until disarm(), so
// an operation started after it fired (e.g. the next read of a composed Beast operation) is
// cancelled too: a timed-out phase cannot hang.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>

namespace regiongate::http {

namespace asio = boost::asio;

class Deadline;

class DeadlineService : public asio::execution_context::service {
public:
  using key_type = DeadlineService;
  static asio::execution_context::id id;

  explicit DeadlineService(asio::execution_context& ctx);
  ~DeadlineService() override;

  // The service of the io_context behind `ex` (created on first use). Every executor we use is
  // an io_context's. Takes the context's service-registry lock: call once per connection or
  // pool, not per operation.
  static DeadlineService& of(const asio::any_io_executor& ex);

  // Tick period (default 20 ms). Timeouts fire up to one resolution late.
  void setResolution(std::chrono::milliseconds r) { resolution_ = r; }
  std::chrono::milliseconds resolution() const { return resolution_; }
  size_t armed() const { return armed_; }

private:
  friend class Deadline;
  void shutdown() override;
  void link(Deadline* d);
  void unlink(Deadline* d);
  void schedule();
  void sweep();

  asio::io_context& ctx_;
  asio::steady_timer timer_;
  std::chrono::milliseconds resolution_{20};
  Deadline* head_ = nullptr;
  size_t armed_ = 0;
  bool ticking_ = false;
  bool shut_down_ = false;
};

class Deadline {
public:
  using Clock = std::chrono::steady_clock;

  Deadline(DeadlineService& svc, asio::ip::tcp::socket& socket) : svc_(&svc), socket_(&socket) {}
  ~Deadline() { disarm(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Starts (or restarts) the countdown; clears expired().
  void arm(std::chrono::milliseconds d);
  void disarm();
  bool armed() const { return linked_; }
  // The deadline passed (since the last arm()).
  bool expired() const { return expired_; }
  // True when `ec` is the cancellation this deadline caused.
  bool timedOut(const boost::system::error_code& ec) const {
    return expired_ && ec == asio::error::operation_aborted;
  }

private:
  friend class DeadlineService;
  DeadlineService* svc_;
  asio::ip::tcp::socket* socket_;
  Clock::time_point when_{};
  bool expired_ = false;
  bool linked_ = false;
  Deadline* prev_ = nullptr;
  Deadline* next_ = nullptr;
};

}  // namespace regiongate::http
