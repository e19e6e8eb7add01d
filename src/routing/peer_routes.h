#pragma once
// The wire format of shared routing knowledge (docs/operations.md "Several replicas"): the prefixes
// one sender (a replica's process) routed in one jurisdiction, as (model, endpoint name, chained
// prefix block hashes). Text, because a PostgreSQL NOTIFY payload is text, and each payload stays
// under the server's 8000-byte limit:
//
//   rg-routes 1 <sender> <jurisdiction>\n
//   <model>\t<endpoint name>\t<hex hash>,<hex hash>,...\n     (one line per routed prompt)
//
// Endpoints travel by name: replicas may list the same endpoints in a different order.
// A payload comes from a peer: decodePeerRoutes validates every field and refuses the whole
// payload on the first fault (typed error, never a crash).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace regiongate::routing {

struct PeerRoute {
  std::string model;
  std::string endpoint;          // the endpoint's configured name
  std::vector<uint64_t> blocks;  // chained prefix block hashes (promptBlocks), root first
};

struct PeerRouteBatch {
  std::string sender;
  std::string jurisdiction;
  std::vector<PeerRoute> routes;
};

// Below PostgreSQL's 8000-byte NOTIFY payload limit.
constexpr size_t kMaxPeerPayloadBytes = 7900;
// A decoded route holds at most this many blocks (a longer prompt is cut to its leading blocks
// by the encoder: chained hashes stay valid for a prefix).
constexpr size_t kMaxPeerRouteBlocks = 512;

// Packs `routes` into as few payloads of at most `max_bytes` as it can. A route whose blocks do
// not fit in one payload keeps its leading blocks. Routes with an unencodable name (not a valid
// model id string) or no blocks are left out and counted in `skipped`.
std::vector<std::string> encodePeerRoutes(std::string_view sender, std::string_view jurisdiction,
                                          std::span<const PeerRoute> routes, size_t& skipped,
                                          size_t max_bytes = kMaxPeerPayloadBytes);

// Error code "invalid_peer_routes" with what was wrong.
Result<PeerRouteBatch> decodePeerRoutes(std::string_view payload);

// A sender id made of the characters the format allows (others become '_'), at most 128 bytes.
std::string peerSenderId(std::string_view replica_id, uint64_t nonce);

}  // namespace regiongate::routing
