#include "gateway/response_info.h"

#include <simdjson.h>

namespace regiongate::gateway {

bool readResponseInfo(std::string_view json, const std::vector<std::string>& evidence_path,
                      ResponseInfo& info) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) return false;
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return false;
  std::string_view s;
  if (obj["model"].get_string().get(s) == simdjson::SUCCESS) info.model.assign(s);
  if (obj["system_fingerprint"].get_string().get(s) == simdjson::SUCCESS) info.system_fingerprint.assign(s);
  simdjson::dom::object usage;
  if (obj["usage"].get_object().get(usage) == simdjson::SUCCESS) {
    info.has_usage = true;
    int64_t v = 0;
    if (usage["prompt_tokens"].get_int64().get(v) == simdjson::SUCCESS) info.prompt_tokens = v;
    if (usage["completion_tokens"].get_int64().get(v) == simdjson::SUCCESS) info.completion_tokens = v;
    if (usage["prompt_tokens_details"]["cached_tokens"].get_int64().get(v) == simdjson::SUCCESS)
      info.cached_tokens = v;
  }
  if (!evidence_path.empty()) {
    simdjson::dom::element cur = doc;
    bool found = true;
    for (const auto& key : evidence_path) {
      simdjson::dom::element next;
      if (cur[key].get(next) != simdjson::SUCCESS) {
        found = false;
        break;
      }
      cur = next;
    }
    if (found && cur.get_string().get(s) == simdjson::SUCCESS) info.body_evidence = std::string(s);
  }
  simdjson::dom::array choices;
  if (obj["choices"].get_array().get(choices) == simdjson::SUCCESS) {
    for (auto c : choices) {
      if ((c["delta"]["content"].get_string().get(s) == simdjson::SUCCESS && !s.empty()) ||
          (c["text"].get_string().get(s) == simdjson::SUCCESS && !s.empty()) ||
          (c["message"]["content"].get_string().get(s) == simdjson::SUCCESS)) {
        info.has_content = true;
        break;
      }
    }
  }
  return true;
}

}  // namespace regiongate::gateway
