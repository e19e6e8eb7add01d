#include "audit/heads.h"

#include <simdjson.h>

#include "audit/query.h"
#include "common/json.h"

namespace regiongate::audit {

std::string headToJson(const ExportedHead& h) {
  std::string out = "{\"jurisdiction\":";
  appendJsonString(out, h.jurisdiction);
  out += ",\"replica_id\":";
  appendJsonString(out, h.replica_id);
  out += ",\"seq\":" + std::to_string(h.seq) + ",\"hash\":";
  appendJsonString(out, h.hash);
  out += ",\"ts_us\":" + std::to_string(h.ts_us) + ",\"ts\":";
  appendJsonString(out, formatTimeUs(h.ts_us));
  out += "}";
  return out;
}

namespace {

bool isHash(std::string_view h) {
  if (h.size() != 64) return false;
  for (char c : h)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

size_t ExpectedHeads::count() const {
  size_t n = 0;
  for (const auto& [k, heads] : by_chain) n += heads.size();
  return n;
}

Result<ExpectedHeads> parseHeads(std::string_view text) {
  ExpectedHeads out;
  simdjson::dom::parser parser;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](const std::string& why) {
      return Error::config("heads line " + std::to_string(line_no) + ": " + why, "invalid_heads");
    };
    simdjson::dom::object obj;
    simdjson::padded_string padded(line);
    if (parser.parse(padded).get_object().get(obj)) return bad("not a JSON object");
    std::string_view jurisdiction, replica, hash;
    int64_t seq = 0;
    if (obj["jurisdiction"].get_string().get(jurisdiction) || jurisdiction.empty())
      return bad("jurisdiction missing or not a non-empty string");
    if (obj["replica_id"].get_string().get(replica) || replica.empty())
      return bad("replica_id missing or not a non-empty string");
    if (obj["seq"].get_int64().get(seq) || seq < 1)
      return bad("seq missing or not a positive integer");
    if (obj["hash"].get_string().get(hash) || !isHash(hash))
      return bad("hash missing or not 64 lowercase hex digits");
    auto& heads = out.by_chain[{std::string(jurisdiction), std::string(replica)}];
    auto [it, inserted] = heads.emplace(seq, std::string(hash));
    if (!inserted && it->second != hash)
      return bad("chain " + std::string(jurisdiction) + "/" + std::string(replica) + " seq " +
                 std::to_string(seq) + " has another hash on an earlier line");
  }
  return out;
}

}  // namespace regiongate::audit
