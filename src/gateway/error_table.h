#pragma once
// Every error the gateway's request path can answer, and the one table that maps each to its HTTP
// status, OpenAI error `type`, `code` and whether a Retry-After goes with it. Domain parts
// (residency, rollout, upstream) return typed errors; only this table turns them into HTTP.
// Limits enforced by the HTTP server itself (413, 408, 431, too many connections, malformed
// HTTP) are answered by src/http/server.cc before a request reaches the gateway.
#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "rollout/manager.h"

namespace regiongate::gateway {

enum class ErrorKind : uint8_t {
  NoRoute,                     // unknown method + path
  MissingApiKey,               // no bearer key
  InvalidApiKey,               // unknown bearer key
  GatewayOutsideJurisdiction,  // this gateway's region is outside the tenant's jurisdiction
  InvalidBody,                 // malformed request body (code from the body parser)
  UnknownRegion,               // x-regiongate-region names no configured region
  RegionOutsideJurisdiction,   // x-regiongate-region outside the tenant's jurisdiction
  ModelNotFound,               // no endpoint anywhere serves the model
  ModelNotInJurisdiction,      // the model is served, but only outside the jurisdiction
  ApiNotServed,                // deployed here, but no endpoint here speaks the client's API
  AuditUnavailable,            // the jurisdiction's audit store refuses (on_audit_failure: reject)
  ProviderRefused,             // a provider adapter refused to send (e.g. no geography inside)
  PoolExhausted,               // deployed in the jurisdiction, every endpoint failed
  UpstreamTls,                 // pool exhausted and every try failed TLS verification
  UpstreamBroken,              // the chosen upstream broke after its head (code: what broke)
  ResidencyViolation,          // block mode: evidence places inference outside (code: kind)
  // The rollout admin API's refusals (code from the rollout part).
  RolloutBadRequest,
  RolloutNotFound,
  RolloutMethodNotAllowed,
  RolloutConflict,
  RolloutNotReady,
  kCount
};

struct ErrorSpec {
  unsigned status;
  std::string_view type;
  std::string_view code;  // "" = the caller supplies the code (parser / evidence / upstream)
  bool retry_after;       // a Retry-After header goes with it
};

const ErrorSpec& specFor(ErrorKind kind);

// residency::ResidencyIndex::narrow's refusals, by their Error::code.
ErrorKind narrowErrorKind(const Error& e);
// The rollout admin API's refusals.
ErrorKind rolloutErrorKind(rollout::AdminError::Kind kind);

}  // namespace regiongate::gateway
