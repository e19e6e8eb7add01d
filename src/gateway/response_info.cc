#include "gateway/response_info.h"

#include <simdjson.h>

namespace regiongate::gateway {

namespace {

// Chat and completions name usage prompt_tokens / completion_tokens; the Responses API names it
// input_tokens / output_tokens. Embeddings report prompt_tokens only.
void readUsage(simdjson::dom::object usage, ResponseInfo& info) {
  info.has_usage = true;
  int64_t v = 0;
  if (usage["prompt_tokens"].get_int64().get(v) == simdjson::SUCCESS) info.prompt_tokens = v;
  if (usage["input_tokens"].get_int64().get(v) == simdjson::SUCCESS) info.prompt_tokens = v;
  if (usage["completion_tokens"].get_int64().get(v) == simdjson::SUCCESS) info.completion_tokens = v;
  if (usage["output_tokens"].get_int64().get(v) == simdjson::SUCCESS) info.completion_tokens = v;
  if (usage["prompt_tokens_details"]["cached_tokens"].get_int64().get(v) == simdjson::SUCCESS ||
      usage["input_tokens_details"]["cached_tokens"].get_int64().get(v) == simdjson::SUCCESS)
    info.cached_tokens = v;
}

void readModelAndUsage(simdjson::dom::object obj, ResponseInfo& info) {
  std::string_view s;
  if (obj["model"].get_string().get(s) == simdjson::SUCCESS) info.model.assign(s);
  if (obj["system_fingerprint"].get_string().get(s) == simdjson::SUCCESS)
    info.system_fingerprint.assign(s);
  simdjson::dom::object usage;
  if (obj["usage"].get_object().get(usage) == simdjson::SUCCESS) readUsage(usage, info);
}

void readEvidence(simdjson::dom::element doc, const std::vector<std::string>& path,
                  ResponseInfo& info) {
  if (path.empty()) return;
  simdjson::dom::element cur = doc;
  for (const auto& key : path)
    if (cur[key].get(cur) != simdjson::SUCCESS) return;
  std::string_view s;
  if (cur.get_string().get(s) == simdjson::SUCCESS) info.body_evidence = std::string(s);
}

// Generated output: a chat / completion choice with text, a Responses API text delta or whole
// response with output items, or embeddings' data.
bool hasContent(simdjson::dom::object obj) {
  std::string_view s;
  simdjson::dom::array arr;
  if (obj["choices"].get_array().get(arr) == simdjson::SUCCESS) {
    for (auto c : arr)
      if ((c["delta"]["content"].get_string().get(s) == simdjson::SUCCESS && !s.empty()) ||
          (c["text"].get_string().get(s) == simdjson::SUCCESS && !s.empty()) ||
          (c["message"]["content"].get_string().get(s) == simdjson::SUCCESS))
        return true;
    return false;
  }
  if (obj["type"].get_string().get(s) == simdjson::SUCCESS)
    return s == "response.output_text.delta" &&
           obj["delta"].get_string().get(s) == simdjson::SUCCESS && !s.empty();
  if (obj["output"].get_array().get(arr) == simdjson::SUCCESS) return arr.size() > 0;
  return obj["data"].get_array().get(arr) == simdjson::SUCCESS && arr.size() > 0;
}

}  // namespace

bool readResponseInfo(std::string_view json, const std::vector<std::string>& evidence_path,
                      ResponseInfo& info) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) return false;
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return false;
  readModelAndUsage(obj, info);
  // Responses API stream events (response.created, response.completed) wrap the response.
  simdjson::dom::object wrapped;
  if (obj["response"].get_object().get(wrapped) == simdjson::SUCCESS)
    readModelAndUsage(wrapped, info);
  readEvidence(doc, evidence_path, info);
  if (hasContent(obj)) info.has_content = true;
  return true;
}

}  // namespace regiongate::gateway
