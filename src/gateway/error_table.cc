#include "gateway/error_table.h"

#include <array>

#include "residency/residency_index.h"

namespace regiongate::gateway {

namespace {

// In ErrorKind order; the static_assert below keeps the two in step.
constexpr std::array<ErrorSpec, static_cast<size_t>(ErrorKind::kCount)> kTable{{
    {404, "invalid_request_error", "not_found", false},
    {401, "authentication_error", "missing_api_key", false},
    {401, "authentication_error", "invalid_api_key", false},
    {421, "misdirected_request", "gateway_outside_jurisdiction", false},
    {400, "invalid_request_error", "", false},
    {400, "invalid_request_error", "unknown_region", false},
    {403, "residency_error", "region_outside_jurisdiction", false},
    {404, "invalid_request_error", "model_not_found", false},
    {404, "model_not_in_jurisdiction", "model_not_in_jurisdiction", false},
    {404, "invalid_request_error", "api_not_served", false},
    {503, "audit_unavailable", "audit_unavailable", false},
    {403, "residency_error", "", false},
    {503, "residency_pool_exhausted", "residency_pool_exhausted", true},
    {502, "upstream_tls_error", "upstream_tls_error", false},
    {502, "upstream_error", "", false},
    {502, "residency_violation", "", false},
    {400, "rollout_error", "", false},
    {404, "rollout_error", "", false},
    {405, "rollout_error", "", false},
    {409, "rollout_error", "", false},
    {503, "rollout_error", "", false},
}};
static_assert(kTable.size() == static_cast<size_t>(ErrorKind::kCount));

}  // namespace

const ErrorSpec& specFor(ErrorKind kind) { return kTable[static_cast<size_t>(kind)]; }

ErrorKind narrowErrorKind(const Error& e) {
  return e.code == residency::kRegionOutsideJurisdiction ? ErrorKind::RegionOutsideJurisdiction
                                                         : ErrorKind::UnknownRegion;
}

ErrorKind rolloutErrorKind(rollout::AdminError::Kind kind) {
  using K = rollout::AdminError::Kind;
  switch (kind) {
    case K::BadRequest: return ErrorKind::RolloutBadRequest;
    case K::NotFound: return ErrorKind::RolloutNotFound;
    case K::MethodNotAllowed: return ErrorKind::RolloutMethodNotAllowed;
    case K::Conflict: return ErrorKind::RolloutConflict;
    case K::NotReady: break;
  }
  return ErrorKind::RolloutNotReady;
}

}  // namespace regiongate::gateway
