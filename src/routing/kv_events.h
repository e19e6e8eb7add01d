#pragma once
// vLLM KV-cache events (vllm/distributed/kv_events.py): what a backend publishes on its ZMQ PUB
// socket as multipart [topic, 8-byte big-endian seq, msgpack payload]. The payload is a
// KVEventBatch; depending on the vLLM version the msgspec structs are encoded array_like
// (positional arrays, older versions) or as maps (field names; newer versions). Both decode here:
//   batch: [ts, [event...], data_parallel_rank?]      or {"ts", "events", "data_parallel_rank"}
//   event: ["BlockStored", block_hashes, parent_block_hash, token_ids, block_size, lora_id,
//           medium, ...]                                or {"type": "BlockStored", ...fields}
//          ["BlockRemoved", block_hashes, medium, ...]  or {"type": "BlockRemoved", ...}
//          ["AllBlocksCleared"]                         or {"type": "AllBlocksCleared"}
// A block hash is an int (older vLLM) or bytes (ExternalBlockHash; newer): bytes are folded to
// 64 bits with xxh3 (kvHashFromBytes). Unknown event types and unknown fields are skipped.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace regiongate::routing {

enum class KvEventKind { BlockStored, BlockRemoved, AllBlocksCleared };

struct KvEvent {
  KvEventKind kind = KvEventKind::BlockStored;
  std::vector<uint64_t> block_hashes;
  std::optional<uint64_t> parent_block_hash;  // BlockStored; nullopt = root
  std::vector<uint32_t> token_ids;            // BlockStored: block_size ids per block
  uint32_t block_size = 0;                    // BlockStored
  std::optional<int64_t> lora_id;
  std::string medium;                         // "" = not given (GPU)
};

struct KvEventBatch {
  double ts = 0;
  std::vector<KvEvent> events;
  std::optional<int64_t> data_parallel_rank;
  uint32_t skipped_events = 0;  // unknown event types
};

// Pure function of its input; never throws, never reads past `bytes`.
Result<KvEventBatch> decodeKvEventBatch(std::string_view bytes);

enum class KvEncoding { Array, Map };
// For publishers (the mock backend) and tests. Hashes are encoded as msgpack unsigned ints.
std::string encodeKvEventBatch(const KvEventBatch& batch, KvEncoding encoding);

uint64_t kvHashFromBytes(std::string_view bytes);

}  // namespace regiongate::routing
