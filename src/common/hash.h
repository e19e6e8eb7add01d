#pragma once
// Hashing helpers: SHA-256 (OpenSSL) for keys and the audit chain, XXH3 (xxhash) for prompt blocks.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace regiongate {

using Sha256 = std::array<uint8_t, 32>;

Sha256 sha256(std::string_view data);
std::string sha256Hex(std::string_view data);
std::string toHex(const uint8_t* data, size_t len);
inline std::string toHex(const Sha256& h) { return toHex(h.data(), h.size()); }
// Constant-time comparison of two equal-length strings (key digests).
bool constantTimeEquals(std::string_view a, std::string_view b);

uint64_t xxh3(std::string_view data, uint64_t seed = 0);
// Chained block hash: hash of (parent, block bytes). Used for prefix blocks everywhere.
uint64_t chainHash(uint64_t parent, std::string_view block);

}  // namespace regiongate
