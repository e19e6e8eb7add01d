#pragma once
// HttpServer: HTTP/1.1 keep-alive server on N worker threads, one io_context each, all
// accepting on the same port via SO_REUSEPORT (connections stay on their worker: no hand-off).
// Handlers are C++20 coroutines; nothing on this path throws (Asio calls use as_tuple).
//
// Limits (header size, body size, read timeout, idle timeout, max connections) are enforced
// here; each exceeded limit gets a typed OpenAI-shaped error and is reported to
// ServerOptions::on_limit so the owner can count it. Other connections keep being served.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "http/deadline.h"
#include "http/stream.h"
#include "http/tls.h"

namespace regiongate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// Writes one response: either whole (send) or as a chunked stream (begin / chunk / end).
// Lifetime: valid only during the handler call; owned by the connection. Thread: its worker.
class ResponseWriter {
public:
  // `deadline` bounds each write (60 s); it is the connection's and must be disarmed.
  ResponseWriter(Stream& stream, Deadline& deadline, bool keep_alive,
                 unsigned version)
      : stream_(stream), deadline_(deadline), keep_alive_(keep_alive), version_(version) {}

  // Sends a complete response (Content-Length set here). Returns false if the client is gone.
  asio::awaitable<bool> send(Response res);
  // Convenience: a JSON body with status.
  asio::awaitable<bool> sendJson(unsigned status, std::string body,
                                 std::vector<std::pair<std::string, std::string>> headers = {});
  // Sends a complete response whose head is formatted here by hand: status line, Content-Type,
  // `headers`, Content-Length and Connection as keep-alive requires. No Beast fields, so no
  // allocation per header (the gateway's hot path). Names and values must not contain CR/LF.
  using HeaderView = std::pair<std::string_view, std::string_view>;
  using HeaderList = std::vector<std::pair<std::string, std::string>>;
  asio::awaitable<bool> sendRaw(unsigned status, std::string_view content_type,
                                std::span<const HeaderView> headers, std::string_view body);
  // Starts a chunked response with the given head (status, headers); then chunk()* and end().
  // WithFirstChunk holds the head back and sends it in one write with the first chunk (or the
  // end): a stream whose first bytes are already at hand reaches the client in one segment, one
  // wake-up of its reader instead of two, and one system call less. Whoever holds a head owes a
  // flush() before waiting for anything else; the server flushes one left held.
  enum class HeadTiming { Now, WithFirstChunk };
  asio::awaitable<bool> begin(bhttp::response<bhttp::empty_body> head,
                              HeadTiming timing = HeadTiming::Now);
  asio::awaitable<bool> chunk(std::string_view data);
  asio::awaitable<bool> end();
  // Sends a head held by begin(WithFirstChunk) now; true if there was none.
  asio::awaitable<bool> flush();
  bool holdsHead() const { return !held_head_.empty(); }

  bool started() const { return started_; }   // any response byte written (no retry after this)
  bool finished() const { return finished_; }
  bool keepAlive() const { return keep_alive_; }
  void setKeepAlive(bool v) { keep_alive_ = v; }
  unsigned status() const { return status_; }
  unsigned version() const { return version_; }
  uint64_t bytesWritten() const { return bytes_; }
  // What the head filter noted about this request (0 = nothing), e.g. its admission.
  uint64_t filterNote() const { return filter_note_; }
  void setFilterNote(uint64_t note) { filter_note_ = note; }
  // The connection's socket, for handlers that must watch it themselves (the mock backend's
  // hang fault waits for the client to go away). Same lifetime as the writer.
  asio::ip::tcp::socket& stream() { return stream_.socket(); }

private:
  bool claim(unsigned status);
  bool settle(const boost::system::error_code& ec, size_t n);
  // Writes `buffers` behind a held head, if any, in one gather write.
  template <class ConstBuffers>
  asio::awaitable<bool> writeBehindHead(const ConstBuffers& buffers);

