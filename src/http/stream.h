#pragma once
// The byte stream of one HTTP connection: the TCP socket itself, or TLS over that socket.
// Satisfies Asio's AsyncReadStream / AsyncWriteStream, so Beast's HTTP reads and writes (and
// asio::async_write) run on either without templates spreading through the callers; each
// operation goes straight to the socket or to the TLS stream (no type-erased handler, no
// allocation). The socket stays the object deadlines cancel and the server closes.
// Lifetime: refers to a socket and (once setTls) a TLS stream that outlive it. Thread: the
// connection's worker.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstddef>
#include <tuple>

namespace regiongate::http {

namespace asio = boost::asio;

// TLS over a socket owned elsewhere. Beast's ssl_stream gathers a multi-buffer write (an HTTP
// head and body) into one TLS record instead of one record per buffer.
using TlsStream = boost::beast::ssl_stream<asio::ip::tcp::socket&>;

class Stream {
public:
  using executor_type = asio::ip::tcp::socket::executor_type;

  explicit Stream(asio::ip::tcp::socket& socket) : socket_(&socket) {}
  // From now on reads and writes go through TLS (after its handshake).
  void setTls(TlsStream* tls) { tls_ = tls; }

  executor_type get_executor() { return socket_->get_executor(); }
  asio::ip::tcp::socket& socket() { return *socket_; }
  TlsStream* tls() { return tls_; }
  bool is_open() const { return socket_->is_open(); }
  void close(boost::system::error_code& ec) { socket_->close(ec); }

  // Plain TCP only: from now on writeNow may write without suspending. The socket's own
  // non-blocking mode makes a write the kernel cannot take at once return would_block
  // instead of blocking the worker.
  void allowWriteNow() {
    boost::system::error_code ec;
    if (!tls_) socket_->non_blocking(true, ec);
  }

  // Writes what the kernel takes right now, in one system call, without suspending: the bytes
  // written, 0 on TLS (its records are the engine's to frame), before allowWriteNow, or on any
  // error (the asynchronous write that follows reports it).
  template <class ConstBuffers>
  size_t writeNow(const ConstBuffers& buffers) {
    if (tls_ || !socket_->non_blocking()) return 0;
    boost::system::error_code ec;
    return socket_->write_some(buffers, ec);
  }

  // Reads what the kernel holds for the socket right now, in one system call, without
  // suspending: the bytes read; 0 on TLS (a record may be cut), before allowWriteNow, when
  // nothing is there, or on any error (the asynchronous read that follows reports it).
  template <class MutableBuffers>
  size_t readNow(const MutableBuffers& buffers) {
    if (tls_ || !socket_->non_blocking()) return 0;
    boost::system::error_code ec;
    return socket_->read_some(buffers, ec);
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (tls_)
            tls_->async_read_some(b, std::move(handler));
          else
            socket_->async_read_some(b, std::move(handler));
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (tls_)
            tls_->async_write_some(b, std::move(handler));
          else
            socket_->async_write_some(b, std::move(handler));
        },
        token, buffers);
  }

private:
  asio::ip::tcp::socket* socket_;
  TlsStream* tls_ = nullptr;
};

// Writes all of `buffers`: the bytes the kernel takes at once leave without a suspension, the
// rest (a full socket buffer, TLS, an error) through asio::async_write. Why: an asynchronous
// write that completes at once is still posted to the io_context and resumed in a later round,
// and on a small request that round (the handler's allocation, the queue, the coroutine's
// resumption and, at low load, an epoll_wait with a zero timeout) costs more CPU than the
// write itself (docs/benchmarks.md, "Writes without a suspension").
template <class ConstBuffers>
asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> writeAll(
    Stream& stream, const ConstBuffers& buffers) {
  const std::size_t total = boost::beast::buffer_bytes(buffers);
  const std::size_t now = stream.writeNow(buffers);
  if (now == total) co_return std::tuple{boost::system::error_code{}, total};
  boost::beast::buffers_suffix<ConstBuffers> rest(buffers);
  rest.consume(now);
  constexpr auto token = asio::as_tuple(asio::use_awaitable);
  auto [ec, n] = co_await asio::async_write(stream, rest, token);
  co_return std::tuple{ec, now + n};
}

}  // namespace regiongate::http
