#pragma once
// The byte stream of one HTTP connection: the TCP socket itself, or TLS over that socket.
// Satisfies Asio's AsyncReadStream / AsyncWriteStream, so Beast's HTTP reads and writes (and
// asio::async_write) run on either without templates spreading through the callers; each
// operation goes straight to the socket or to the TLS stream (no type-erased handler, no
// allocation). The socket stays the object deadlines cancel and the server closes.
// Lifetime: refers to a socket and (once setTls) a TLS stream that outlive it. Thread: the
// connection's worker.
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstddef>

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

}  // namespace regiongate::http
