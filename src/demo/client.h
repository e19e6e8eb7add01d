#pragma once
// The demo's clients: one blocking streaming chat request at a time, from ordinary threads (a
// load generator, not the data plane). Records what the client saw: status, where it ran (the
// gateway's headers), TTFT, usage and, for refusals, the error type.
#include <cstdint>
#include <string>

namespace regiongate::demo {

struct Sample {
  double at_s = 0;  // wall seconds since the workload started, at send
  std::string jurisdiction;
  std::string region;   // x-regiongate-region (where inference ran, from evidence)
  std::string endpoint;
  std::string version;  // x-regiongate-model-version
  int status = 0;       // 0 = no response
  std::string error_type;
  double ttft_wall_ms = -1;
  int64_t prompt_tokens = 0, cached_tokens = 0;
  int attempts = 1;
  std::string text;  // the assistant's answer (joined stream deltas), empty on errors
};

// POST /v1/chat/completions with `body` (streaming) to 127.0.0.1:port as `key`. Never throws.
Sample chatOnce(uint16_t port, const std::string& key, const std::string& body);

}  // namespace regiongate::demo
