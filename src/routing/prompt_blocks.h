#pragma once
// Prefix block hashing without a tokenizer: the canonical prompt text is cut into fixed
// character blocks and each block's hash chains its parent's (common/hash.h chainHash), so block
// i's hash identifies the whole prefix [0, i]. A final partial block is not hashed (it cannot
// be a cached prefix shared with a longer prompt in the same form).
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace regiongate::routing {

std::vector<uint64_t> promptBlocks(std::string_view canonical_text, size_t block_chars);
// Same, appending into `out` (cleared first): lets the hot path reuse a buffer.
void promptBlocksInto(std::string_view canonical_text, size_t block_chars,
                      std::vector<uint64_t>& out);

// Token-id blocks (precise mode): block i = chainHash(block i-1, little-endian uint32 ids).
std::vector<uint64_t> tokenBlocks(std::span<const uint32_t> token_ids, size_t block_tokens);
uint64_t tokenBlockHash(uint64_t parent, std::span<const uint32_t> token_ids);

}  // namespace regiongate::routing
