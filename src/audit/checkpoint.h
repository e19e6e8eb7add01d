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

// Reads the key file (raw bytes, one trailing newline stripped). Errors name the path.
Result<std::string> loadCheckpointKey(const std::string& path);

}  // namespace regiongate::audit
