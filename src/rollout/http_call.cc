#include "rollout/http_call.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>

namespace regiongate::rollout {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string HttpCallReply::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

namespace {

// One request and its whole response on a connected stream (a socket, or TLS over it).
template <class SyncStream>
Result<HttpCallReply> exchange(SyncStream& stream, const std::string& host, const std::string& method,
                               const std::string& target, const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  boost::system::error_code ec;
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, host);
  req.set(bhttp::field::connection, "close");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST") {
    if (req.find(bhttp::field::content_type) == req.end())
      req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  bhttp::write(stream, req, ec);
  if (ec) return Error{ErrorSource::Upstream, "write_failed", ec.message(), true};
  boost::beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64u << 20);
  bhttp::read(stream, buf, parser, ec);
  if (ec) return Error{ErrorSource::Upstream, "read_failed", ec.message(), true};
  HttpCallReply reply;
  auto& res = parser.get();
  reply.status = res.result_int();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  reply.body = std::move(res.body());
  return reply;
}

}  // namespace

Result<HttpCallReply> endpointCall(const EndpointConfig& ep, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   uint32_t timeout_ms) {
  if (!ep.https) return httpCall(ep.host, ep.port, method, target, body, headers, timeout_ms);
  auto tls = upstream::makeClientTls(ep, "endpoint " + ep.name + " tls");
  if (!tls) return tls.error();
  return httpCall(ep.host, ep.port, method, target, body, headers, timeout_ms, tls->get());
}

Result<HttpCallReply> httpCall(const std::string& host, uint16_t port, const std::string& method,
                               const std::string& target, const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               uint32_t timeout_ms, upstream::ClientTls* tls) {
  // Third-party exceptions stop here (STYLE.md #4).
  try {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return Error{ErrorSource::Upstream, "resolve_failed", host + ": " + ec.message(), true};
    tcp::socket sock(ioc);
    // Non-blocking connect bounded by the timeout.
    bool connected = false;
    for (const auto& r : results) {
      sock.open(r.endpoint().protocol(), ec);
      if (ec) continue;
      sock.non_blocking(true);
      sock.connect(r.endpoint(), ec);
      if (ec == asio::error::would_block || ec == asio::error::in_progress) {
        pollfd pfd{sock.native_handle(), POLLOUT, 0};
        if (poll(&pfd, 1, static_cast<int>(timeout_ms)) <= 0) {
          sock.close(ec);
          continue;
        }
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(sock.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len);
        ec = err ? boost::system::error_code(err, boost::system::system_category())
                 : boost::system::error_code();
      }
      if (!ec) {
        connected = true;
        break;
      }
      sock.close(ec);
    }
    if (!connected)
      return Error{ErrorSource::Upstream, "connect_failed",
                   host + ":" + std::to_string(port) + ": connection failed", true};
    sock.non_blocking(false);
    timeval tv{static_cast<time_t>(timeout_ms / 1000),
               static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    if (!tls) return exchange(sock, host, method, target, body, headers);
    boost::beast::ssl_stream<tcp::socket&> stream(sock, tls->context);
    upstream::prepareClientSsl(stream.native_handle(), *tls);
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec)
      return upstream::handshakeError(stream.native_handle(), ec,
                                      host + ":" + std::to_string(port) + " (" + tls->server_name + ")");
    return exchange(stream, host, method, target, body, headers);
  } catch (const std::exception& e) {
    return Error{ErrorSource::Upstream, "http_error", e.what(), true};
  }
}

Result<std::pair<std::string, uint16_t>> splitHostPort(const std::string& s) {
  auto c = s.rfind(':');
  if (c == std::string::npos || c == 0 || c + 1 >= s.size())
    return Error::config("expected HOST:PORT, got '" + s + "'", "usage");
  std::string port = s.substr(c + 1);
  for (char ch : port)
    if (!std::isdigit(static_cast<unsigned char>(ch)))
      return Error::config("expected HOST:PORT, got '" + s + "'", "usage");
  unsigned long p = std::stoul(port);
  if (p == 0 || p > 65535) return Error::config("port out of range in '" + s + "'", "usage");
  return std::make_pair(s.substr(0, c), static_cast<uint16_t>(p));
}

}  // namespace regiongate::rollout
