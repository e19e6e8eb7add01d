#pragma once
// Test support: a small blocking HTTPS/1.1 client (Boost.Beast over OpenSSL, sync: fine in
// tests). It verifies the server's chain against one CA file and the address 127.0.0.1, may
// present a client certificate, keeps its connection alive between requests and tells which
// certificate (subject CN) the server presented. Every call is bounded by socket timeouts.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl.hpp>
#include <memory>
#include <string>
#include <vector>

#include "testing/http_client.h"

namespace regiongate::testing {

class HttpsClient {
public:
  HttpsClient(uint16_t port, const std::string& ca_file, const std::string& cert_file = "",
              const std::string& key_file = "", int timeout_ms = 15000)
      : port_(port), timeout_ms_(timeout_ms), ctx_(asio::ssl::context::tls_client) {
    boost::system::error_code ec;
    ctx_.set_verify_mode(asio::ssl::verify_peer, ec);
    ctx_.load_verify_file(ca_file, ec);
    if (!cert_file.empty()) {
      ctx_.use_certificate_chain_file(cert_file, ec);
      ctx_.use_private_key_file(key_file, asio::ssl::context::pem, ec);
    }
  }

  HttpReply request(bhttp::verb method, const std::string& target, const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    HttpReply reply;
    boost::system::error_code ec;
    if (!stream_ && !connect(reply.error)) return reply;
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == bhttp::verb::post) {
      req.set(bhttp::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    bhttp::write(*stream_, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64u << 20);
    if (!ec) bhttp::read(*stream_, buf_, parser, ec);
    if (ec) {
      reply.error = ec.message();
      close();
      return reply;
    }
    auto& res = parser.get();
    reply.status = res.result_int();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[name] = std::string(f.value());
    }
    reply.body = res.body();
    if (!res.keep_alive()) close();
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

  // Opens the connection now (handshake included); false with the reason in `error`.
  bool connect(std::string& error) {
    close();
    sock_ = std::make_unique<tcp::socket>(ioc_);
    boost::system::error_code ec;
    sock_->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    if (ec) {
      error = "connect: " + ec.message();
      return false;
    }
    setSocketTimeouts(*sock_, timeout_ms_);
    stream_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(*sock_, ctx_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream_->native_handle()), "127.0.0.1");
    stream_->handshake(asio::ssl::stream_base::client, ec);
    if (ec) {
      error = "handshake: " + ec.message();
      close();
      return false;
    }
    ++connections_;
    peer_cn_ = commonName();
    return true;
  }
  void close() {
    stream_.reset();
    if (sock_) {
      boost::system::error_code ec;
      sock_->close(ec);
    }
    sock_.reset();
    buf_.clear();
  }
  bool connected() const { return stream_ != nullptr; }
  const std::string& peerCommonName() const { return peer_cn_; }
  int connections() const { return connections_; }

private:
  std::string commonName() {
    X509* cert = SSL_get1_peer_certificate(stream_->native_handle());
    if (!cert) return "";
    char buf[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
    X509_free(cert);
    return buf;
  }

  uint16_t port_;
  int timeout_ms_;
  asio::io_context ioc_;
  asio::ssl::context ctx_;
  std::unique_ptr<tcp::socket> sock_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> stream_;
  beast::flat_buffer buf_;
  std::string peer_cn_;
  int connections_ = 0;
};

}  // namespace regiongate::testing
