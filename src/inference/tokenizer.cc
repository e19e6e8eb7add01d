#include "inference/tokenizer.h"

#include "common/hash.h"

namespace regiongate::inference {

TokenId Tokenizer::idOf(std::string_view piece) {
  return static_cast<TokenId>(xxh3(piece) & 0x7fffffffu);
}

std::vector<TokenId> Tokenizer::encode(std::string_view text) {
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 4 + 1);
  forEachPiece(text, [&](std::string_view piece) { ids.push_back(idOf(piece)); });
  return ids;
}

size_t Tokenizer::count(std::string_view text) {
  size_t n = 0;
  forEachPiece(text, [&](std::string_view) { ++n; });
  return n;
}

}  // namespace regiongate::inference
