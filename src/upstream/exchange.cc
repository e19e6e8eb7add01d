#include "upstream/exchange.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl/error.hpp>
#include <array>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/read.hpp>

#include "upstream/response_head.h"

namespace regiongate::upstream {

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadNowBytes = 64 * 1024;  // Beast's own bound for one read into a flat_buffer

Error upstreamError(std::string code, std::string message) {
  return Error{ErrorSource::Upstream, std::move(code), std::move(message), true};
}
}  // namespace

Exchange::~Exchange() { finish(); }

asio::awaitable<Status> Exchange::sendAndReadHead(std::string_view head, std::string_view body,
                                                  std::chrono::milliseconds per_try,
                                                  bool* reused_failed) {
  bool reused = conn_->requests > 0;
  conn_->requests++;
  auto& deadline = conn_->deadline;
  deadline.arm(per_try);
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head.data(), head.size()),
                                         asio::buffer(body.data(), body.size())};
  auto [wec, wn] = co_await http::writeAll(conn_->stream, bufs);
  if (!wec) {
    parser_.emplace();
    limitResponseParser(*parser_);
    auto [rec, rn] = co_await bhttp::async_read_header(conn_->stream, conn_->buffer, *parser_, use_nothrow);
    wec = rec;
  }
  deadline.disarm();
  if (!wec) co_return checkUpstreamHead(parser_->get().base());
  if (deadline.expired())
    co_return upstreamError("upstream_timeout", "no response head within " +
                                                    std::to_string(per_try.count()) + " ms");
  // A TLS peer may close without close_notify: the same as a plain close.
  const bool closed = wec == bhttp::error::end_of_stream || wec == asio::error::eof ||
                      wec == asio::error::connection_reset ||
                      wec == asio::ssl::error::stream_truncated;
  // A reused connection closed by the server before it read anything: safe to send again.
  if (reused && (closed || wec == asio::error::broken_pipe)) *reused_failed = true;
  // A TLS failure after the handshake (an alert: a server that checks the client certificate
  // only now, TLS 1.3) is as typed as one during it.
  const bool tls_failed = !closed && wec.category() == asio::error::get_ssl_category();
  co_return upstreamError(closed       ? "upstream_reset"
                          : tls_failed ? "upstream_tls_error"
                                       : "bad_response",
                          "upstream " + pool_.host() + ":" + std::to_string(pool_.port()) + ": " +
                              wec.message());
}

asio::awaitable<Status> Exchange::start(std::string_view head, std::string_view body,
                                        std::chrono::milliseconds per_try) {
  auto t0 = std::chrono::steady_clock::now();
  auto c = co_await pool_.acquire(per_try);
  if (!c) co_return c.error();
  conn_ = std::move(c.value());
  bool reused_failed = false;
  auto st = co_await sendAndReadHead(head, body, per_try, &reused_failed);
  if (st.ok() || !reused_failed) co_return st;
  // Stale pooled connection: one fresh connection, within what is left of the try's budget.
  auto left = per_try - std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - t0);
  if (left.count() <= 0) co_return st;
  conn_.reset();
  auto fresh = co_await pool_.connect(left);
  if (!fresh) co_return fresh.error();
  conn_ = std::move(fresh.value());
  co_return co_await sendAndReadHead(head, body, left, &reused_failed);
}

boost::system::error_code Exchange::drainBuffered() {
  auto& body = parser_->get().body();
  boost::system::error_code ec;
  for (int guard = 0; guard < 4096 && conn_->buffer.size() > 0 && body.size > 0 &&
                      !parser_->is_done();
       ++guard) {
    size_t used = parser_->put(conn_->buffer.data(), ec);
    conn_->buffer.consume(used);
    if (ec == bhttp::error::need_more || ec == bhttp::error::need_buffer) return {};
    if (ec) return ec;
    if (used == 0) break;
  }
  return {};
}

