// Exchange (src/upstream/exchange.h) against a plain TCP upstream played by the test itself, so
// the test decides when each byte reaches the kernel: what nextAtHand hands out without a wait.
#include "upstream/exchange.h"

#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

namespace regiongate::upstream {
namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

constexpr std::string_view kRequestHead =
    "POST /v1/chat/completions HTTP/1.1\r\nHost: upstream.test\r\nContent-Length: 2\r\n\r\n";

// Waits (bounded in time) until the peer's kernel has acknowledged every byte `socket` sent:
// they are then in the peer's receive queue, not yet read by anyone.
bool delivered(tcp::socket& socket) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  for (int guard = 0; guard < 10'000'000 && std::chrono::steady_clock::now() < until; ++guard) {
    int unacked = -1;
    if (::ioctl(socket.native_handle(), SIOCOUTQ, &unacked) != 0) return false;
    if (unacked == 0) return true;
    std::this_thread::yield();
  }
  return false;
}

class ExchangeTest : public ::testing::Test {
protected:
  // The upstream's side: accepts the pool's connection and reads its request head.
  void acceptAndReadRequest() {
    acceptor_.accept(upstream_);
    asio::streambuf in;
    asio::read_until(upstream_, in, "\r\n\r\n");
  }
  void upstreamWrites(std::string_view bytes) { asio::write(upstream_, asio::buffer(bytes)); }

  // Runs `body` as a coroutine on ioc_ to its end (bounded).
  template <class F>
  void run(F body) {
    auto fut = asio::co_spawn(ioc_, std::move(body), asio::use_future);
    ioc_.run_for(10s);
    fut.get();
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_, {asio::ip::address_v4::loopback(), 0}};  // listening on port 0
  tcp::socket upstream_{ioc_};
  ConnectionPool pool_{ioc_.get_executor(), "127.0.0.1", acceptor_.local_endpoint().port(), 4};
};

// What the exchange saw, step by step (GoogleTest's ASSERT_* cannot run inside a coroutine).
struct Seen {
  std::string start_error;  // "" when the head was read
  unsigned status = 0;
  bool at_hand_before = true;  // nextAtHand() before the upstream wrote any body byte
  bool delivered = false;
  std::optional<std::string> at_hand_after;  // nextAtHand() once the kernel holds the event
  std::string end_error;
  bool ended = false;
};

TEST_F(ExchangeTest, BodyBytesTheKernelAlreadyHoldsAreAtHand) {
  Seen seen;
  run([&]() -> asio::awaitable<void> {
    Exchange ex(pool_);
    // The upstream answers with a head alone, the way a stream starts.
    std::thread upstream([&] {
      acceptAndReadRequest();
      upstreamWrites("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n");
    });
    auto st = co_await ex.start(kRequestHead, "{}", 5000ms);
    upstream.join();
    if (!st.ok()) {
      seen.start_error = st.error().message;
      co_return;
    }
    seen.status = ex.status();
    seen.at_hand_before = ex.nextAtHand().has_value();
    // The first event reaches the kernel after the head was read.
    upstreamWrites("d\r\ndata: first\n\n\r\n");
    seen.delivered = delivered(upstream_);
    if (auto piece = ex.nextAtHand(); piece && piece->ok()) seen.at_hand_after = std::string(**piece);
    upstreamWrites("0\r\n\r\n");
    auto end = co_await ex.next(5000ms);
    if (!end.ok()) seen.end_error = end.error().message;
    seen.ended = end.ok() && end->empty() && ex.done();
  });
  ASSERT_EQ(seen.start_error, "");
  EXPECT_EQ(seen.status, 200u);
  EXPECT_FALSE(seen.at_hand_before) << "nothing was written after the head";
  ASSERT_TRUE(seen.delivered);
  ASSERT_TRUE(seen.at_hand_after.has_value()) << "the event the kernel holds must be at hand";
  EXPECT_EQ(*seen.at_hand_after, "data: first\n\n");
  EXPECT_EQ(seen.end_error, "");
  EXPECT_TRUE(seen.ended);
}

}  // namespace
}  // namespace regiongate::upstream
