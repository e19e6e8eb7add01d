#pragma once
// Line-by-line reading of text already in memory (traces, suites, Prometheus exposition).
#include <cstddef>
#include <string_view>

namespace regiongate {

// The line of `text` that starts at `pos`, without its '\n' (the last line may lack one), and
// moves `pos` past it. Loop with `while (pos < text.size())`.
inline std::string_view nextLine(std::string_view text, size_t& pos) {
  size_t nl = text.find('\n', pos);
  if (nl == std::string_view::npos) nl = text.size();
  std::string_view line = text.substr(pos, nl - pos);
  pos = nl + 1;
  return line;
}

}  // namespace regiongate
