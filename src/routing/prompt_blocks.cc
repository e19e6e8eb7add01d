#include "routing/prompt_blocks.h"

#include <cstring>
#include <string>

#include "common/hash.h"

namespace regiongate::routing {

namespace {
// Appends the chained hashes of blocks 0..n-1; hash(parent, i) hashes block i onto its parent.
template <class HashBlock>
void appendChain(size_t n, std::vector<uint64_t>& out, HashBlock&& hash) {
  out.reserve(out.size() + n);
  uint64_t parent = 0;
  for (size_t i = 0; i < n; ++i) out.push_back(parent = hash(parent, i));
}
}  // namespace

void promptBlocksInto(std::string_view text, size_t block_chars, std::vector<uint64_t>& out) {
  out.clear();
  if (block_chars == 0) return;
  appendChain(text.size() / block_chars, out, [&](uint64_t parent, size_t i) {
    return chainHash(parent, text.substr(i * block_chars, block_chars));
  });
}

std::vector<uint64_t> promptBlocks(std::string_view text, size_t block_chars) {
  std::vector<uint64_t> out;
  promptBlocksInto(text, block_chars, out);
  return out;
}

uint64_t tokenBlockHash(uint64_t parent, std::span<const uint32_t> ids) {
  // Serialise as little-endian uint32 so the hash does not depend on the host's byte order.
  std::string bytes(ids.size() * 4, '\0');
  for (size_t i = 0; i < ids.size(); ++i) {
    uint32_t v = ids[i];
    for (int b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<char>((v >> (8 * b)) & 0xff);
  }
  return chainHash(parent, bytes);
}

std::vector<uint64_t> tokenBlocks(std::span<const uint32_t> ids, size_t block_tokens) {
  std::vector<uint64_t> out;
  if (block_tokens == 0) return out;
  appendChain(ids.size() / block_tokens, out, [&](uint64_t parent, size_t i) {
    return tokenBlockHash(parent, ids.subspan(i * block_tokens, block_tokens));
  });
  return out;
}

}  // namespace regiongate::routing
