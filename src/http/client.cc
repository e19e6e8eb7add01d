#include "http/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <chrono>
#include <exception>
#include <optional>

namespace regiongate::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

Error transport(std::string code, std::string message) {
  return Error{ErrorSource::Upstream, std::move(code), std::move(message), true};
}

bhttp::request<bhttp::string_body> buildRequest(const std::string& host, const ClientRequest& r) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(r.method), r.target, 11};
  req.set(bhttp::field::host, host);
  req.set(bhttp::field::connection, "close");
  for (const auto& [k, v] : r.headers) req.set(k, v);
  if (!r.body.empty() || req.method() == bhttp::verb::post) {
    if (req.find(bhttp::field::content_type) == req.end())
      req.set(bhttp::field::content_type, "application/json");
    req.body() = r.body;
    req.prepare_payload();
  }
  return req;
}

void copyHeaders(const bhttp::response_header<>& head, ClientReply& reply) {
  for (const auto& f : head) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers.emplace_back(std::move(name), std::string(f.value()));
  }
}

// Reads the body chunk by chunk (so on_body_chunk sees each as it arrives), each read bounded.
template <class Stream>
asio::awaitable<Result<ClientReply>> readReply(Stream& stream, const ClientRequest& r) {
  const auto timeout = std::chrono::milliseconds(r.timeout_ms);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(r.body_limit);
  beast::get_lowest_layer(stream).expires_after(timeout);
  auto [hec, hn] = co_await bhttp::async_read_header(stream, buf, parser, use_nothrow);
  if (hec) co_return transport("read_failed", hec.message());
  ClientReply reply;
  reply.status = parser.get().result_int();
  copyHeaders(parser.get().base(), reply);
  char chunk[16384];
  // Bounded: each pass reads at least one byte or ends (body_limit caps the total).
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    beast::get_lowest_layer(stream).expires_after(timeout);
    auto [ec, n] = co_await bhttp::async_read_some(stream, buf, parser, use_nothrow);
    if (ec && ec != bhttp::error::need_buffer) co_return transport("read_failed", ec.message());
    const size_t got = sizeof chunk - parser.get().body().size;
    if (got == 0) continue;
    if (r.on_body_chunk) r.on_body_chunk(std::string_view(chunk, got));
    reply.body.append(chunk, got);
  }
  co_return reply;
}

// Writes the request and reads the whole reply on a connected stream (a socket, or TLS over one);
// the connection is closed afterwards (the request says Connection: close).
template <class Stream>
asio::awaitable<Result<ClientReply>> exchange(Stream& stream, const std::string& host,
                                              const ClientRequest& r) {
  auto req = buildRequest(host, r);
  if (r.before_write) r.before_write();
  beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(r.timeout_ms));
  auto [wec, wn] = co_await bhttp::async_write(stream, req, use_nothrow);
  if (wec) co_return transport("write_failed", wec.message());
  if (r.after_write) r.after_write();
  auto reply = co_await readReply(stream, r);
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return reply;
}

}  // namespace

std::string ClientReply::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

asio::awaitable<Result<ClientReply>> asyncCall(std::string host, uint16_t port, ClientRequest r) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), use_nothrow);
  if (rec) co_return transport("resolve_failed", host + ": " + rec.message());
  beast::tcp_stream stream(ex);
  stream.expires_after(std::chrono::milliseconds(r.timeout_ms));
  auto [cec, ep] = co_await stream.async_connect(results, use_nothrow);
  if (cec)
    co_return transport("connect_failed", host + ":" + std::to_string(port) + ": " + cec.message());
  stream.socket().set_option(tcp::no_delay(true));
  if (!r.tls) co_return co_await exchange(stream, host, r);
  beast::ssl_stream<beast::tcp_stream> tls(std::move(stream), r.tls->context);
  prepareClientSsl(tls.native_handle(), *r.tls);
  beast::get_lowest_layer(tls).expires_after(std::chrono::milliseconds(r.timeout_ms));
  auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_nothrow);
  if (hec)
    co_return handshakeError(tls.native_handle(), hec,
                             host + ":" + std::to_string(port) + " (" + r.tls->server_name + ")");
  co_return co_await exchange(tls, host, r);
}

Result<ClientReply> call(const std::string& host, uint16_t port, ClientRequest request) {
  asio::io_context ioc(1);
  std::optional<Result<ClientReply>> out;
  auto run = [&]() -> asio::awaitable<void> {
    out.emplace(co_await asyncCall(host, port, std::move(request)));
  };
  // Third-party exceptions (e.g. an unknown method) stop here.
  asio::co_spawn(ioc, run(), [&](std::exception_ptr e) {
    if (e) out.emplace(Error::internal("http client failed", "http_client_error"));
  });
  ioc.run();
  if (!out) return Error::internal("http client did not complete", "http_client_error");
  return std::move(*out);
}

}  // namespace regiongate::http
