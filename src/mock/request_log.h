#pragma once
// RequestLog: one JSON line per request the mock backend received, flushed per line so a test can
// read the file while the server runs. A test tool: it writes with stdio under a mutex from the
// worker threads (a blocking write of a short line per request), which a production data plane
// would never do.
//
// Line: {"ts":<unix micros>,"request_id":..,"path":..,"model":..,"prompt_hash":"<16 hex>",
//        "prompt_tokens":N,"cached_tokens":N,"stream":bool,"region":..,"status":N,"fault":..}
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"

namespace regiongate::mock {

struct RequestLogEntry {
  int64_t ts_micros = 0;
  std::string request_id;  // x-regiongate-request-id, empty if absent
  std::string path;
  std::string model;
  uint64_t prompt_hash = 0;  // xxh3 of the canonical prompt text
  uint64_t prompt_tokens = 0;
  uint64_t cached_tokens = 0;
  bool stream = false;
  std::string region;  // the region it answered as ("" when the header was omitted and no body)
  unsigned status = 0; // 0 = never answered (hang)
  std::string fault;   // "", "error", "hang", "close_mid_stream", "slow_first_byte"
};

std::string requestLogLine(const RequestLogEntry& e);

class RequestLog {
public:
  static Result<std::unique_ptr<RequestLog>> open(const std::string& path);
  ~RequestLog();
  void write(const RequestLogEntry& e);  // thread-safe

private:
  explicit RequestLog(std::FILE* f) : file_(f) {}
  std::mutex mu_;
  std::FILE* file_;
};

}  // namespace regiongate::mock
