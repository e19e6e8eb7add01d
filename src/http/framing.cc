#include "http/framing.h"

#include <boost/beast/core/string.hpp>

namespace regiongate::http {

namespace bhttp = boost::beast::http;

HeadScanner::State HeadScanner::fail(std::string_view why) {
  problem_ = why;
  return State::Bad;
}

// Line rules (RFC 9112 sections 2.2, 5.1, 5.2): every line ends in CRLF; a field line never starts
// with SP/HTAB (obs-fold) and has no whitespace before its colon. The request line (line 0) is
// left to the parser, which knows its grammar.
HeadScanner::State HeadScanner::scan(std::string_view bytes) {
  for (; pos_ < bytes.size(); ++pos_) {
    const char c = bytes[pos_];
    if (c == '\r') {
      if (pos_ + 1 >= bytes.size()) return State::NeedMore;  // resume at this CR
      if (bytes[pos_ + 1] != '\n') return fail("bare CR line ending");
      if (pos_ == line_start_) {  // the empty line: end of the head
        head_length_ = pos_ + 2;
        return State::Complete;
      }
      if (line_ > 0 && !colon_seen_) return fail("header line without a colon");
      ++pos_;  // past the LF (the loop's increment moves to the next line's first byte)
      line_start_ = pos_ + 1;
      ++line_;
      colon_seen_ = false;
      continue;
    }
    if (c == '\n') return fail("bare LF line ending");
    if (line_ == 0 || colon_seen_) continue;
    if (pos_ == line_start_ && (c == ' ' || c == '\t')) return fail("obs-fold line folding");
    if (c == ':') {
      colon_seen_ = true;
    } else if (c == ' ' || c == '\t') {
      return fail("whitespace between a header name and its colon");
    }
  }
  return State::NeedMore;
}

namespace {

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view checkFraming(const bhttp::request_header<>& head) {
  auto [first, last] = head.equal_range(bhttp::field::transfer_encoding);
  if (first == last) return {};
  if (head.count(bhttp::field::content_length) > 0)
    return "Transfer-Encoding together with Content-Length";
  // The codings of every Transfer-Encoding field line, in order, as one list (RFC 9110 5.3).
  size_t chunked = 0, others = 0;
  bool last_is_chunked = false;
  for (auto it = first; it != last; ++it) {
    std::string_view rest = it->value();
    // Each round consumes a comma: at most size + 1 rounds.
    for (size_t round = 0, rounds = rest.size() + 1; round < rounds; ++round) {
      size_t comma = rest.find(',');
      std::string_view coding = trimOws(rest.substr(0, comma));
      if (!coding.empty()) {
        last_is_chunked = boost::beast::iequals(coding, "chunked");
        (last_is_chunked ? chunked : others)++;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (!last_is_chunked) return "Transfer-Encoding does not end in chunked";
  if (chunked > 1) return "Transfer-Encoding applies chunked more than once";
  if (others > 0) return "unsupported transfer coding (only chunked is accepted)";
  return {};
}

}  // namespace regiongate::http
