#include "gateway/upstream_adapter.h"

#include <charconv>

namespace regiongate::gateway {

void beginHead(const UpstreamCall& call, std::string_view base, std::string_view path,
               std::string& head) {
  head.clear();
  head += call.method;
  head += ' ';
  head += base;
  head += path;
  head += " HTTP/1.1\r\nHost: ";
  head += call.endpoint.host;
  head += "\r\nContent-Type: application/json\r\nAccept: ";
  head += call.stream ? "text/event-stream" : "application/json";
  head += "\r\nx-regiongate-request-id: ";
  head += call.request_id;
  head += "\r\n";
}

void addHeader(std::string& head, std::string_view name, std::string_view value) {
  head += name;
  head += ": ";
  head += value;
  head += "\r\n";
}

void endHead(std::string& head, size_t body_size) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, body_size);
  head += "Content-Length: ";
  head.append(digits, end);
  head += "\r\n\r\n";
}

bool OpenAiCompatibleAdapter::serves(ApiKind api) const {
  return api == ApiKind::Chat || api == ApiKind::Completion;
}

Status OpenAiCompatibleAdapter::prepare(const UpstreamCall& call, std::string& head,
                                        std::string& body) const {
  body.clear();
  const EndpointConfig& ep = call.endpoint;
  beginHead(call, ep.base_path, call.path, head);
  if (!ep.credential.empty()) addHeader(head, "Authorization", ep.credential);
  endHead(head, call.body.size());
  return {};
}

const UpstreamAdapter& adapterFor(const EndpointConfig& /*endpoint*/) {
  static const OpenAiCompatibleAdapter openai_compatible;
  return openai_compatible;
}

}  // namespace regiongate::gateway
