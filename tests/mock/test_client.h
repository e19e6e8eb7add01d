#pragma once
// A small synchronous HTTP client for the mock backend's integration tests (Boost.Beast, sync:
// fine in tests). Every call is bounded by a timeout.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
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
  // Every request/response exchange must complete within `timeout_ms` (beast::tcp_stream timer;
  // a plain blocking socket would ignore SO_RCVTIMEO inside Asio).
  explicit Client(uint16_t port, int timeout_ms = 10000) : stream_(ioc_), timeout_ms_(timeout_ms) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
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
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    stream_.expires_after(std::chrono::milliseconds(timeout_ms_));
    bhttp::async_write(stream_, req, [&](boost::system::error_code ec, size_t) {
      if (ec) {
        r.ec = ec;
        return;
      }
      bhttp::async_read(stream_, buffer_, parser,
                        [&](boost::system::error_code ec2, size_t) { r.ec = ec2; });
    });
    ioc_.restart();
    ioc_.run();
    const bool got_head = parser.is_header_done();
    r.res = parser.release();
    r.status = got_head ? r.res.result_int() : 0;  // 0: no response head at all
    return r;
  }
  Reply post(const std::string& target, const std::string& body,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    return request(bhttp::verb::post, target, body, std::move(headers));
  }
  Reply get(const std::string& target) { return request(bhttp::verb::get, target); }
  void close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  int timeout_ms_;
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
