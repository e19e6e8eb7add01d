#include "http/server.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_cat.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <chrono>
#include <list>
#include <openssl/ssl.h>

#include "common/host_port.h"
#include "common/json.h"
#include "http/framing.h"

namespace regiongate::http {

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
using tcp = asio::ip::tcp;
// Bounds each response write: a client that stops reading cannot hold the handler forever.
constexpr std::chrono::milliseconds kWriteTimeout{60'000};
}  // namespace

std::string_view limitName(LimitKind k) {
  switch (k) {
    case LimitKind::BodyTooLarge: return "body_too_large";
    case LimitKind::HeaderTooLarge: return "headers_too_large";
    case LimitKind::ReadTimeout: return "request_timeout";
    case LimitKind::TooManyConnections: return "too_many_connections";
    case LimitKind::BadRequest: return "bad_request";
    case LimitKind::TlsHandshakeTimeout: return "tls_handshake_timeout";
    case LimitKind::TlsHandshakeFailed: return "tls_handshake_failed";
    case LimitKind::PlaintextOnTls: return "plaintext_on_tls_port";
  }
  return "unknown";
}

Result<asio::ip::tcp::endpoint> parseListen(const std::string& listen) {
  auto hp = parseHostPortRequired(listen);
  if (!hp.ok()) return hp.error();
  std::string host = hp->host == "localhost" ? "127.0.0.1" : hp->host;
  boost::system::error_code aec;
  auto addr = asio::ip::make_address(host, aec);
  if (aec) return Error::config("listen address '" + listen + "': '" + host + "' is not an IP address");
  return tcp::endpoint(addr, *hp->port);
}

// ---------------------------------------------------------------- ResponseWriter

namespace {

// "HTTP/1.1 200 OK\r\n": the reason is the standard one unless `reason` says otherwise.
void appendStatusLine(std::string& out, unsigned version, unsigned status, std::string_view reason) {
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  char num[24];
  auto r = std::to_chars(num, num + sizeof(num), status);
  out.append(num, r.ptr);
  out += ' ';
  out += reason.empty() ? std::string_view(bhttp::obsolete_reason(static_cast<bhttp::status>(status)))
                        : reason;
  out += "\r\n";
}

}  // namespace

// The one response of a request: false if one was already started.
bool ResponseWriter::claim(unsigned status) {
  if (started_) return false;
  started_ = true;
  status_ = status;
  return true;
}

// After a whole-response write: the deadline is off, the bytes counted.
bool ResponseWriter::settle(const boost::system::error_code& ec, size_t n) {
  deadline_.disarm();
  bytes_ += n;
  finished_ = !ec;
  return !ec;
}

asio::awaitable<bool> ResponseWriter::send(Response res) {
  if (!claim(res.result_int())) co_return false;
  res.version(version_);
  res.keep_alive(keep_alive_);
  res.prepare_payload();
  deadline_.arm(kWriteTimeout);
  auto [ec, n] = co_await bhttp::async_write(stream_, res, use_nothrow);
  co_return settle(ec, n);
}

asio::awaitable<bool> ResponseWriter::sendRaw(unsigned status, std::string_view content_type,
                                              std::span<const HeaderView> headers,
                                              std::string_view body) {
  if (!claim(status)) co_return false;
  std::string head;
  head.reserve(256);
  appendStatusLine(head, version_, status, {});
  head += "Content-Type: ";
  head += content_type;
  for (const auto& [k, v] : headers) {
    head += "\r\n";
    head += k;
    head += ": ";
    head += v;
  }
  head += "\r\nContent-Length: ";
  char num[24];
  auto r = std::to_chars(num, num + sizeof(num), body.size());
  head.append(num, r.ptr);
  if (!keep_alive_ && version_ != 10) head += "\r\nConnection: close";
  if (keep_alive_ && version_ == 10) head += "\r\nConnection: keep-alive";
  head += "\r\n\r\n";
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body.data(), body.size())};
  deadline_.arm(kWriteTimeout);
  auto [ec, n] = co_await writeAll(stream_, bufs);
  co_return settle(ec, n);
}

asio::awaitable<bool> ResponseWriter::sendJson(
    unsigned status, std::string body, std::vector<std::pair<std::string, std::string>> headers) {
  Response res{static_cast<bhttp::status>(status), version_};
  res.set(bhttp::field::content_type, "application/json");
  for (auto& [k, v] : headers) res.set(k, v);
  res.body() = std::move(body);
  co_return co_await send(std::move(res));
}

