#include "common/hash.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace regiongate {

Sha256 sha256(std::string_view data) {
  Sha256 out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

std::string toHex(const uint8_t* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    s[2 * i] = kDigits[data[i] >> 4];
    s[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return s;
}

std::string sha256Hex(std::string_view data) { return toHex(sha256(data)); }

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

uint64_t xxh3(std::string_view data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

uint64_t chainHash(uint64_t parent, std::string_view block) { return xxh3(block, parent); }

}  // namespace regiongate
