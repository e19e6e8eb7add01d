#pragma once
// Incremental Server-Sent Events splitter. Feed it bytes as they arrive from upstream; it yields
// complete events (the text between blank-line separators) without copying the stream twice.
// Only the `data:` field matters to the gateway (usage, evidence); other fields are passed over.
// Bounded: an event larger than max_event_bytes is reported as an error (a hostile or broken
// upstream cannot make the gateway buffer without limit).
#include <functional>
#include <string>
#include <string_view>

namespace regiongate::http {

class SseParser {
public:
  explicit SseParser(size_t max_event_bytes = 1 << 20) : max_event_bytes_(max_event_bytes) {}
  // Calls on_data(data) once per complete event carrying data (multi-line data joined with '\n').
  // Returns false if an event exceeded the size bound (the parser then stays failed).
  bool feed(std::string_view bytes, const std::function<void(std::string_view data)>& on_data);
  bool failed() const { return failed_; }
  size_t events() const { return events_; }

private:
  void dispatch(std::string_view event, const std::function<void(std::string_view)>& on_data);
  std::string pending_;
  std::string data_;
  size_t max_event_bytes_;
  size_t events_ = 0;
  bool failed_ = false;
};

}  // namespace regiongate::http