asio::awaitable<bool> ResponseWriter::begin(bhttp::response<bhttp::empty_body> head,
                                            HeadTiming timing) {
  if (!claim(head.result_int())) co_return false;
  head.version(version_);
  head.keep_alive(keep_alive_);
  head.chunked(true);
  // The head's bytes as Beast's serializer writes them, through writeAll: the first byte of a
  // stream leaves without a suspension (a serializer's write always suspends).
  held_head_.clear();
  held_head_.reserve(256);
  appendStatusLine(held_head_, head.version(), head.result_int(), head.reason());
  for (const auto& field : head) {
    held_head_ += field.name_string();
    held_head_ += ": ";
    held_head_ += field.value();
    held_head_ += "\r\n";
  }
  held_head_ += "\r\n";
  if (timing == HeadTiming::WithFirstChunk) co_return true;
  co_return co_await flush();
}

template <class ConstBuffers>
asio::awaitable<bool> ResponseWriter::writeBehindHead(const ConstBuffers& buffers) {
  deadline_.arm(kWriteTimeout);
  boost::system::error_code ec;
  size_t n = 0;
  if (held_head_.empty()) {
    std::tie(ec, n) = co_await writeAll(stream_, buffers);
  } else {
    const auto both = beast::buffers_cat(asio::const_buffer(held_head_.data(), held_head_.size()),
                                         buffers);
    std::tie(ec, n) = co_await writeAll(stream_, both);
    held_head_.clear();
  }
  deadline_.disarm();
  bytes_ += n;
  co_return !ec;
}

asio::awaitable<bool> ResponseWriter::flush() {
  if (held_head_.empty()) co_return true;
  const asio::const_buffer nothing;
  co_return co_await writeBehindHead(nothing);
}

asio::awaitable<bool> ResponseWriter::chunk(std::string_view data) {
  if (!started_ || finished_) co_return false;
  if (data.empty()) co_return true;  // an empty chunk would end the body
  auto chunk = bhttp::make_chunk(asio::const_buffer(data.data(), data.size()));
  co_return co_await writeBehindHead(chunk);
}

asio::awaitable<bool> ResponseWriter::end() {
  if (!started_ || finished_) co_return false;
  auto last = bhttp::make_chunk_last();
  finished_ = co_await writeBehindHead(last);
  co_return finished_;
}

// ---------------------------------------------------------------- Server internals

// Per-worker registry of live sessions so stop() can close idle keep-alive connections.
// Touched only on its worker's thread.
struct Session {
  tcp::socket* stream = nullptr;
  bool busy = false;  // a request is being read or handled
};

struct HttpServer::Worker {
  std::unique_ptr<tcp::acceptor> acceptor;
  std::list<Session> sessions;
  DeadlineService* deadlines = nullptr;
  TlsContextPtr tls;  // for connections accepted from now on; null: plaintext listener
};

struct HttpServer::Impl {
  std::vector<Worker> workers;
};

namespace {

asio::awaitable<void> writeLimitError(Stream& stream, Deadline& deadline, unsigned version,
                                      unsigned status, LimitKind kind, std::string_view message) {
  Response res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::connection, "close");
  res.keep_alive(false);
  res.body() = errorBody("invalid_request_error", limitName(kind), message);
  res.prepare_payload();
  deadline.arm(std::chrono::milliseconds(5000));
  co_await bhttp::async_write(stream, res, use_nothrow);
  deadline.disarm();
}

// Sends TLS close_notify without waiting for the peer's (the connection closes right after):
// marking the peer's as received makes the shutdown complete once ours is written.
asio::awaitable<void> closeNotify(TlsStream& tls, Deadline& deadline) {
  SSL_set_shutdown(tls.native_handle(), SSL_RECEIVED_SHUTDOWN);
  deadline.arm(std::chrono::milliseconds(1000));
  co_await tls.async_shutdown(use_nothrow);
  deadline.disarm();
}

std::string_view bufferView(const beast::flat_buffer& buffer) {
  auto d = buffer.data();
  return {static_cast<const char*>(d.data()), d.size()};
}

enum class Goal { Head, Message };

