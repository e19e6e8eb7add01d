// Fuzz target: a request head and its framing as the server checks them (src/http/framing.h):
// HeadScanner over the bytes fed whole and in two pieces (the verdicts must agree), then, for a
// complete head, Beast's request parser and checkFraming, as server.cc runs them.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/framing.h"

using regiongate::http::HeadScanner;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 32 * 1024) return 0;  // the server caps heads at 16 KiB by default
  std::string_view all(reinterpret_cast<const char*>(data), size);
  HeadScanner whole;
  const auto verdict = whole.scan(all);
  // The same bytes arriving in two reads.
  HeadScanner split;
  size_t cut = size ? data[0] % (size + 1) : 0;
  auto first = split.scan(all.substr(0, cut));
  auto second = first == HeadScanner::State::NeedMore ? split.scan(all) : first;
  if (second != verdict) __builtin_trap();
  if (verdict == HeadScanner::State::Complete && split.headLength() != whole.headLength())
    __builtin_trap();
  if (verdict != HeadScanner::State::Complete) return 0;

  boost::beast::http::request_parser<boost::beast::http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(all.data(), whole.headLength()), ec);
  if (!ec && parser.is_header_done()) (void)regiongate::http::checkFraming(parser.get().base());
  return 0;
}
