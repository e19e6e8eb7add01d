#include "audit/checkpoint.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <sstream>

#include "common/hash.h"

namespace regiongate::audit {

std::string checkpointMessage(const Checkpoint& cp) {
  std::string m = "regiongate-checkpoint-v1\n";
  m += cp.replica_id;
  m += '\n';
  m += std::to_string(cp.seq);
  m += '\n';
  m += cp.hash;
  m += '\n';
  m += std::to_string(cp.ts_us);
  m += '\n';
  return m;
}

std::string hmacSha256Hex(std::string_view key, std::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &len);
  return toHex(out, len);
}

void signCheckpoint(Checkpoint& cp, std::string_view key) {
  cp.mac = key.empty() ? std::string() : hmacSha256Hex(key, checkpointMessage(cp));
}

bool checkpointMacValid(const Checkpoint& cp, std::string_view key) {
  if (cp.mac.empty()) return false;
  return constantTimeEquals(hmacSha256Hex(key, checkpointMessage(cp)), cp.mac);
}

std::string pruneMessage(const PruneAnchor& a) {
  std::string m = "regiongate-prune-v1\n";
  for (const std::string& part : {a.replica_id, std::to_string(a.through_seq), a.hash,
                                  std::to_string(a.ts_us), std::to_string(a.cutoff_us)}) {
    m += part;
    m += '\n';
  }
  return m;
}

void signPruneAnchor(PruneAnchor& a, std::string_view key) {
  a.mac = key.empty() ? std::string() : hmacSha256Hex(key, pruneMessage(a));
}

bool pruneAnchorMacValid(const PruneAnchor& a, std::string_view key) {
  if (a.mac.empty()) return false;
  return constantTimeEquals(hmacSha256Hex(key, pruneMessage(a)), a.mac);
}

Result<std::string> loadCheckpointKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::config("audit.checkpoint_key_file: cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string key = ss.str();
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (!key.empty() && key.back() == '\r') key.pop_back();
  if (key.size() < 16)
    return Error::config("audit.checkpoint_key_file: key in " + path +
                         " is shorter than 16 bytes");
  return key;
}

}  // namespace regiongate::audit