// Feeds the bytes already in `buffer` to `parser` until it holds the `goal`, without I/O: an
// asynchronous read that finds its bytes buffered still completes through the io_context, a
// round that costs more than the parse (see writeAll in http/stream.h). Returns success, the
// parse error (header_limit, body_limit, a malformed head...), or need_more when the goal
// needs bytes not read yet. What was parsed is consumed from `buffer`.
template <class Parser>
beast::error_code parseBuffered(Parser& parser, beast::flat_buffer& buffer, Goal goal) {
  parser.eager(goal == Goal::Message);
  auto reached = [&] { return goal == Goal::Head ? parser.is_header_done() : parser.is_done(); };
  // Each round consumes at least one byte or returns: bounded by the buffer's size.
  while (!reached()) {
    if (buffer.size() == 0) return bhttp::error::need_more;
    beast::error_code ec;
    const size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec) return ec;
    if (used == 0) return bhttp::error::need_more;
  }
  return {};
}

// Reads until `buffer` holds a whole request head, refusing ambiguous line framing before the
// parser sees it (http/framing.h). Returns the read's error, header_limit when the head outgrows
// `limit`, or success; `problem` is set when the scanner refused the bytes. The caller has armed
// the read deadline.
asio::awaitable<beast::error_code> readHead(Stream& stream, beast::flat_buffer& buffer,
                                            uint32_t limit, std::string_view& problem) {
  HeadScanner scanner;
  // Each round reads at least one byte or returns: bounded by the header limit.
  for (uint64_t round = 0; round <= limit; ++round) {
    switch (scanner.scan(bufferView(buffer))) {
      case HeadScanner::State::Complete: co_return beast::error_code{};
      case HeadScanner::State::Bad: problem = scanner.problem(); co_return beast::error_code{};
      case HeadScanner::State::NeedMore: break;
    }
    if (buffer.size() >= limit) co_return bhttp::error::header_limit;
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_nothrow);
    if (ec == asio::error::eof) co_return bhttp::error::partial_message;  // head cut short
    if (ec) co_return ec;
    buffer.commit(n);
  }
  co_return bhttp::error::header_limit;
}

}  // namespace

HttpServer::HttpServer(ServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)), impl_(std::make_shared<Impl>()) {}

HttpServer::~HttpServer() {
  stop(0);
  // Acceptors before their io_contexts; the io_contexts' destruction frees suspended coroutines.
  for (auto& w : impl_->workers) w.acceptor.reset();
  contexts_.clear();
}

Status HttpServer::start() {
  auto ep = parseListen(options_.listen);
  if (!ep) return ep.error();
  size_t n = options_.workers == 0 ? 1 : options_.workers;
  impl_->workers.resize(n);
  tcp::endpoint bind_ep = *ep;
  for (size_t i = 0; i < n; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    auto acc = std::make_unique<tcp::acceptor>(*contexts_.back());
    boost::system::error_code ec;
    acc->open(bind_ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
        ec = boost::system::error_code(errno, boost::system::system_category());
    }
    if (!ec) acc->bind(bind_ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return Error::config("cannot listen on " + options_.listen + ": " + ec.message(), "listen_failed");
    if (i == 0) {
      port_ = acc->local_endpoint().port();
      bind_ep.port(port_);  // the other workers share the port picked by the first
    }
    impl_->workers[i].acceptor = std::move(acc);
    impl_->workers[i].deadlines = &DeadlineService::of(contexts_.back()->get_executor());
    impl_->workers[i].tls = options_.tls;
  }

  for (size_t i = 0; i < n; ++i) {
    auto& ctx = *contexts_[i];
    auto* worker = &impl_->workers[i];
    asio::co_spawn(
        ctx,
        [this, worker, i]() -> asio::awaitable<void> {
          auto& acceptor = *worker->acceptor;
          for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
            if (ec) {
              if (ec == asio::error::operation_aborted || !acceptor.is_open() || stopping_) co_return;
              continue;  // EMFILE etc.: keep accepting
            }
            if (stopping_) co_return;
            boost::system::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            if (active_connections_.load(std::memory_order_relaxed) >= options_.max_connections) {
              if (options_.on_limit) options_.on_limit(LimitKind::TooManyConnections);
              asio::co_spawn(
                  acceptor.get_executor(),
                  [s = std::move(socket), worker]() mutable -> asio::awaitable<void> {
                    // Plaintext even on a TLS listener: no handshake is spent on a refusal.
                    Deadline dl(*worker->deadlines, s);
                    Stream plain(s);
                    co_await writeLimitError(plain, dl, 11, 503, LimitKind::TooManyConnections,
                                             "the gateway is at its connection limit; retry later");
                    boost::system::error_code e2;
                    s.shutdown(tcp::socket::shutdown_both, e2);
                  },
                  asio::detached);
              continue;
            }
            active_connections_.fetch_add(1, std::memory_order_relaxed);
            asio::co_spawn(acceptor.get_executor(), session(std::move(socket), *worker, i),
                           asio::detached);
          }
        },
        asio::detached);
  }
  for (size_t i = 0; i < n; ++i) {
    threads_.emplace_back([ctx = contexts_[i].get()] {
      auto guard = asio::make_work_guard(*ctx);
      ctx->run();
    });
  }
  return {};
}

