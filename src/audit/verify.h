#pragma once
// Recomputes every hash chain of a store and checks it against the store's checkpoints
// (`regiongate audit verify`). docs/audit.md lists what this can and cannot detect.
#include <cstdint>
#include <string>
#include <vector>

#include "audit/heads.h"
#include "audit/store.h"
#include "common/result.h"

namespace regiongate::audit {

struct ChainReport {
  std::string store;        // the store's name (file path or masked DSN)
  std::string replica_id;
  int64_t records = 0;
  int64_t last_seq = 0;
  int64_t checkpoints_checked = 0;  // checkpoints used for the truncation check
  int64_t checkpoints_unsigned = 0; // ignored because a key was given and they carry no MAC
  int64_t newest_checkpoint_seq = 0;
  int64_t pruned_through_seq = 0;   // the chain starts after this prune anchor (0 = at genesis)
  int64_t anchors_unsigned = 0;     // prune anchors ignored: a key was given, they carry no MAC
  std::string jurisdiction;         // of the chain's records ("" when it has none)
  int64_t heads_checked = 0;        // exported heads (verify --heads) found in the chain
  int64_t heads_pruned = 0;         // exported heads older than the prune anchor (not checkable)
  bool ok = true;
  // The first broken link (when !ok): which record, what verify expected and what it found.
  std::string problem;      // e.g. "hash mismatch (record edited)"
  int64_t broken_seq = 0;
  std::string expected, found;
};

// key: the checkpoint HMAC key; "" = MACs are not checked (checkpoints are then only as
// trustworthy as the store itself). Returns an error when the store cannot be read at all.
// heads: exported chain heads to check (heads.h); their chains are added to heads->seen.
Result<std::vector<ChainReport>> verifyStore(Store& store, const std::string& key,
                                             ExpectedHeads* heads = nullptr);

// One line per report: "OK ..." or "FAIL ...".
std::string formatReport(const ChainReport& r);

}  // namespace regiongate::audit
