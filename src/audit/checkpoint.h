#pragma once
// Signed checkpoints: a row (replica, seq, hash, time) naming the newest record of a chain at
// that moment, authenticated with HMAC-SHA256 under audit.checkpoint_key_file's key. Deleting
// records older than the newest checkpoint, or editing the checkpoint, is then detectable by
// anyone holding the key (docs/audit.md "What verify cannot detect").
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace regiongate::audit {

struct Checkpoint {
  std::string replica_id;
  int64_t seq = 0;       // seq of the newest record covered
  std::string hash;      // that record's hash
  int64_t ts_us = 0;     // when the checkpoint was written
  std::string mac;       // hex HMAC-SHA256 of checkpointMessage(); "" = unsigned
};

// The signed bytes: "regiongate-checkpoint-v1\n<replica_id>\n<seq>\n<hash>\n<ts_us>\n".
std::string checkpointMessage(const Checkpoint& cp);
std::string hmacSha256Hex(std::string_view key, std::string_view message);
// Fills cp.mac (empty key: leaves it empty).
void signCheckpoint(Checkpoint& cp, std::string_view key);
bool checkpointMacValid(const Checkpoint& cp, std::string_view key);

// Retention (`regiongate audit prune`, audit/prune.h): the oldest segments of a chain are
// deleted and this anchor takes their place. It names the newest deleted record (seq, hash), so
// `audit verify` starts the chain there instead of at the genesis hash; signed like a checkpoint,
// so with the key a forged anchor cannot hide the deletion of records that were not pruned.
struct PruneAnchor {
  std::string replica_id;
  int64_t through_seq = 0;  // records 1..through_seq were deleted
  std::string hash;         // the hash of record through_seq (the next record's prev_hash)
  int64_t ts_us = 0;        // when the prune ran
  int64_t cutoff_us = 0;    // what it deleted: segments whose records are all older than this
  std::string mac;          // hex HMAC-SHA256 of pruneMessage(); "" = unsigned
};

// "regiongate-prune-v1\n<replica_id>\n<through_seq>\n<hash>\n<ts_us>\n<cutoff_us>\n".
std::string pruneMessage(const PruneAnchor& a);
void signPruneAnchor(PruneAnchor& a, std::string_view key);
bool pruneAnchorMacValid(const PruneAnchor& a, std::string_view key);

// Reads the key file (raw bytes, one trailing newline stripped). Errors name the path.
Result<std::string> loadCheckpointKey(const std::string& path);

}  // namespace regiongate::audit
