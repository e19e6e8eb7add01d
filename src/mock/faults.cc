#include "mock/faults.h"

#include <simdjson.h>

#include "common/json.h"

namespace regiongate::mock {
namespace {

Error bad(std::string message) {
  return Error{ErrorSource::Downstream, "invalid_request_error", std::move(message), false};
}

}  // namespace

Status validateFaults(const FaultConfig& f) {
  if (!(f.error_rate >= 0 && f.error_rate <= 1)) return bad("'error_rate' must be in [0, 1]");
  if (f.error_status < 100 || f.error_status > 599)
    return bad("'error_status' must be an HTTP status in [100, 599]");
  if (!(f.report_fraction >= 0 && f.report_fraction <= 1))
    return bad("'report_fraction' must be in [0, 1]");
  if (f.report_fraction > 0 && f.report_region.empty())
    return bad("'report_fraction' > 0 needs 'report_region'");
  return {};
}

Status applyFaultsJson(std::string_view json, FaultConfig& faults) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) return bad("body is not valid JSON");
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return bad("body is not a JSON object");
  FaultConfig f = faults;
  for (auto field : obj) {
    std::string_view key = field.key;
    simdjson::dom::element v = field.value;
    auto number = [&](double& out) -> bool { return v.get_double().get(out) == simdjson::SUCCESS; };
    auto boolean = [&](bool& out) -> bool { return v.get_bool().get(out) == simdjson::SUCCESS; };
    if (key == "error_rate") {
      if (!number(f.error_rate)) return bad("'error_rate' must be a number");
    } else if (key == "error_status") {
      int64_t s = 0;
      if (v.get_int64().get(s) != simdjson::SUCCESS || s < 0 || s > 999)
        return bad("'error_status' must be an integer status");
      f.error_status = static_cast<unsigned>(s);
    } else if (key == "hang") {
      if (!boolean(f.hang)) return bad("'hang' must be a boolean");
    } else if (key == "slow_first_byte_ms") {
      int64_t ms = 0;
      if (v.get_int64().get(ms) != simdjson::SUCCESS || ms < 0 || ms > 3'600'000)
        return bad("'slow_first_byte_ms' must be an integer in [0, 3600000]");
      f.slow_first_byte_ms = static_cast<uint32_t>(ms);
    } else if (key == "close_mid_stream") {
      if (!boolean(f.close_mid_stream)) return bad("'close_mid_stream' must be a boolean");
    } else if (key == "report_region") {
      std::string_view s;
      if (v.is_null()) {
        f.report_region.clear();
      } else if (v.get_string().get(s) == simdjson::SUCCESS) {
        f.report_region = std::string(s);
      } else {
        return bad("'report_region' must be a string");
      }
    } else if (key == "report_fraction") {
      if (!number(f.report_fraction)) return bad("'report_fraction' must be a number");
    } else if (key == "omit_region_header") {
      if (!boolean(f.omit_region_header)) return bad("'omit_region_header' must be a boolean");
    } else {
      return bad("unknown fault '" + std::string(key) + "'");
    }
  }
  auto ok = validateFaults(f);
  if (!ok) return ok;
  faults = std::move(f);
  return {};
}

std::string faultsJson(const FaultConfig& f) {
  std::string out = "{\"error_rate\":" + std::to_string(f.error_rate) +
                    ",\"error_status\":" + std::to_string(f.error_status) +
                    ",\"hang\":" + (f.hang ? "true" : "false") +
                    ",\"slow_first_byte_ms\":" + std::to_string(f.slow_first_byte_ms) +
                    ",\"close_mid_stream\":" + (f.close_mid_stream ? "true" : "false") +
                    ",\"report_region\":";
  appendJsonString(out, f.report_region);
  out += ",\"report_fraction\":" + std::to_string(f.report_fraction) +
         ",\"omit_region_header\":" + (f.omit_region_header ? "true" : "false") + "}";
  return out;
}

}  // namespace regiongate::mock

namespace regiongate::mock {

Result<VersionChange> parseVersionChange(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS)
    return Error{ErrorSource::Downstream, "invalid_request_error", "body is not valid JSON", false};
  std::string_view model, version;
  if (root["model"].get_string().get(model) != simdjson::SUCCESS || model.empty())
    return Error{ErrorSource::Downstream, "invalid_request_error", "'model' must be a string",
                 false};
  if (root["version"].get_string().get(version) != simdjson::SUCCESS || version.empty())
    return Error{ErrorSource::Downstream, "invalid_request_error",
                 "'version' must be a non-empty string", false};
  return VersionChange{std::string(model), std::string(version)};
}

}  // namespace regiongate::mock
