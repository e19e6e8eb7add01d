#pragma once
// An upstream's response head, checked before the gateway uses any of it. Exchange reads the head
// with these limits and refuses a head that fails checkUpstreamHead as `bad_response` (retryable:
// no byte has reached the client yet). parseUpstreamHead runs the same parser and checks on bytes
// in memory, for tests and the fuzz target.
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace regiongate::upstream {

namespace bhttp = boost::beast::http;
using ResponseParser = bhttp::response_parser<bhttp::buffer_body>;

// The largest response head accepted from an upstream (status line and headers).
constexpr uint32_t kMaxUpstreamHeadBytes = 8 * 1024;

// Limits for a fresh parser: head size capped, body unbounded (streamed through).
void limitResponseParser(ResponseParser& p);

// A final status (200..599; an interim 1xx or an out-of-range code is refused) and a
// Content-Type, which is copied to the client, that is a valid header value
// (common/peer_string.h kHeaderValueString). Error code bad_response, source Upstream.
Status checkUpstreamHead(const bhttp::response_header<>& head);

// Parses the head at the start of `bytes` as Exchange does, then checks it. Returns the head's
// length in bytes; need_more (not retryable) when `bytes` ends before the head does.
Result<size_t> parseUpstreamHead(std::string_view bytes, ResponseParser& p);

}  // namespace regiongate::upstream