  Stream& stream_;
  Deadline& deadline_;
  bool keep_alive_;
  unsigned version_;
  bool started_ = false;
  bool finished_ = false;
  unsigned status_ = 0;
  uint64_t bytes_ = 0;
  uint64_t filter_note_ = 0;
  std::string held_head_;  // begin(WithFirstChunk)'s head, until it goes out
};

// Handler: called once per request on the connection's worker thread.
// `worker` is the worker index (0..workers-1) for per-thread state.
using Handler = std::function<asio::awaitable<void>(Request& req, ResponseWriter& out, size_t worker)>;

// Called after the request head arrived and before the body is read. Returning a response
// answers with it at once (the body is never read; the connection closes). Used for
// authentication and the 421 ingress check: a refused request's body is never read.
// The filter may leave a note for the handler (ResponseWriter::filterNote), e.g. the tenant it
// authenticated, so the handler does not decide it again.
using HeadFilter = std::function<std::optional<Response>(bhttp::request_header<>& head,
                                                         size_t worker, uint64_t& note)>;

enum class LimitKind {
  BodyTooLarge,
  HeaderTooLarge,
  ReadTimeout,
  TooManyConnections,
  BadRequest,
  TlsHandshakeTimeout,  // TLS listener: no handshake within tls_handshake_timeout_ms
  TlsHandshakeFailed,   // TLS listener: bad handshake (no common version, bad client cert, ...)
  PlaintextOnTls,       // TLS listener: the first bytes were not a TLS handshake
};
std::string_view limitName(LimitKind k);

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  size_t workers = 1;
  uint64_t max_body_bytes = 1 << 20;
  uint32_t max_header_bytes = 16 * 1024;
  uint32_t read_timeout_ms = 10000;     // time allowed for a whole request to arrive
  uint32_t idle_timeout_ms = 60000;     // keep-alive idle between requests
  uint32_t max_connections = 10000;
  std::function<void(LimitKind)> on_limit;    // called on the worker thread
  HeadFilter head_filter;                     // optional
  std::string server_name = "regiongate";
  // TLS on this listener (null: plaintext). HttpServer::setTls replaces it for new connections.
  TlsContextPtr tls;
  // From accept to the end of the TLS handshake (the connection already counts against
  // max_connections while it handshakes).
  uint32_t tls_handshake_timeout_ms = 10000;
};

class HttpServer {
public:
  HttpServer(ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (all workers on the same port) and starts the worker threads.
  Status start();
  uint16_t port() const { return port_; }
  // Stops accepting; lets in-flight requests finish up to `deadline_ms`, then closes everything
  // and joins the threads. Idempotent.
  void stop(uint32_t deadline_ms = 0);
  size_t activeConnections() const { return active_connections_.load(); }
  size_t inFlight() const { return in_flight_.load(); }
  // New connections use `tls` from now on (certificate rotation); established ones keep the
  // context they were accepted with. Only for a server started with TLS (a plaintext listener
  // stays plaintext). Thread: any (posted to each worker).
  void setTls(TlsContextPtr tls);
  // The worker io_contexts (for posting per-worker work, e.g. config snapshots).
  asio::io_context& worker(size_t i) { return *contexts_[i]; }
  size_t workers() const { return contexts_.size(); }

private:
  struct Worker;  // one worker's acceptor, sessions and deadline service (server.cc)
  struct Impl;
  asio::awaitable<void> session(asio::ip::tcp::socket socket, Worker& worker, size_t worker_index);
  // Server side of the TLS handshake, bounded by tls_handshake_timeout_ms; false: the
  // connection is to be closed (answered in plaintext first if it spoke plain HTTP).
  asio::awaitable<bool> acceptTls(asio::ip::tcp::socket& socket, Deadline& deadline, TlsStream& tls);

  ServerOptions options_;
  Handler handler_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::thread> threads_;
  std::shared_ptr<Impl> impl_;
  uint16_t port_ = 0;
  std::atomic<size_t> active_connections_{0};
  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> stopping_{false};
};

// "host:port" -> endpoint; error names the bad value.
Result<asio::ip::tcp::endpoint> parseListen(const std::string& listen);

}  // namespace regiongate::http
