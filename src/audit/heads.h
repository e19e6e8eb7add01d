#pragma once
// Exported chain heads (`regiongate audit heads`, `audit verify --heads FILE`): the newest
// (seq, hash) of every chain, one JSON line each, to be kept where the stores' administrators
// cannot write (a log shipped off the host, a ticket, an e-mail to the DPO). verify --heads then
// detects what the store alone cannot: truncation of the newest records together with their
// checkpoints, a rewritten chain, and a deleted store or replica (docs/audit.md).
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace regiongate::audit {

struct ExportedHead {
  std::string jurisdiction;
  std::string replica_id;
  int64_t seq = 0;
  std::string hash;   // 64 lowercase hex digits
  int64_t ts_us = 0;  // the head record's time
};

// {"jurisdiction":..,"replica_id":..,"seq":..,"hash":..,"ts_us":..,"ts":"<RFC 3339>"}
std::string headToJson(const ExportedHead& h);

using ChainKey = std::pair<std::string, std::string>;  // (jurisdiction, replica_id)

// What verify checks against: every exported head of every chain (a file appended to daily holds
// a history; each of them must still be in its chain, so a rewrite between two exports is caught
// too). `seen` collects the chains found in the stores, so the caller can report heads whose
// chain is in no store.
struct ExpectedHeads {
  std::map<ChainKey, std::map<int64_t, std::string>> by_chain;  // seq -> hash
  std::set<ChainKey> seen;
  size_t count() const;
};

// Parses JSON lines (blank lines and lines starting with '#' are skipped). Errors name the line
// number and the field; two lines giving one chain's seq different hashes are an error too.
Result<ExpectedHeads> parseHeads(std::string_view text);

}  // namespace regiongate::audit
