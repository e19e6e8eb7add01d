#include "common/json.h"

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace regiongate {

namespace {

// SWAR tests on 8 bytes at once (exact as booleans): any byte < n (n <= 128), any byte == 0.
constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;
inline bool anyLess(uint64_t x, uint8_t n) { return ((x - kOnes * n) & ~x & kHighs) != 0; }
inline bool anyZero(uint64_t x) { return ((x - kOnes) & ~x & kHighs) != 0; }
// True if none of the 8 bytes at p needs a JSON escape (control, '"' or '\\').
inline bool plain8(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return !anyLess(x, 0x20) && !anyZero(x ^ (kOnes * '"')) && !anyZero(x ^ (kOnes * '\\'));
}

// One escaper for both writers below: `emit(data, n)` receives the literal's bytes in order
// (runs of plain text at once, then each escape).
template <class Emit>
inline void emitJsonString(std::string_view s, Emit&& emit) {
  emit("\"", 1);
  const char* d = s.data();
  size_t run = 0;  // start of the pending run of bytes that need no escape (emitted at once)
  for (size_t i = 0; i < s.size(); ++i) {
    while (i + 8 <= s.size() && plain8(d + i)) i += 8;  // the common case: plain text
    if (i >= s.size()) break;
    const auto c = static_cast<unsigned char>(d[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    if (i > run) emit(d + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': emit("\\\"", 2); break;
      case '\\': emit("\\\\", 2); break;
      case '\n': emit("\\n", 2); break;
      case '\r': emit("\\r", 2); break;
      case '\t': emit("\\t", 2); break;
      case '\b': emit("\\b", 2); break;
      case '\f': emit("\\f", 2); break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        emit(esc, 6);
      }
    }
  }
  if (s.size() > run) emit(d + run, s.size() - run);
  emit("\"", 1);
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  emitJsonString(s, [&](const char* p, size_t n) { out.append(p, n); });
}

char* writeJsonString(char* out, std::string_view s) {
  emitJsonString(s, [&](const char* p, size_t n) {
    std::memcpy(out, p, n);
    out += n;
  });
  return out;
}

std::string jsonString(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  appendJsonString(out, s);
  return out;
}

std::string errorBody(std::string_view type, std::string_view code, std::string_view message,
                      std::string_view extra_fields) {
  std::string out = "{\"error\":{\"message\":";
  appendJsonString(out, message);
  out += ",\"type\":";
  appendJsonString(out, type);
  out += ",\"code\":";
  appendJsonString(out, code);
  if (!extra_fields.empty()) {
    out.push_back(',');
    out += extra_fields;
  }
  out += "}}";
  return out;
}

}  // namespace regiongate
