#include "http/sse.h"

namespace regiongate::http {

namespace {
// Finds the blank line that ends the next event. Lines end in "\r\n", "\n" or "\r" (the SSE
// spec allows all three). Returns {event_length, bytes_to_consume} or {npos, 0} when incomplete.
std::pair<size_t, size_t> findSeparator(std::string_view s) {
  size_t n = s.size(), line_start = 0, i = 0;
  while (i < n) {
    char c = s[i];
    if (c != '\n' && c != '\r') {
      ++i;
      continue;
    }
    if (c == '\r' && i + 1 == n) break;  // cannot tell "\r" from "\r\n" yet
    size_t term = (c == '\r' && s[i + 1] == '\n') ? 2 : 1;
    if (i == line_start) return {line_start, i + term};
    line_start = i + term;
    i = line_start;
  }
  return {std::string_view::npos, 0};
}
}  // namespace

void SseParser::dispatch(std::string_view event, const std::function<void(std::string_view)>& on_data) {
  data_.clear();
  bool has_data = false;
  while (!event.empty()) {
    size_t eol = event.find_first_of("\r\n");
    std::string_view line = event.substr(0, eol);
    if (eol == std::string_view::npos) {
      event = {};
    } else {
      size_t skip = (event[eol] == '\r' && eol + 1 < event.size() && event[eol + 1] == '\n') ? 2 : 1;
      event.remove_prefix(eol + skip);
    }
    if (line.substr(0, 5) == "data:") {
      std::string_view v = line.substr(5);
      if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (has_data) data_.push_back('\n');
      data_.append(v);
      has_data = true;
    }
  }
  if (has_data) {
    ++events_;
    on_data(data_);
  }
}

bool SseParser::feed(std::string_view bytes, const std::function<void(std::string_view)>& on_data) {
  if (failed_) return false;
  // Fast path: no partial event pending, parse straight from the input.
  std::string_view view;
  if (pending_.empty()) {
    view = bytes;
  } else {
    pending_.append(bytes);
    view = pending_;
  }
  size_t consumed = 0;
  for (;;) {
    auto [event_len, used] = findSeparator(view.substr(consumed));
    if (event_len == std::string_view::npos) break;
    dispatch(view.substr(consumed, event_len), on_data);
    consumed += used;
  }
  std::string rest(view.substr(consumed));
  pending_ = std::move(rest);
  if (pending_.size() > max_event_bytes_) {
    failed_ = true;
    pending_.clear();
    return false;
  }
  return true;
}

}  // namespace regiongate::http
