#include "gateway/error_table.h"

#include <iterator>

#include "residency/residency_index.h"

namespace regiongate::gateway {

namespace {
// Indexed by ErrorKind.
constexpr ErrorSpec kSpecs[] = {
    {400, "invalid_request_error", "unknown_region", false},         // UnknownRegion
    {403, "residency_error", "region_outside_jurisdiction", false},  // RegionOutsideJurisdiction
    {400, "rollout_error", "invalid_request", false},                // RolloutBadRequest
    {404, "rollout_error", "not_found", false},                      // RolloutNotFound
    {405, "rollout_error", "method_not_allowed", false},             // RolloutMethodNotAllowed
    {409, "rollout_error", "conflict", false},                       // RolloutConflict
    {503, "rollout_error", "not_ready", false},                      // RolloutNotReady
    {500, "internal_error", "internal_error", false},                // Internal
};
static_assert(std::size(kSpecs) == static_cast<size_t>(ErrorKind::Internal) + 1);
}  // namespace

ErrorSpec specFor(ErrorKind kind) { return kSpecs[static_cast<size_t>(kind)]; }

ErrorKind narrowErrorKind(const Error& e) {
  if (e.code == residency::kRegionOutsideJurisdiction) return ErrorKind::RegionOutsideJurisdiction;
  if (e.code == residency::kUnknownRegion) return ErrorKind::UnknownRegion;
  return ErrorKind::Internal;
}

ErrorKind rolloutErrorKind(rollout::AdminError::Kind kind) {
  using K = rollout::AdminError::Kind;
  switch (kind) {
    case K::BadRequest:
      return ErrorKind::RolloutBadRequest;
    case K::NotFound:
      return ErrorKind::RolloutNotFound;
    case K::MethodNotAllowed:
      return ErrorKind::RolloutMethodNotAllowed;
    case K::Conflict:
      return ErrorKind::RolloutConflict;
    case K::NotReady:
      return ErrorKind::RolloutNotReady;
  }
  return ErrorKind::Internal;
}

}  // namespace regiongate::gateway
