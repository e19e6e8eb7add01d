#pragma once
// Shared helpers for the audit tests: records, temp dirs, bounded polling, running the binary.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "audit/record.h"
#include "config/config.h"

namespace regiongate::audit::testing {

// The DDL of the layout before segments (one row per record; git history of
// src/audit/schema.h), for the migration tests of both sinks.
inline constexpr const char* kLegacyCreateRecords =
    "CREATE TABLE IF NOT EXISTS audit_records ("
    "replica_id TEXT NOT NULL, seq BIGINT NOT NULL, ts_us BIGINT NOT NULL, "
    "request_id TEXT NOT NULL, tenant TEXT NOT NULL, jurisdiction TEXT NOT NULL, "
    "model TEXT NOT NULL, model_version TEXT NOT NULL, intended_region TEXT NOT NULL, "
    "actual_region TEXT NOT NULL, evidence TEXT NOT NULL, evidence_value TEXT NOT NULL, "
    "endpoint TEXT NOT NULL, attempts TEXT NOT NULL, status INTEGER NOT NULL, "
    "ttft_ms DOUBLE PRECISION NOT NULL, duration_ms DOUBLE PRECISION NOT NULL, "
    "prompt_tokens BIGINT NOT NULL, cached_tokens BIGINT NOT NULL, "
    "completion_tokens BIGINT NOT NULL, violation TEXT NOT NULL, error_type TEXT NOT NULL, "
    "prompt_text TEXT, completion_text TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, "
    "PRIMARY KEY (replica_id, seq))";
inline constexpr const char* kLegacyCreateTsIndex =
    "CREATE INDEX IF NOT EXISTS audit_records_ts ON audit_records (ts_us)";
inline constexpr const char* kLegacyCreateCheckpoints =
    "CREATE TABLE IF NOT EXISTS audit_checkpoints (replica_id TEXT NOT NULL, seq BIGINT NOT "
    "NULL, hash TEXT NOT NULL, ts_us BIGINT NOT NULL, mac TEXT NOT NULL, "
    "PRIMARY KEY (replica_id, seq))";

inline Record makeRecord(int i, const std::string& jurisdiction = "EU") {
  Record r;
  r.ts_us = 1'700'000'000'000'000 + i * 1000;
  r.request_id = "req-" + std::to_string(i);
  r.tenant = i % 3 == 0 ? "acme-bank" : "globex";
  r.jurisdiction = jurisdiction;
  r.model = "llama-3.1-8b";
  r.model_version = "v1";
  r.intended_region = "eu-central-1";
  r.actual_region = i % 7 == 0 ? "us-east-1" : "eu-central-1";
  r.evidence = "header:x-inference-region";
  r.evidence_value = r.actual_region;
  r.endpoint = "fra-a";
  r.attempts = {{"fra-b", "eu-west-1", "connect_error", 1.25}, {"fra-a", "eu-central-1", "ok", 42.5}};
  r.status = 200;
  r.ttft_ms = 12.345 + i;
  r.duration_ms = 100.5 + i;
  r.prompt_tokens = 100 + i;
  r.cached_tokens = 64;
  r.completion_tokens = 20;
  r.violation = i % 7 == 0 ? "outside_jurisdiction" : "";
  if (i % 5 == 0) r.prompt_text = "hello \"world\"\n" + std::to_string(i);
  return r;
}

// A fresh directory under /tmp, removed when the object dies.
class TempDir {
public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rg-audit-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

// Polls `cond` until true or `timeout` passes (bounded; the sleep is a poll interval, not a
// synchronisation). Returns the last value of cond().
inline bool pollUntil(const std::function<bool()>& cond,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

// The id of this process's thread named `name` (/proc/self/task/<tid>/comm), or 0.
inline pid_t threadNamed(const std::string& name) {
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string got;
    if (std::getline(comm, got) && got == name) return std::stoi(task.path().filename().string());
  }
  return 0;
}

// The nice value of thread `tid` (field 19 of /proc/self/task/<tid>/stat), or 100 if unreadable.
inline int threadNice(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 100;
  std::istringstream rest(stat.substr(close + 2));  // from field 3, the state
  std::string field;
  for (int i = 3; i <= 19 && rest >> field; ++i) {
    if (i == 19) return std::stoi(field);
  }
  return 100;
}

inline Config sqliteConfig(const std::string& dir, std::vector<std::string> jurisdictions = {"EU"}) {
  Config cfg;
  for (auto& j : jurisdictions) {
    JurisdictionConfig jc;
    jc.name = j;
    cfg.jurisdictions.push_back(jc);
  }
  cfg.audit.dir = dir;
  cfg.audit.sink = AuditSink::Sqlite;
  cfg.audit.replica_id = "replica-a";
  cfg.audit.flush_interval_ms = 2;
  cfg.audit.stop_timeout_ms = 10000;
  return cfg;
}

struct CmdResult {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command line, capturing stdout+stderr.
inline CmdResult runCmd(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace regiongate::audit::testing
