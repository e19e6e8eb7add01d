#include "gateway/error_table.h"

#include <array>

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
    {503, "audit_unavailable", "audit_unavailable", false},
    {403, "residency_error", "", false},
    {503, "residency_pool_exhausted", "residency_pool_exhausted", true},
    {502, "upstream_tls_error", "upstream_tls_error", false},
    {502, "upstream_error", "", false},
    {502, "residency_violation", "", false},
}};
static_assert(kTable.size() == static_cast<size_t>(ErrorKind::kCount));

}  // namespace

const ErrorSpec& specFor(ErrorKind kind) { return kTable[static_cast<size_t>(kind)]; }

}  // namespace regiongate::gateway
