#pragma once
// Test support: a small blocking HTTP/1.1 client (Boost.Beast, sync: fine in tests). Every call is
// bounded by socket receive/send timeouts.
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace regiongate::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct HttpReply {
  int status = 0;  // 0 = transport error
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

inline void setSocketTimeouts(tcp::socket& s, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

class HttpClient {
public:
  explicit HttpClient(uint16_t port, int timeout_ms = 15000) : port_(port), timeout_ms_(timeout_ms) {}

  HttpReply request(bhttp::verb method, const std::string& target, const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    HttpReply reply;
    try {
      ensureConnected();
      bhttp::request<bhttp::string_body> req{method, target, 11};
      req.set(bhttp::field::host, "127.0.0.1");
      for (const auto& [k, v] : headers) req.set(k, v);
      if (!body.empty() || method == bhttp::verb::post) {
        req.set(bhttp::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
      }
      bhttp::write(*sock_, req);
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(64u << 20);
      bhttp::read(*sock_, buf_, parser);
      auto& res = parser.get();
      reply.status = res.result_int();
      for (const auto& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        reply.headers[name] = std::string(f.value());
      }
      reply.body = res.body();
      if (!res.keep_alive()) sock_.reset();
    } catch (const std::exception& e) {
      reply.status = 0;
      reply.error = e.what();
      sock_.reset();
    }
    return reply;
  }

  HttpReply post(const std::string& target, const std::string& body,
                 const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return request(bhttp::verb::post, target, body, headers);
  }
  HttpReply get(const std::string& target,
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return request(bhttp::verb::get, target, "", headers);
  }

  // Raw bytes in, everything the server sends until it closes (or the timeout) out.
  std::string raw(const std::string& bytes) {
    try {
      sock_.reset();
      ensureConnected();
      asio::write(*sock_, asio::buffer(bytes));
      std::string out;
      boost::system::error_code ec;
      char b[4096];
      for (int i = 0; i < 10000; ++i) {
        size_t n = sock_->read_some(asio::buffer(b), ec);
        out.append(b, n);
        if (ec) break;
      }
      sock_.reset();
      return out;
    } catch (const std::exception& e) {
      sock_.reset();
      return std::string("error: ") + e.what();
    }
  }

  tcp::socket& socket() {
    ensureConnected();
    return *sock_;
  }

private:
  void ensureConnected() {
    if (sock_) return;
    sock_ = std::make_unique<tcp::socket>(ioc_);
    sock_->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    setSocketTimeouts(*sock_, timeout_ms_);
    buf_.clear();
  }
  asio::io_context ioc_;
  std::unique_ptr<tcp::socket> sock_;
  beast::flat_buffer buf_;
  uint16_t port_;
  int timeout_ms_;
};

}  // namespace regiongate::testing
