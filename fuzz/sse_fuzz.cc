// Fuzz target: the SSE splitter and the response-info reader over upstream stream bytes
// (an upstream is not trusted either). The input is fed in two pieces to exercise resumption.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/response_info.h"
#include "http/sse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t cut = size ? data[0] % (size + 1) : 0;
  regiongate::http::SseParser parser(4096);
  regiongate::gateway::ResponseInfo info;
  std::vector<std::string> path = {"usage", "inference_geo"};
  auto on = [&](std::string_view ev) { regiongate::gateway::readResponseInfo(ev, path, info); };
  parser.feed(all.substr(0, cut), on);
  parser.feed(all.substr(cut), on);
  return 0;
}