Error Exchange::broken(const boost::system::error_code& ec) const {
  Error e = upstreamError(conn_->deadline.expired() ? "upstream_timeout" : "upstream_reset",
                          "upstream body: " + ec.message());
  e.retryable = false;  // bytes may already be with the client
  return e;
}

std::optional<Result<std::string_view>> Exchange::nextBuffered() {
  if (!parser_ || !conn_) return upstreamError("bad_response", "no upstream response");
  if (parser_->is_done()) return std::string_view{};
  auto& body = parser_->get().body();
  body.data = conn_->body_buf.data();
  body.size = conn_->body_buf.size();
  // One upstream read often holds several HTTP chunks (several SSE events): they leave as one
  // piece (one write to the client instead of one per chunk).
  if (auto ec = drainBuffered()) return broken(ec);
  return parsedPiece();  // nullopt: the body buffer stays set up, empty, for next()'s read
}

std::optional<Result<std::string_view>> Exchange::nextAtHand() {
  if (auto piece = nextBuffered()) return piece;
  // Bytes that arrived since the last read (a stream's first event, written just after its
  // head) are taken without a suspension: the caller can send them with what it holds, and
  // an asynchronous read that completes at once would still cost a round of the io_context.
  auto space = conn_->buffer.prepare(beast::read_size(conn_->buffer, kReadNowBytes));
  const size_t n = conn_->stream.readNow(space);
  if (n == 0) return std::nullopt;
  conn_->buffer.commit(n);
  if (auto ec = drainBuffered()) return broken(ec);
  return parsedPiece();  // nullopt: the body buffer stays set up, empty, for next()'s read
}

std::optional<Result<std::string_view>> Exchange::parsedPiece() {
  const size_t got = conn_->body_buf.size() - parser_->get().body().size;
  if (got > 0 || parser_->is_done()) return std::string_view(conn_->body_buf.data(), got);
  return std::nullopt;
}

asio::awaitable<Result<std::string_view>> Exchange::next(std::chrono::milliseconds timeout) {
  if (auto buffered = nextBuffered()) co_return std::move(*buffered);
  auto& body = parser_->get().body();
  char* const buf = conn_->body_buf.data();
  const size_t cap = conn_->body_buf.size();
  size_t got = 0;
  conn_->deadline.arm(timeout);
  // read_some returns as soon as some body bytes (or only framing, e.g. a chunk header) were
  // parsed: loop until there is body to hand out, so a stream flows chunk by chunk.
  for (int guard = 0; guard < 4096 && got == 0 && !parser_->is_done(); ++guard) {
    auto [ec, n] = co_await bhttp::async_read_some(conn_->stream, conn_->buffer, *parser_, use_nothrow);
    if (!ec || ec == bhttp::error::need_buffer) ec = drainBuffered();
    if (ec) {
      conn_->deadline.disarm();
      co_return broken(ec);
    }
    got = cap - body.size;
  }
  conn_->deadline.disarm();
  co_return std::string_view(buf, got);
}

asio::awaitable<Status> Exchange::readAll(std::string& out, std::chrono::milliseconds timeout,
                                          size_t max_bytes) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) co_return upstreamError("upstream_timeout", "upstream body too slow");
    auto piece = co_await next(left);
    if (!piece) co_return piece.error();
    if (piece->empty() && done()) co_return Status{};
    if (out.size() + piece->size() > max_bytes)
      co_return Error{ErrorSource::Upstream, "upstream_too_large", "upstream response too large", false};
    out.append(*piece);
    if (done()) co_return Status{};
  }
  co_return upstreamError("bad_response", "upstream body never ended");
}

void Exchange::finish() {
  if (!conn_) return;
  if (parser_ && parser_->is_done() && parser_->get().keep_alive()) {
    pool_.release(std::move(conn_));
  } else {
    boost::system::error_code ignored;
    conn_->stream.close(ignored);
    conn_.reset();
  }
}

}  // namespace regiongate::upstream
