#include "rollout/start_request.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>

#include "common/peer_string.h"

namespace regiongate::rollout {

namespace {

Error bad(std::string code, std::string message) {
  return Error{ErrorSource::Downstream, std::move(code), std::move(message), false};
}

std::string field(simdjson::dom::element doc, const char* key) {
  std::string_view sv;
  return doc[key].get(sv) == simdjson::SUCCESS ? std::string(sv) : std::string();
}

template <class T>
std::optional<T> number(simdjson::dom::element doc, const char* key) {
  T v;
  if (doc[key].get(v) == simdjson::SUCCESS) return v;
  return std::nullopt;
}

std::optional<uint32_t> uint32Field(simdjson::dom::element doc, const char* key) {
  auto v = number<uint64_t>(doc, key);
  if (!v) return std::nullopt;
  return static_cast<uint32_t>(std::min<uint64_t>(*v, UINT32_MAX));
}

Result<std::vector<uint32_t>> parseSteps(simdjson::dom::array arr) {
  std::vector<uint32_t> steps;
  for (auto x : arr) {
    uint64_t u;
    if (x.get(u) != simdjson::SUCCESS || u == 0 || u > 100 || (!steps.empty() && u <= steps.back()))
      return bad("invalid_steps", "steps must be increasing percentages ending at 100");
    steps.push_back(static_cast<uint32_t>(u));
  }
  if (steps.empty() || steps.back() != 100)
    return bad("invalid_steps", "steps must be increasing percentages ending at 100");
  return steps;
}

}  // namespace

Result<StartRequest> parseStartRequest(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  // An empty view may have no data pointer at all, which simdjson must not be given.
  if (body.empty() || parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS ||
      !doc.is_object())
    return bad("invalid_json", "expected a JSON object {region, model, to, ...}");
  StartRequest r;
  r.region = field(doc, "region");
  r.model = field(doc, "model");
  r.to_version = field(doc, "to");
  r.from_version = field(doc, "from");
  if (r.region.empty() || r.model.empty() || r.to_version.empty())
    return bad("missing_field", "region, model and to are required");
  // Versions end up in response headers and metric labels: the same rule as discovered ones.
  for (const std::string* v : {&r.to_version, &r.from_version})
    if (!v->empty())
      if (auto st = checkPeerString(kVersionString, *v); !st)
        return bad("invalid_version", st.error().message);
  simdjson::dom::array arr;
  if (doc["green_endpoints"].get(arr) == simdjson::SUCCESS) {
    r.green_endpoints.emplace();
    std::string_view sv;
    for (auto x : arr)
      if (x.get(sv) == simdjson::SUCCESS) r.green_endpoints->emplace_back(sv);
  }
  if (doc["steps"].get(arr) == simdjson::SUCCESS) {
    auto steps = parseSteps(arr);
    if (!steps) return steps.error();
    r.steps = std::move(steps.value());
  }
  r.step_ms = uint32Field(doc, "step_ms");
  r.step_max_ms = uint32Field(doc, "step_max_ms");
  r.min_requests = uint32Field(doc, "min_requests");
  r.max_ttft_p99_ms = uint32Field(doc, "max_ttft_p99_ms");
  r.max_error_rate = number<double>(doc, "max_error_rate");
  r.max_error_rate_increase = number<double>(doc, "max_error_rate_increase");
  r.max_ttft_p99_ratio = number<double>(doc, "max_ttft_p99_ratio");
  return r;
}

}  // namespace regiongate::rollout
