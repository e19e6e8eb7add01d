#pragma once
// One upstream attempt: send a request on a pooled connection, read the response head within the
// per-try timeout, then hand out the body piece by piece (so SSE streams pass through without
// buffering the whole response). Thread: the worker that owns the pool.
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include "upstream/connection_pool.h"

namespace regiongate::upstream {

namespace bhttp = boost::beast::http;

class Exchange {
public:
  explicit Exchange(ConnectionPool& pool) : pool_(pool) {}
  ~Exchange();

  // Sends `req` and reads the response head. `per_try` bounds connect + time to first byte.
  // A reused keep-alive connection that the server had closed is replaced transparently once.
  // Errors (source Upstream, retryable): connect_failed, connect_timeout, upstream_timeout,
  // upstream_reset, bad_response, upstream_tls_error (https:// endpoints).
  // The request is serialized by the caller: `head` (request line and headers, ending in an
  // empty line) and `body` go out in one gather write; both must stay valid until the returned
  // awaitable completes (no Beast fields on the gateway's hot path).
  asio::awaitable<Status> start(std::string_view head, std::string_view body,
                                std::chrono::milliseconds per_try);
  unsigned status() const { return parser_ ? parser_->get().result_int() : 0; }
  const bhttp::response_header<>& head() const { return parser_->get().base(); }

  // Next piece of the body (decoded from chunked if needed); empty view when the body is done.
  // The view is valid until the next call.
  asio::awaitable<Result<std::string_view>> next(std::chrono::milliseconds timeout);
  // What next() would hand out without a suspension (bytes already read, bytes the kernel
  // already holds for a plain TCP connection, the end of the body, an error in what was read),
  // or nullopt when next() would have to wait for the upstream.
  std::optional<Result<std::string_view>> nextAtHand();
  bool done() const { return parser_ && parser_->is_done(); }
  // Reads the remaining body into `out` (bounded by max_bytes).
  asio::awaitable<Status> readAll(std::string& out, std::chrono::milliseconds timeout,
                                  size_t max_bytes);
  // Returns the connection to the pool if the response completed and was keep-alive;
  // otherwise closes it. Called automatically by the destructor.
  void finish();

private:
  // Parses body bytes already in the connection's buffer into buf_ (no I/O).
  boost::system::error_code drainBuffered();
  // What the bytes already read hold (nextAtHand without its read), the body buffer set up.
  std::optional<Result<std::string_view>> nextBuffered();
  // The body bytes parsed into the body buffer so far, after drainBuffered.
  std::optional<Result<std::string_view>> parsedPiece();
  Error broken(const boost::system::error_code& ec) const;  // a body read that failed
  asio::awaitable<Status> sendAndReadHead(std::string_view head, std::string_view body,
                                          std::chrono::milliseconds per_try, bool* reused_failed);
  ConnectionPool& pool_;
  std::unique_ptr<Connection> conn_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
};

}  // namespace regiongate::upstream
