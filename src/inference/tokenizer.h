#pragma once
// Tokenizer: the mock backend's deterministic, documented stand-in for a real BPE tokenizer.
//
// Rule: the text is split into pieces; a piece is a maximal run of "word" bytes (ASCII letters,
// digits, '_' and every byte >= 0x80, so UTF-8 letters stay inside words) or one single other
// non-whitespace byte (punctuation). Whitespace separates pieces and is not a token. A piece's
// token id is the low 31 bits of xxh3(piece). The token count is the number of pieces.
//
// What is tokenized is a request's canonical prompt text (openai/prompt.h), the same text the
// gateway hashes; the simulator can call the same functions to predict block hashes.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regiongate::inference {

using TokenId = uint32_t;

class Tokenizer {
 public:
  // Token ids of `text` in order.
  static std::vector<TokenId> encode(std::string_view text);
  // Same as encode(text).size(), without allocating the ids.
  static size_t count(std::string_view text);
  // Calls fn(piece) for each piece in order.
  template <class Fn>
  static void forEachPiece(std::string_view text, Fn&& fn);
  static TokenId idOf(std::string_view piece);
};

inline bool isWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c >= 0x80;
}
inline bool isSpaceByte(unsigned char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

template <class Fn>
void Tokenizer::forEachPiece(std::string_view text, Fn&& fn) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (isSpaceByte(c)) {
      ++i;
    } else if (isWordByte(c)) {
      size_t j = i + 1;
      while (j < n && isWordByte(static_cast<unsigned char>(text[j]))) ++j;
      fn(text.substr(i, j - i));
      i = j;
    } else {
      fn(text.substr(i, 1));
      ++i;
    }
  }
}

}  // namespace regiongate::inference
