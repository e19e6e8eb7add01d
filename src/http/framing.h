#pragma once
// Request framing checks that close request-smuggling gaps the HTTP parser tolerates.
//
// Two front ends that disagree about where a request ends let a client hide a second request
// inside the first one's body. Boost.Beast's parser accepts several ambiguous shapes (obs-fold
// line folding, a Transfer-Encoding that does not end in `chunked` next to a Content-Length,
// `chunked, chunked`), so the server checks every request head twice:
//   1. HeadScanner, over the raw bytes before the parser sees them: bare LF or CR line endings,
//      obs-fold continuation lines, whitespace between a field name and its colon.
//   2. checkFraming, over the parsed fields: Transfer-Encoding must list `chunked` exactly once,
//      last, and never next to Content-Length (RFC 9112 section 6.1 and 6.3).
// Both are pure functions of their input (no I/O, no allocation on success), so the fuzz
// target exercises exactly what the server runs.
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <string_view>

namespace regiongate::http {

// Finds the end of a request head in bytes that arrive piecewise, rejecting ambiguous line
// framing as it goes. Feed it the whole buffer each time (the bytes seen so far, from the first
// byte of the request); it resumes where it stopped, so a head trickled in one byte at a time
// costs O(head) in total. Thread: one per connection.
class HeadScanner {
public:
  enum class State { NeedMore, Complete, Bad };

  State scan(std::string_view bytes);
  // Complete: bytes of the head including its final empty line.
  size_t headLength() const { return head_length_; }
  // Bad: why, for the 400 answer ("bare LF line ending", ...).
  std::string_view problem() const { return problem_; }

private:
  State fail(std::string_view why);

  size_t pos_ = 0;           // next byte to look at
  size_t line_ = 0;          // 0 = request line
  size_t line_start_ = 0;    // offset of the current line's first byte
  bool colon_seen_ = false;  // the current field line has had its ':'
  size_t head_length_ = 0;
  std::string_view problem_;
};

// Ok (empty string_view) or the reason a parsed head's body framing is ambiguous. The caller
// answers 400 for any reason: Transfer-Encoding with any coding other than a single, final
// `chunked`, or together with Content-Length.
std::string_view checkFraming(const boost::beast::http::request_header<>& head);

}  // namespace regiongate::http
