// Fuzz target: the gateway's request body parser (untrusted client JSON), for every client API.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/request_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  using regiongate::gateway::ApiKind;
  for (ApiKind kind : {ApiKind::Chat, ApiKind::Completion, ApiKind::Messages, ApiKind::Responses,
                       ApiKind::Embeddings})
    (void)regiongate::gateway::parseRequestBody(body, kind);
  return 0;
}
