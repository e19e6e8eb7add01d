#include "routing/peer_routes.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <iterator>

#include "common/peer_string.h"

namespace regiongate::routing {

namespace {

constexpr std::string_view kMagic = "rg-routes 1 ";
constexpr size_t kHashChars = 17;  // up to 16 hex digits and a separator

bool encodable(std::string_view s) { return isValidPeerString(kModelIdString, s); }

Error invalid(std::string what) {
  return Error{ErrorSource::Downstream, "invalid_peer_routes", "peer routes: " + what, false};
}

// Splits off the text before `sep`; false when there is none.
bool cut(std::string_view& rest, char sep, std::string_view& field) {
  auto p = rest.find(sep);
  if (p == std::string_view::npos) return false;
  field = rest.substr(0, p);
  rest.remove_prefix(p + 1);
  return true;
}

Result<std::vector<uint64_t>> parseHashes(std::string_view text) {
  std::vector<uint64_t> out;
  while (!text.empty()) {
    if (out.size() == kMaxPeerRouteBlocks) return invalid("more than the allowed blocks per route");
    std::string_view h = text.substr(0, text.find(','));
    text.remove_prefix(std::min(text.size(), h.size() + 1));
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(h.data(), h.data() + h.size(), v, 16);
    if (h.empty() || h.size() > 16 || ec != std::errc() || end != h.data() + h.size())
      return invalid("a block hash is not 1 to 16 hex digits");
    out.push_back(v);
  }
  if (out.empty()) return invalid("a route without blocks");
  return out;
}

Result<PeerRoute> parseRoute(std::string_view line) {
  PeerRoute r;
  std::string_view model, endpoint;
  if (!cut(line, '\t', model) || !cut(line, '\t', endpoint))
    return invalid("a route line without three tab-separated fields");
  if (!encodable(model) || !encodable(endpoint)) return invalid("a malformed model or endpoint");
  auto blocks = parseHashes(line);
  if (!blocks) return blocks.error();
  r.model = std::string(model);
  r.endpoint = std::string(endpoint);
  r.blocks = std::move(blocks.value());
  return r;
}

std::string header(std::string_view sender, std::string_view jurisdiction) {
  return fmt::format("{}{} {}\n", kMagic, sender, jurisdiction);
}

// How many of `r`'s blocks fit in `room` bytes (0: not even one).
size_t blocksThatFit(const PeerRoute& r, size_t room) {
  const size_t fixed = r.model.size() + r.endpoint.size() + 2;
  if (room < fixed + kHashChars) return 0;
  return std::min<size_t>({r.blocks.size(), (room - fixed) / kHashChars, kMaxPeerRouteBlocks});
}

void appendRoute(std::string& out, const PeerRoute& r, size_t blocks) {
  out += r.model;
  out += '\t';
  out += r.endpoint;
  out += '\t';
  for (size_t i = 0; i < blocks; ++i)
    fmt::format_to(std::back_inserter(out), "{}{:x}", i ? "," : "", r.blocks[i]);
  out += '\n';
}

}  // namespace

std::vector<std::string> encodePeerRoutes(std::string_view sender, std::string_view jurisdiction,
                                          std::span<const PeerRoute> routes, size_t& skipped,
                                          size_t max_bytes) {
  std::vector<std::string> payloads;
  const std::string head = header(sender, jurisdiction);
  std::string cur = head;
  for (const auto& r : routes) {
    if (r.blocks.empty() || !encodable(r.model) || !encodable(r.endpoint)) {
      ++skipped;
      continue;
    }
    size_t n = blocksThatFit(r, max_bytes - std::min(max_bytes, cur.size()));
    if (n < std::min(r.blocks.size(), kMaxPeerRouteBlocks) && cur.size() > head.size()) {
      payloads.push_back(std::move(cur));  // a fresh payload gives the route more room
      cur = head;
      n = blocksThatFit(r, max_bytes - std::min(max_bytes, cur.size()));
    }
    if (n == 0) {
      ++skipped;
      continue;
    }
    appendRoute(cur, r, n);
  }
  if (cur.size() > head.size()) payloads.push_back(std::move(cur));
  return payloads;
}

Result<PeerRouteBatch> decodePeerRoutes(std::string_view payload) {
  if (payload.size() > 8000) return invalid("payload over 8000 bytes");
  if (!payload.starts_with(kMagic)) return invalid("not a routes payload of version 1");
  payload.remove_prefix(kMagic.size());
  std::string_view head, sender, jurisdiction;
  if (!cut(payload, '\n', head)) return invalid("no header line");
  if (!cut(head, ' ', sender)) return invalid("header without a jurisdiction");
  jurisdiction = head;
  if (!encodable(sender) || !encodable(jurisdiction))
    return invalid("a malformed sender or jurisdiction");
  PeerRouteBatch batch;
  batch.sender = std::string(sender);
  batch.jurisdiction = std::string(jurisdiction);
  while (!payload.empty()) {
    std::string_view line;
    if (!cut(payload, '\n', line)) return invalid("a route line without its newline");
    auto r = parseRoute(line);
    if (!r) return r.error();
    batch.routes.push_back(std::move(r.value()));
  }
  if (batch.routes.empty()) return invalid("no routes");
  return batch;
}

std::string peerSenderId(std::string_view replica_id, uint64_t nonce) {
  std::string id(replica_id.substr(0, 110));
  for (char& c : id)
    if (!isValidPeerString(kModelIdString, std::string_view(&c, 1))) c = '_';
  return fmt::format("{}{}{:016x}", id, id.empty() ? "" : "/", nonce);
}

}  // namespace regiongate::routing
