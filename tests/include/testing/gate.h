#pragma once
// Test support: a gate that a coroutine on a server's thread waits at until the test's thread
// opens it. The wait is a steady_timer on the server's executor, cancelled there by open(), and
// bounded all the same; a gate opened between arm() and pass() is not waited at. Declare it after
// the server whose executor it is armed on, so that its timer is destroyed before that io_context.
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <thread>

namespace regiongate::testing {

class Gate {
public:
  // Server's thread, before anything that lets the test call open() (e.g. a response head).
  void arm(const boost::asio::any_io_executor& ex) {
    timer_.emplace(ex, std::chrono::seconds(10));
    opened_ = false;
    armed_.store(true);
  }
  // Server's thread: waits until open() (at most 10 s).
  boost::asio::awaitable<void> pass() {
    if (!opened_) co_await timer_->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    armed_.store(false);
  }
  // Test's thread: waits (bounded) until the server armed the gate.
  bool waitArmed(std::chrono::seconds bound = std::chrono::seconds(10)) const {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!armed_.load() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    return armed_.load();
  }
  // Test's thread: opens an armed gate; false if none was armed.
  bool open() {
    if (!armed_.load()) return false;
    boost::asio::post(timer_->get_executor(), [this] {
      opened_ = true;
      timer_->cancel();
    });
    return true;
  }

private:
  std::optional<boost::asio::steady_timer> timer_;
  std::atomic<bool> armed_{false};
  bool opened_ = false;  // server's thread only
};

}  // namespace regiongate::testing
