#include "mock/request_log.h"

#include <cerrno>
#include <cstring>

#include "common/json.h"

namespace regiongate::mock {

std::string requestLogLine(const RequestLogEntry& e) {
  char hash[17];
  std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(e.prompt_hash));
  std::string out = "{\"ts\":" + std::to_string(e.ts_micros) + ",\"request_id\":";
  appendJsonString(out, e.request_id);
  out += ",\"path\":";
  appendJsonString(out, e.path);
  out += ",\"model\":";
  appendJsonString(out, e.model);
  out += ",\"prompt_hash\":\"";
  out += hash;
  out += "\",\"prompt_tokens\":" + std::to_string(e.prompt_tokens) +
         ",\"cached_tokens\":" + std::to_string(e.cached_tokens) +
         ",\"stream\":" + (e.stream ? "true" : "false") + ",\"region\":";
  appendJsonString(out, e.region);
  out += ",\"status\":" + std::to_string(e.status) + ",\"fault\":";
  appendJsonString(out, e.fault);
  out += "}\n";
  return out;
}

Result<std::unique_ptr<RequestLog>> RequestLog::open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f)
    return Error::config("cannot open request log '" + path + "': " + std::strerror(errno),
                         "request_log_open_failed");
  return std::unique_ptr<RequestLog>(new RequestLog(f));
}

RequestLog::~RequestLog() {
  if (file_) std::fclose(file_);
}

void RequestLog::write(const RequestLogEntry& e) {
  std::string line = requestLogLine(e);
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace regiongate::mock
