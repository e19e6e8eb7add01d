#include "upstream/response_head.h"

#include <boost/asio/buffer.hpp>
#include <string>

#include "common/peer_string.h"

namespace regiongate::upstream {

namespace {

Error badResponse(std::string message) {
  return Error{ErrorSource::Upstream, "bad_response", std::move(message), true};
}

}  // namespace

void limitResponseParser(ResponseParser& p) {
  p.header_limit(kMaxUpstreamHeadBytes);
  p.body_limit(boost::none);
}

Status checkUpstreamHead(const bhttp::response_header<>& head) {
  const unsigned status = head.result_int();
  if (status < 200 || status > 599)
    return badResponse("upstream answered status " + std::to_string(status) +
                       " (expected a final status 200..599)");
  if (auto ct = head.find(bhttp::field::content_type); ct != head.end())
    if (auto st = checkPeerString(kHeaderValueString, ct->value()); !st)
      return badResponse("upstream Content-Type refused: " + st.error().message);
  return {};
}

Result<size_t> parseUpstreamHead(std::string_view bytes, ResponseParser& p) {
  limitResponseParser(p);
  boost::system::error_code ec;
  size_t used = p.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec == bhttp::error::need_more)
    return Error{ErrorSource::Upstream, "need_more", "the response head is incomplete", false};
  if (ec) return badResponse("malformed upstream response head: " + ec.message());
  if (!p.is_header_done()) return badResponse("malformed upstream response head");
  if (auto st = checkUpstreamHead(p.get().base()); !st) return st.error();
  return used;
}

}  // namespace regiongate::upstream