asio::awaitable<void> HttpServer::session(asio::ip::tcp::socket socket, Worker& w,
                                          size_t worker_index) {
  Worker* worker = &w;
  Stream stream(socket);
  // One coarse deadline per connection (deadline.h): handshake, idle wait, request read and every
  // response write each arm it; no timer system call per request.
  Deadline deadline(*worker->deadlines, socket);
  worker->sessions.push_back(Session{&socket, false});
  auto self_it = std::prev(worker->sessions.end());
  // The context this connection was accepted with stays alive as long as the connection (a
  // certificate rotation only affects new connections).
  TlsContextPtr tls_ctx = worker->tls;
  std::optional<TlsStream> tls;
  bool open = true;
  if (tls_ctx) {
    tls.emplace(socket, *tls_ctx);
    open = co_await acceptTls(socket, deadline, *tls);
    if (open) stream.setTls(&*tls);
  } else {
    stream.allowWriteNow();
  }
  beast::flat_buffer buffer;
  buffer.max_size(options_.max_header_bytes + options_.max_body_bytes + 4096);

  while (open) {
    if (stopping_) break;
    self_it->busy = false;
    // Idle keep-alive wait: the first byte of the next request must come within idle_timeout.
    if (buffer.size() == 0) {
      deadline.arm(std::chrono::milliseconds(options_.idle_timeout_ms));
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_nothrow);
      deadline.disarm();
      if (ec) break;  // closed, idle timeout, or stop: nothing to answer
      buffer.commit(n);
    }
    self_it->busy = true;
    // From the first byte, the whole request must arrive within read_timeout (slowloris guard).
    // The deadline cancels the read without closing the socket, so we can still answer 408.
    deadline.arm(std::chrono::milliseconds(options_.read_timeout_ms));
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(options_.max_header_bytes);
    parser.body_limit(options_.max_body_bytes);
    std::string_view framing_problem;
    auto ec = co_await readHead(stream, buffer, options_.max_header_bytes, framing_problem);
    if (!ec && framing_problem.empty()) {
      // The head is whole in `buffer`: this parses it without reading or suspending.
      ec = parseBuffered(parser, buffer, Goal::Head);
      if (!ec) framing_problem = checkFraming(parser.get().base());
    }
    if (!ec && !framing_problem.empty()) {
      // Never handled nor forwarded: the connection closes after the 400.
      deadline.disarm();
      if (options_.on_limit) options_.on_limit(LimitKind::BadRequest);
      co_await writeLimitError(stream, deadline, 11, 400, LimitKind::BadRequest,
                               "malformed HTTP request: " + std::string(framing_problem));
      break;
    }
    uint64_t filter_note = 0;
    if (!ec && options_.head_filter) {
      if (auto refusal = options_.head_filter(parser.get().base(), worker_index, filter_note)) {
        refusal->version(parser.get().version());
        refusal->keep_alive(false);  // the unread body is still on the wire
        refusal->prepare_payload();
        deadline.arm(std::chrono::milliseconds(5000));
        co_await bhttp::async_write(stream, *refusal, use_nothrow);
        deadline.disarm();
        break;
      }
    }
    if (!ec && !parser.is_done()) {
      // The body bytes that came with the head first, then a read for the rest, if any.
      ec = parseBuffered(parser, buffer, Goal::Message);
      if (ec == bhttp::error::need_more) {
        auto [ec2, n2] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
        ec = ec2;
      }
    }
    if (ec && deadline.expired()) ec = beast::error::timeout;  // whatever the read reported
    deadline.disarm();
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated)
        break;
      if (ec == asio::error::operation_aborted && stopping_) break;
      LimitKind kind = LimitKind::BadRequest;
      unsigned status = 400;
      std::string msg = "malformed HTTP request: " + ec.message();
      if (ec == bhttp::error::body_limit) {
        kind = LimitKind::BodyTooLarge;
        status = 413;
        msg = "request body exceeds the limit of " + std::to_string(options_.max_body_bytes) + " bytes";
      } else if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
        kind = LimitKind::HeaderTooLarge;
        status = 431;
        msg = "request headers exceed the limit of " + std::to_string(options_.max_header_bytes) + " bytes";
      } else if (ec == beast::error::timeout) {
        kind = LimitKind::ReadTimeout;
        status = 408;
        msg = "the request did not arrive within " + std::to_string(options_.read_timeout_ms) + " ms";
      }
      if (options_.on_limit) options_.on_limit(kind);
      co_await writeLimitError(stream, deadline, 11, status, kind, msg);
      break;
    }
    Request req = parser.release();
    bool keep_alive = req.keep_alive() && !stopping_;
    ResponseWriter writer(stream, deadline, keep_alive, req.version());
    writer.setFilterNote(filter_note);
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    co_await handler_(req, writer, worker_index);
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (writer.holdsHead()) co_await writer.flush();  // a stream left unfinished: its head at least
    if (!writer.started()) {
      co_await writer.sendJson(500, errorBody("internal_error", "no_response",
                                              "the gateway produced no response"));
    }
    if (!writer.finished() || !writer.keepAlive()) break;
  }
  deadline.disarm();
  if (open && tls) co_await closeNotify(*tls, deadline);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
  worker->sessions.erase(self_it);
  active_connections_.fetch_sub(1, std::memory_order_relaxed);
}

