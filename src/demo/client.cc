#include "demo/client.h"

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string_view>

namespace regiongate::demo {

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

int64_t lastNumber(const std::string& text, std::string_view key) {
  auto k = text.rfind(key);
  if (k == std::string::npos) return 0;
  return std::atoll(text.c_str() + k + key.size());
}

// The streamed deltas' content strings, joined (the demo's mock answers are plain words).
std::string joinedContent(const std::string& stream) {
  std::string out;
  const std::string_view key = "\"content\":\"";
  for (size_t k = stream.find(key); k != std::string::npos; k = stream.find(key, k + 1)) {
    size_t start = k + key.size();
    size_t end = stream.find('"', start);
    if (end == std::string::npos) break;
    out.append(stream, start, end - start);
  }
  return out;
}

std::string header(const bhttp::response_parser<bhttp::buffer_body>& p, std::string_view name) {
  auto it = p.get().find(name);
  return it == p.get().end() ? std::string() : std::string(it->value());
}

}  // namespace

Sample chatOnce(uint16_t port, const std::string& key, const std::string& body) {
  Sample s;
  try {
    asio::io_context ioc;
    tcp::socket sock(ioc);
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    sock.set_option(tcp::no_delay(true));
    timeval tv{10, 0};
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/v1/chat/completions", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::authorization, "Bearer " + key);
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    const auto t0 = std::chrono::steady_clock::now();
    bhttp::write(sock, req);
    boost::beast::flat_buffer buf;
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(boost::none);
    bhttp::read_header(sock, buf, parser);
    s.status = parser.get().result_int();
    s.region = header(parser, "x-regiongate-region");
    s.endpoint = header(parser, "x-regiongate-endpoint");
    s.version = header(parser, "x-regiongate-model-version");
    if (auto att = header(parser, "x-regiongate-attempts"); !att.empty())
      s.attempts = std::atoi(att.c_str());
    std::string text;
    char chunk[8192];
    for (int i = 0; i < 100000 && !parser.is_done(); ++i) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof(chunk);
      boost::system::error_code ec;
      bhttp::read_some(sock, buf, parser, ec);
      if (ec && ec != bhttp::error::need_buffer) break;
      size_t n = sizeof(chunk) - parser.get().body().size;
      if (n > 0 && s.ttft_wall_ms < 0 && s.status == 200 &&
          std::string_view(chunk, n).find("\"content\"") != std::string_view::npos)
        s.ttft_wall_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
      text.append(chunk, n);
    }
    s.prompt_tokens = lastNumber(text, "\"prompt_tokens\":");
    s.cached_tokens = lastNumber(text, "\"cached_tokens\":");
    if (s.status == 200) {
      s.text = joinedContent(text);
    } else if (auto k = text.find("\"type\":\""); k != std::string::npos) {
      s.error_type = text.substr(k + 8, text.find('"', k + 8) - k - 8);
    }
  } catch (const std::exception& e) {
    s.status = 0;
    s.error_type = std::string("client: ") + e.what();
  }
  return s;
}

}  // namespace regiongate::demo
