#pragma once
// What the gateway reads back from an upstream response: token usage, the model / version it
// reports, and body evidence of where inference ran (a JSON path such as usage.inference_geo).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regiongate::gateway {

struct ResponseInfo {
  bool has_usage = false;
  int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  std::string model;               // response "model"
  std::string system_fingerprint;  // response "system_fingerprint"
  std::optional<std::string> body_evidence;  // value at the evidence path, if configured and present
  bool has_content = false;        // a stream chunk carrying generated text
};

// Reads one JSON object (a whole response, or one SSE chunk's data). Invalid JSON leaves `info`
// untouched and returns false. Fields present in `json` overwrite those in `info`.
bool readResponseInfo(std::string_view json, const std::vector<std::string>& evidence_path,
                      ResponseInfo& info);

}  // namespace regiongate::gateway
