// DeadlineService / Deadline: coarse socket deadlines (src/http/deadline.h).
#include "http/deadline.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>

namespace regiongate::http {
namespace {

using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// A connected loopback pair; the peer never writes unless told to.
struct Pair {
  asio::io_context ctx{1};
  tcp::socket a{ctx};
  tcp::socket b{ctx};
  Pair() {
    tcp::acceptor acc(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    a.connect(acc.local_endpoint());
    b = acc.accept();
  }
};

struct ReadResult {
  boost::system::error_code ec;
  bool timed_out = false;
  std::chrono::steady_clock::duration took{};
};

// Reads once from `p.a` under a deadline of `d`; runs the context until the read completes
// (bounded: the test fails instead of hanging).
ReadResult readWithDeadline(Pair& p, Deadline& dl, std::chrono::milliseconds d) {
  std::optional<ReadResult> out;
  std::array<char, 16> buf{};
  asio::co_spawn(
      p.ctx,
      [&]() -> asio::awaitable<void> {
        auto t0 = std::chrono::steady_clock::now();
        dl.arm(d);
        auto [ec, n] = co_await p.a.async_read_some(asio::buffer(buf), use_nothrow);
        ReadResult r{ec, dl.timedOut(ec), std::chrono::steady_clock::now() - t0};
        dl.disarm();
        out = r;
        p.ctx.stop();  // the service's tick keeps the context busy while others are armed
      },
      asio::detached);
  p.ctx.restart();
  p.ctx.run_for(5s);
  EXPECT_TRUE(out.has_value()) << "the read neither completed nor timed out within 5 s";
  return out.value_or(ReadResult{});
}

TEST(Deadline, ExpiredDeadlineCancelsThePendingReadAsATimeout) {
  Pair p;
  auto& svc = DeadlineService::of(p.ctx.get_executor());
  svc.setResolution(5ms);
  Deadline dl(svc, p.a);
  auto r = readWithDeadline(p, dl, 50ms);
  EXPECT_EQ(r.ec, asio::error::operation_aborted);
  EXPECT_TRUE(r.timed_out);
  EXPECT_GE(r.took, 50ms);                       // never early
  EXPECT_EQ(svc.armed(), 0u);                    // disarm unlinked it
  EXPECT_TRUE(p.a.is_open());                    // cancelled, not closed: we can still answer
}

TEST(Deadline, DataBeforeTheDeadlineCompletesNormally) {
  Pair p;
  auto& svc = DeadlineService::of(p.ctx.get_executor());
  svc.setResolution(5ms);
  Deadline dl(svc, p.a);
  asio::write(p.b, asio::buffer("hi", 2));
  auto r = readWithDeadline(p, dl, 2000ms);
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(dl.expired());
}

TEST(Deadline, DisarmedDeadlineNeverCancelsALaterOperation) {
  Pair p;
  auto& svc = DeadlineService::of(p.ctx.get_executor());
  svc.setResolution(5ms);
  Deadline dl(svc, p.a);
  dl.arm(10ms);
  dl.disarm();
  EXPECT_FALSE(dl.armed());
  // A later read with a long deadline gets the peer's data, well after the first 10 ms passed.
  std::optional<ReadResult> out;
  std::array<char, 4> buf{};
  asio::steady_timer later(p.ctx, 100ms);
  later.async_wait([&](boost::system::error_code) { asio::write(p.b, asio::buffer("x", 1)); });
  asio::co_spawn(
      p.ctx,
      [&]() -> asio::awaitable<void> {
        auto [ec, n] = co_await p.a.async_read_some(asio::buffer(buf), use_nothrow);
        out = ReadResult{ec, dl.timedOut(ec), {}};
        p.ctx.stop();
      },
      asio::detached);
  p.ctx.run_for(5s);
  ASSERT_TRUE(out.has_value());
  EXPECT_FALSE(out->ec) << out->ec.message();
}

TEST(Deadline, AnOperationStartedAfterExpiryIsCancelledAtTheNextTick) {
  // A composed operation may start its next read after the deadline fired: the expired
  // deadline must cancel it too, or a timed-out phase could hang.
  Pair p;
  auto& svc = DeadlineService::of(p.ctx.get_executor());
  svc.setResolution(5ms);
  Deadline dl(svc, p.a);
  std::optional<ReadResult> out;
  std::array<char, 4> buf{};
  asio::co_spawn(
      p.ctx,
      [&]() -> asio::awaitable<void> {
        dl.arm(10ms);
        asio::steady_timer t(p.ctx, 60ms);  // no read pending while the deadline expires
        co_await t.async_wait(use_nothrow);
        EXPECT_TRUE(dl.expired());
        auto [ec, n] = co_await p.a.async_read_some(asio::buffer(buf), use_nothrow);
        out = ReadResult{ec, dl.timedOut(ec), {}};
        dl.disarm();
        p.ctx.stop();
      },
      asio::detached);
  p.ctx.run_for(5s);
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->timed_out);
}

TEST(Deadline, ManyDeadlinesOnlyTheExpiredOnesFire) {
  Pair p1, p2;  // two contexts: services are per io_context
  auto& s1 = DeadlineService::of(p1.ctx.get_executor());
  auto& s2 = DeadlineService::of(p2.ctx.get_executor());
  EXPECT_NE(&s1, &s2);
  EXPECT_EQ(&s1, &DeadlineService::of(p1.ctx.get_executor()));
  s1.setResolution(5ms);
  Deadline short_dl(s1, p1.a);
  Deadline long_dl(s1, p1.b);
  long_dl.arm(60s);
  auto r = readWithDeadline(p1, short_dl, 20ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(long_dl.expired());
  EXPECT_EQ(s1.armed(), 1u);
  long_dl.disarm();
  EXPECT_EQ(s1.armed(), 0u);
}

}  // namespace
}  // namespace regiongate::http
