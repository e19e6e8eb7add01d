#pragma once
// One request on its way through the phases of proxy.cc (docs/architecture.md has the chart).
// Each phase reads what the earlier ones left here and adds its own part; nothing else carries
// request state between phases. Lifetime: the request's coroutine frame. Thread: its worker.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "audit/record.h"
#include "gateway/error_table.h"
#include "gateway/request_body.h"
#include "gateway/response_info.h"
#include "gateway/snapshot.h"
#include "residency/evidence.h"
#include "routing/policy.h"
#include "upstream/attempt_lease.h"
#include "upstream/exchange.h"

namespace regiongate::gateway {

class UpstreamAdapter;

// A typed refusal from a phase: the error table gives its status, type and code.
struct Failure {
  ErrorKind kind;
  std::string message;
  std::string code;   // for kinds whose code comes from the cause (body parser, upstream, evidence)
  std::string extra;  // raw JSON members added inside "error" (already encoded)
};

// The x-regiongate-model-version value for a configured or discovered version: the version when
// it is a plain token (printable ASCII without spaces, at most 128 bytes), "unversioned" when
// empty, else "invalid" (peers can send anything; it is never echoed).
std::string_view versionHeaderValue(std::string_view version);

struct RequestContext {
  RequestContext(SnapshotPtr snapshot_ptr, size_t worker_index)
      : snapshot(std::move(snapshot_ptr)), snap(*snapshot), cfg(*snap.config), worker(worker_index) {}
  RequestContext(const RequestContext&) = delete;
  RequestContext& operator=(const RequestContext&) = delete;

  // ---- begin: this request keeps its config generation to the end
  SnapshotPtr snapshot;
  const Snapshot& snap;
  const Config& cfg;
  size_t worker;
  int64_t t0 = 0;     // monotonic start (nanoseconds)
  int64_t wall0 = 0;  // wall-clock start (microseconds)
  std::string request_id;

  // ---- route
  std::string_view path;  // without the query
  ApiKind api = ApiKind::Chat;
  bool is_models = false;

  // ---- admit
  uint32_t tenant = residency::ResidencyIndex::kNone;
  const TenantConfig* tenant_cfg = nullptr;
  const JurisdictionConfig* jur = nullptr;

  // ---- read and parse the body
  ParsedBody body;
  std::string client_body;  // the client's body, sent upstream unchanged by OpenAI-style adapters

  // ---- resolve the pool
  const std::vector<uint32_t>* pool = nullptr;  // the jurisdiction's pool for the model
  std::vector<uint32_t> members;                // after narrowing and version pinning
  bool narrowed = false;                        // the client named a region
  std::string pool_version;
  audit::Expectation audit_expected;            // this request's record is on its way

  // ---- pick + attempt
  routing::RouteRequest route;
  std::vector<uint64_t> blocks;  // per request: other requests run between our co_awaits
  std::vector<uint32_t> tried;
  std::string last_error;
  std::string refused_code;  // the adapter's code when it refused to send (provider_refused)
  uint32_t tls_failures = 0;      // tries that failed TLS verification
  int64_t min_retry_after = 0;    // nanoseconds until the first ejected member may be probed
  std::string up_head, up_body;   // the attempt's serialized request (up_body empty: client's)
  std::optional<upstream::Exchange> exchange;
  upstream::AttemptLease lease;   // the chosen endpoint's, until the request finishes
  uint32_t chosen = UINT32_MAX;
  const EndpointConfig* endpoint = nullptr;
  const UpstreamAdapter* adapter = nullptr;
  std::string version;
  int64_t upstream_wait_ns = 0;   // time awaiting upstream bytes (the overhead metric)

  // ---- relay
  unsigned upstream_status = 0;
  ResponseInfo info;
  std::string held;  // body held back (non-stream; or a stream in block mode with body evidence)
  bool upstream_ok = true;
  std::string upstream_err;
  double ttft_ms = -1;

  // ---- judge evidence
  std::optional<std::string> evidence_value;
  residency::EvidenceVerdict verdict;
  bool verdict_known = false;
  bool blocked = false;
  std::string actual_region = "unknown";  // a configured region name, or "unknown": a label

  // ---- finish
  unsigned client_status = 0;
  double total_ms = 0;
  double attempts_ms = 0;  // the tries' time to their heads (the overhead metric)  // start to the audit record's hand-over (or durability, if awaited)
  audit::Record rec;  // filled as the phases go; handed to the audit at the end
};

}  // namespace regiongate::gateway