asio::awaitable<bool> HttpServer::acceptTls(tcp::socket& socket, Deadline& deadline, TlsStream& tls) {
  deadline.arm(std::chrono::milliseconds(options_.tls_handshake_timeout_ms));
  // A TLS client speaks first with a handshake record (content type 22). Anything else is most
  // likely plain HTTP sent to the TLS port: it gets a plaintext 400 saying so, then the close.
  auto [wec] = co_await socket.async_wait(tcp::socket::wait_read, use_nothrow);
  unsigned char first = 0;
  size_t peeked = 0;
  if (!wec) peeked = socket.receive(asio::buffer(&first, 1), tcp::socket::message_peek, wec);
  if (wec || peeked == 0) {
    deadline.disarm();
    if (deadline.expired() && options_.on_limit) options_.on_limit(LimitKind::TlsHandshakeTimeout);
    co_return false;
  }
  if (first != 22) {
    deadline.disarm();
    if (options_.on_limit) options_.on_limit(LimitKind::PlaintextOnTls);
    Stream plain(socket);
    co_await writeLimitError(plain, deadline, 11, 400, LimitKind::PlaintextOnTls,
                             "this port speaks TLS: send the request with https://");
    co_return false;
  }
  auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::server, use_nothrow);
  deadline.disarm();
  if (!hec) co_return true;
  if (options_.on_limit)
    options_.on_limit(deadline.expired() ? LimitKind::TlsHandshakeTimeout
                                         : LimitKind::TlsHandshakeFailed);
  co_return false;
}

void HttpServer::setTls(TlsContextPtr tls) {
  if (!tls || !options_.tls) return;
  if (contexts_.empty()) {  // not started: the workers will take it from the options
    options_.tls = std::move(tls);
    return;
  }
  for (size_t i = 0; i < contexts_.size(); ++i) {
    auto* worker = &impl_->workers[i];
    asio::post(*contexts_[i], [worker, tls] { worker->tls = tls; });
  }
}

void HttpServer::stop(uint32_t deadline_ms) {
  if (stopping_.exchange(true)) {
    // second call: just make sure threads are joined
  } else {
    for (size_t i = 0; i < contexts_.size(); ++i) {
      auto* worker = &impl_->workers[i];
      asio::post(*contexts_[i], [worker] {
        boost::system::error_code ec;
        if (worker->acceptor) worker->acceptor->close(ec);
        for (auto& s : worker->sessions)
          if (!s.busy) s.stream->cancel(ec);  // idle keep-alive: close now
      });
    }
    // Drain: in-flight requests finish (bounded by the deadline).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
    while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // control plane, not a test
    for (auto& ctx : contexts_) ctx->stop();
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace regiongate::http
