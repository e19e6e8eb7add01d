#pragma once
// The edge's one table from an error kind to what the client sees: HTTP status, the OpenAI-shape
// error `type`, the default `code` and whether Retry-After is set. Domain parts return typed
// errors (residency's narrowing refusals, the rollout admin API's outcomes); only the gateway
// turns them into HTTP here.
#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "rollout/manager.h"

namespace regiongate::gateway {

enum class ErrorKind {
  UnknownRegion,              // x-regiongate-region names no configured region
  RegionOutsideJurisdiction,  // x-regiongate-region outside the tenant's jurisdiction
  RolloutBadRequest,
  RolloutNotFound,
  RolloutMethodNotAllowed,
  RolloutConflict,
  RolloutNotReady,
  Internal,
};

struct ErrorSpec {
  unsigned status = 500;
  std::string_view type = "internal_error";
  std::string_view code = "internal_error";  // default code when the error carries none
  bool retry_after = false;
};

ErrorSpec specFor(ErrorKind kind);

// residency::ResidencyIndex::narrow's refusals by their Error::code.
ErrorKind narrowErrorKind(const Error& e);
// The rollout admin API's error outcomes.
ErrorKind rolloutErrorKind(rollout::AdminError::Kind kind);

}  // namespace regiongate::gateway
