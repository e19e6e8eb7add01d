#pragma once
// A small synchronous HTTP client for the mock backend's integration tests (Boost.Beast, sync:
// fine in tests). Every call is bounded by a receive timeout on the socket.
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <string>
#include <vector>

namespace regiongate::mock::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Reply {
  boost::system::error_code ec;  // read error (e.g. partial_message when closed mid-body)
  unsigned status = 0;
  bhttp::response<bhttp::string_body> res;
  std::string body() const { return res.body(); }
  std::string header(const std::string& name) const {
    auto it = res.find(name);
    return it == res.end() ? std::string() : std::string(it->value());
  }
  bool has(const std::string& name) const { return res.find(name) != res.end(); }
};

class Client {
public:
  explicit Client(uint16_t port, int recv_timeout_ms = 10000) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{recv_timeout_ms / 1000, (recv_timeout_ms % 1000) * 1000};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  Reply request(bhttp::verb verb, const std::string& target, const std::string& body = {},
                std::vector<std::pair<std::string, std::string>> headers = {}) {
    bhttp::request<bhttp::string_body> req{verb, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    for (auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    Reply r;
    bhttp::write(socket_, req, r.ec);
    if (r.ec) return r;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    bhttp::read(socket_, buffer_, parser, r.ec);
    r.res = parser.release();
    r.status = r.res.result_int();
    return r;
  }
  Reply post(const std::string& target, const std::string& body,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    return request(bhttp::verb::post, target, body, std::move(headers));
  }
  Reply get(const std::string& target) { return request(bhttp::verb::get, target); }
  void close() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

private:
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// The `data:` payloads of an SSE body, in order.
inline std::vector<std::string> sseData(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) break;
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end + 2;
  }
  return out;
}

}  // namespace regiongate::mock::testing
