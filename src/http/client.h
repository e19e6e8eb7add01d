#pragma once
// The one HTTP/1.1 client for the control plane and the tools: rollout version discovery, parity
// runs and cache pre-warm, the `rollout`/`parity` CLIs, the gateway's active health checks and
// plan-validate's load generator. Never on the data plane (upstream::Exchange is).
//
// One implementation, two faces: asyncCall() is a coroutine on the caller's executor (the health
// checker runs one per endpoint concurrently on its own io_context); call() blocks its thread
// and runs the same coroutine on a private io_context. `timeout_ms` bounds the connect, the
// write and each read separately. Transport errors are Upstream errors, retryable.
//
// With `tls` set the call speaks TLS verified by that context (chain and name, as the data
// plane's pools do); a failed handshake is upstream_tls_error and is never retried in plaintext.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "http/tls_client.h"

namespace regiongate::http {

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";  // includes any base path
  std::string body;          // sent with Content-Type application/json unless a header sets one
  std::vector<std::pair<std::string, std::string>> headers;
  uint32_t timeout_ms = 2000;
  uint64_t body_limit = 64u << 20;
  // Hooks for load generators (all optional): once connected, before the request is written
  // (e.g. wait for the send time); once it is written; for each body chunk as it arrives.
  std::function<void()> before_write;
  std::function<void()> after_write;
  std::function<void(std::string_view)> on_body_chunk;
  ClientTlsPtr tls;  // set: an https server, verified with this context; null: plaintext
};

struct ClientReply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  // Value of the first header named `name` (lower case), "" when absent.
  std::string header(std::string_view name) const;
};

boost::asio::awaitable<Result<ClientReply>> asyncCall(std::string host, uint16_t port,
                                                      ClientRequest request);
Result<ClientReply> call(const std::string& host, uint16_t port, ClientRequest request);

}  // namespace regiongate::http
