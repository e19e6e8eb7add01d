// Audit throughput: records/s per store (SQLite at each durability, PostgreSQL on a server this
// benchmark starts on 127.0.0.1 with fsync on), the request-path cost of submit(), and the
// per-record CPU of the canonical encoding and the chained record hash.
// Run: build/<dir>/bench/audit_bench   (docs/benchmarks.md "audit" records the figures)
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

#include "../tests/audit/pg_fixture.h"
#include "audit/audit_log.h"
#include "audit/record.h"
#include "audit/schema.h"
#include "audit/segment.h"

namespace regiongate::audit {
namespace {

Record benchRecord(int64_t i) {
  Record r;
  r.ts_us = 1'700'000'000'000'000 + i;
  r.request_id = "bench-" + std::to_string(i);
  r.tenant = "acme-bank";
  r.jurisdiction = "EU";
  r.model = "llama-3.1-8b";
  r.model_version = "v1";
  r.intended_region = r.actual_region = "eu-central-1";
  r.evidence = "header:x-inference-region";
  r.evidence_value = "eu-central-1";
  r.endpoint = "fra-a";
  r.attempts = {{"fra-a", "eu-central-1", "ok", 41.5}};
  r.status = 200;
  r.ttft_ms = 12.5;
  r.duration_ms = 180.25;
  r.prompt_tokens = 1200;
  r.cached_tokens = 1024;
  r.completion_tokens = 150;
  return r;
}

Config benchConfig(AuditSink sink, const std::string& dir, AuditDurability durability) {
  Config cfg;
  JurisdictionConfig j;
  j.name = "EU";
  cfg.jurisdictions.push_back(j);
  cfg.audit.sink = sink;
  cfg.audit.dir = dir;
  cfg.audit.durability = durability;
  cfg.audit.replica_id = "bench";
  cfg.audit.on_audit_failure = AuditFailureMode::Reject;
  cfg.audit.queue_capacity = 1 << 20;
  return cfg;
}

// Submits state.iterations() records and waits until all are durable: records/s per store.
void runThroughput(benchmark::State& state, const Config& cfg) {
  auto log = AuditLog::open(cfg, SystemClock::instance());
  if (!log.ok()) {
    state.SkipWithError(log.error().message.c_str());
    return;
  }
  std::atomic<int64_t> durable{0};
  int64_t submitted = 0;
  // Wall time from the first submit until the last record is durable: the store's rate.
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    while (!(*log)->admit("EU")) std::this_thread::yield();
    (*log)->submit(benchRecord(submitted++), [&](bool ok) { durable += ok; });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (durable < submitted && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["records_per_s"] = static_cast<double>(durable.load()) / secs;
  state.counters["durable"] = static_cast<double>(durable.load());
  (*log)->stop();
}

std::string tempDir() {
  std::string t = "/tmp/rg-audit-bench-XXXXXX";
  return mkdtemp(t.data()) ? t : "/tmp";
}

void BM_AuditSqlite(benchmark::State& state, AuditDurability durability) {
  const std::string dir = tempDir();
  runThroughput(state, benchConfig(AuditSink::Sqlite, dir, durability));
  std::filesystem::remove_all(dir);
}
BENCHMARK_CAPTURE(BM_AuditSqlite, normal, AuditDurability::Normal)
    ->Iterations(200000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_AuditSqlite, full, AuditDurability::Full)
    ->Iterations(50000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Started on first use; a static owner, so the server is stopped when the benchmark exits (a
// heap pointer that is never deleted left one PostgreSQL server running per bench run).
testing::PgServer* pgServer() {
  static std::unique_ptr<testing::PgServer> server = [] {
    auto s = std::make_unique<testing::PgServer>(/*fsync=*/true);
    std::string err = s->start();
    if (!err.empty()) std::fprintf(stderr, "postgres: %s\n", err.c_str());
    return s;
  }();
  return server.get();
}

void BM_AuditPostgres(benchmark::State& state) {
  testing::PgServer* pg = pgServer();
  if (!pg->running()) {
    state.SkipWithError("postgres not running");
    return;
  }
  static int db = 0;
  const std::string name = "bench" + std::to_string(++db);
  pg->exec("CREATE DATABASE " + name);
  Config cfg = benchConfig(AuditSink::Postgres, "", AuditDurability::Normal);
  cfg.audit.dsn["EU"] = "host=127.0.0.1 port=" + std::to_string(pg->port()) +
                        " user=postgres dbname=" + name;
  runThroughput(state, cfg);
}
BENCHMARK(BM_AuditPostgres)->Iterations(100000)->UseRealTime()->Unit(benchmark::kMillisecond);

// Request-path cost: one submit() (the hand-off), with 1 and 4 submitting threads.
void BM_AuditSubmitCost(benchmark::State& state) {
  static std::unique_ptr<AuditLog> log;
  static std::string dir;
  if (state.thread_index() == 0) {
    dir = tempDir();
    Config cfg = benchConfig(AuditSink::Sqlite, dir, AuditDurability::Off);
    cfg.audit.queue_capacity = 1 << 22;
    cfg.audit.stop_timeout_ms = 60000;
    auto r = AuditLog::open(cfg, SystemClock::instance());
    log = r.ok() ? std::move(r.value()) : nullptr;
  }
  int64_t i = state.thread_index() * 1'000'000'000LL;
  for (auto _ : state) {
    if (log) log->submit(benchRecord(i++));
  }
  if (state.thread_index() == 0) {
    if (log) log->stop();
    log.reset();
    std::filesystem::remove_all(dir);
  }
}
BENCHMARK(BM_AuditSubmitCost)->Threads(1)->Threads(4)->Iterations(100000)->UseRealTime();

// Per-record CPU of the hash chain, on the writer thread: the canonical encoding alone, and the
// record hash (SHA-256 over prev_hash + encoding), for a typical record and one with the prompt
// and completion text kept (a tenant that opted in, 4 KiB + 1 KiB).
void BM_AuditRecordEncode(benchmark::State& state) {
  Record r = benchRecord(7);
  if (state.range(0)) {
    r.prompt_text = std::string(4096, 'p');
    r.completion_text = std::string(1024, 'c');
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string enc = canonicalEncoding(r);
    bytes = enc.size();
    benchmark::DoNotOptimize(enc.data());
  }
  state.counters["encoded_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_AuditRecordEncode)->ArgName("with_text")->Arg(0)->Arg(1);

void BM_AuditRecordHash(benchmark::State& state) {
  Record r = benchRecord(7);
  if (state.range(0)) {
    r.prompt_text = std::string(4096, 'p');
    r.completion_text = std::string(1024, 'c');
  }
  std::string prev(kGenesisHash);
  for (auto _ : state) {
    prev = recordHash(prev, r);  // chained, as the writer does
    benchmark::DoNotOptimize(prev.data());
  }
}
BENCHMARK(BM_AuditRecordHash)->ArgName("with_text")->Arg(0)->Arg(1);

// The floor of the per-record cost on the writer thread, in two halves measured separately
// (docs/benchmarks.md "audit" uses them to show what the < 10 % target leaves per record):
//  - BM_AuditWriterCpu: the in-memory work of one group commit of `batch` records: normalize,
//    chain hash, build the segment text (what StoreWriter::commit does before the store).
//  - BM_AuditStorageFloor: storing that segment text and nothing else: a bare SQLite connection
//    (WAL, synchronous=NORMAL, the store's table, one prepared INSERT per transaction, no
//    encoding, no hashing, no queue), with SQLite's automatic WAL checkpoint (the store's
//    setting) or with checkpoints off (a lower bound that no durable store can keep: the WAL
//    would grow without limit). Both report thread CPU per record, which is what the
//    writer takes from a core it shares with a gateway worker.
double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<Record> chainedBatch(int64_t n) {
  std::vector<Record> batch;
  std::string prev(kGenesisHash);
  for (int64_t i = 0; i < n; ++i) {
    Record r = benchRecord(i);
    r.replica_id = "bench";
    r.seq = i + 1;
    normalizeRecord(r);
    r.prev_hash = prev;
    r.hash = recordHash(prev, r);
    prev = r.hash;
    batch.push_back(std::move(r));
  }
  return batch;
}

void BM_AuditWriterCpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<Record> batch = chainedBatch(n);
  std::string prev(kGenesisHash);
  size_t bytes = 0;
  const double c0 = threadCpuSeconds();
  for (auto _ : state) {
    for (auto& r : batch) {
      normalizeRecord(r);
      r.prev_hash = prev;
      r.hash = recordHash(prev, r);
      prev = r.hash;
    }
    Segment seg = makeSegment(batch, 0, batch.size());
    bytes = seg.records.size();
    benchmark::DoNotOptimize(seg.records.data());
  }
  const double records = static_cast<double>(state.iterations() * n);
  state.counters["cpu_us_per_record"] = (threadCpuSeconds() - c0) * 1e6 / records;
  state.counters["bytes_per_record"] = static_cast<double>(bytes) / static_cast<double>(n);
}
BENCHMARK(BM_AuditWriterCpu)->ArgName("batch")->Arg(34)->Arg(128);

void BM_AuditStorageFloor(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool checkpoint = state.range(1) != 0;
  const std::string dir = tempDir();
  const std::string path = dir + "/floor.db";
  sqlite3* db = nullptr;
  sqlite3_stmt *begin = nullptr, *ins = nullptr, *commit = nullptr;
  const std::string pragmas = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") +
                              (checkpoint ? "" : "PRAGMA wal_autocheckpoint=0;");
  const std::string insert_sql = std::string("INSERT INTO audit_segments (") +
                                 schema::kSegmentColumns + ") VALUES (?,?,?,?,?,?,?,?)";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
          SQLITE_OK ||
      sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_exec(db, schema::kCreateSegments, nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, insert_sql.c_str(), -1, &ins, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "COMMIT", -1, &commit, nullptr) != SQLITE_OK) {
    state.SkipWithError(sqlite3_errmsg(db));
  } else {
    const Segment seg = makeSegment(chainedBatch(n), 0, static_cast<size_t>(n));
    int64_t first_seq = 1;
    bool ok = true;
    const double c0 = threadCpuSeconds();
    for (auto _ : state) {
      sqlite3_bind_text(ins, 1, seg.replica_id.data(), static_cast<int>(seg.replica_id.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(ins, 2, first_seq);
      sqlite3_bind_int64(ins, 3, first_seq + n - 1);
      sqlite3_bind_int64(ins, 4, seg.min_ts_us);
      sqlite3_bind_int64(ins, 5, seg.max_ts_us);
      sqlite3_bind_int64(ins, 6, n);
      sqlite3_bind_int64(ins, 7, seg.violations);
      sqlite3_bind_text(ins, 8, seg.records.data(), static_cast<int>(seg.records.size()),
                        SQLITE_STATIC);
      ok = ok && sqlite3_step(begin) == SQLITE_DONE && sqlite3_step(ins) == SQLITE_DONE &&
           sqlite3_step(commit) == SQLITE_DONE;
      sqlite3_reset(begin);
      sqlite3_reset(ins);
      sqlite3_reset(commit);
      first_seq += n;
    }
    const double records = static_cast<double>(state.iterations() * n);
    state.counters["cpu_us_per_record"] = (threadCpuSeconds() - c0) * 1e6 / records;
    state.counters["bytes_per_record"] =
        static_cast<double>(seg.records.size()) / static_cast<double>(n);
    if (!ok) state.SkipWithError(sqlite3_errmsg(db));
  }
  sqlite3_finalize(begin);
  sqlite3_finalize(ins);
  sqlite3_finalize(commit);
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
}
// 34 records per group commit is what the gateway's writer averages at 64 connections
// (docs/benchmarks.md); 128 shows how much larger groups would save.
BENCHMARK(BM_AuditStorageFloor)
    ->ArgNames({"batch", "checkpoint"})
    ->Args({34, 1})
    ->Args({128, 1})
    ->Args({1, 1})
    ->Args({34, 0})
    ->Iterations(3000);

}  // namespace
}  // namespace regiongate::audit

BENCHMARK_MAIN();
