// Fuzz target: the gateway's request body parser (untrusted client JSON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/request_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)regiongate::gateway::parseRequestBody(body, regiongate::gateway::ApiKind::Chat);
  (void)regiongate::gateway::parseRequestBody(body, regiongate::gateway::ApiKind::Completion);
  return 0;
}
