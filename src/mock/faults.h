#pragma once
// FaultConfig: the faults and region-evidence quirks a mock backend can be told to show, at start
// (CLI flags) or at run time (POST /admin/faults with a JSON object of the members to change).
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace regiongate::mock {

struct FaultConfig {
  double error_rate = 0;          // fraction of inference requests answered with error_status
  unsigned error_status = 500;
  bool hang = false;              // accept, read the request, never answer (until client leaves)
  uint32_t slow_first_byte_ms = 0;  // extra real-time delay before the first byte (not scaled)
  bool close_mid_stream = false;  // send part of the body, then close without the last chunk
  std::string report_region;      // region reported for report_fraction of requests
  double report_fraction = 0;
  bool omit_region_header = false;  // no x-inference-region header (usage.inference_geo stays)
};

// Applies the members present in `json` (an object; unknown members are an error, so a typo is
// not silently ignored). On error `faults` is unchanged.
Status applyFaultsJson(std::string_view json, FaultConfig& faults);
std::string faultsJson(const FaultConfig& faults);
// Range checks shared by the CLI and the admin endpoint.
Status validateFaults(const FaultConfig& faults);

}  // namespace regiongate::mock

namespace regiongate::mock {

struct VersionChange {
  std::string model;
  std::string version;
};
// Body of POST /admin/version: {"model":"NAME","version":"V"}.
Result<VersionChange> parseVersionChange(std::string_view json);

}  // namespace regiongate::mock
