#pragma once
// A SQLite VFS shim that coalesces writes to the write-ahead log (WAL) file.
//
// Why: SQLite writes every WAL frame with two pwrite() calls (the 24-byte frame header, then the
// page), and with 4 KiB pages each frame (4120 bytes) straddles two page-cache pages, so the
// kernel does ~3 page-cache write operations per database page. The audit writer appends one
// segment of ~24 KiB per group commit, i.e. ~9 frames; on the 2-vCPU VM of docs/benchmarks.md the
// kernel's buffered-write path was the largest part of the audit writer's CPU. This shim keeps a
// transaction's frames in one buffer and writes them with ONE pwrite() when the commit frame is
// complete, before SQLite publishes the commit (the wal-index header): `BM_AuditStorageFloor`
// (bench/audit_bench.cc) measures the difference. No packaged library does this (SQLite has no
// WAL write buffer, and no Debian package ships a VFS shim), so it is written here.
//
// Correctness rules (tests/audit/wal_coalesce_test.cc checks each):
//  - Only the WAL file is buffered; the database file and every other file pass through.
//  - The commit frame is the frame whose header has a non-zero "database size after commit"
//    field (the SQLite file format, section "WAL frame format"). The write that completes it
//    flushes the buffer and returns the real pwrite's result, so a failed flush (disk full) fails
//    the COMMIT instead of losing it. Frames are therefore in the file (the kernel's page cache:
//    a killed process loses nothing) before any other connection or process can see the commit.
//  - Every other call on the WAL file (read, sync, truncate, size, file control, close) flushes
//    first, so SQLite never observes the file without its own writes. A write that is not
//    contiguous with the buffer either lands inside it (SQLite rewrites a frame of the same
//    transaction) or flushes it first, so the file always ends up with exactly what SQLite wrote,
//    in SQLite's order.
#include <cstdint>

namespace regiongate::audit {

// Registers the shim (once per process, over the default VFS) and returns its name for
// sqlite3_open_v2(), or nullptr if SQLite refused the registration (then open with the default
// VFS: everything still works, without the saving).
const char* walCoalescingVfs();

// Process-wide counters, for tests and benchmarks.
struct WalCoalesceStats {
  uint64_t wal_writes_in = 0;   // xWrite calls SQLite made on WAL files
  uint64_t wal_writes_out = 0;  // pwrite calls passed to the real VFS for WAL files
  uint64_t commit_flushes = 0;  // flushes triggered by a completed commit frame
};
WalCoalesceStats walCoalesceStats();

}  // namespace regiongate::audit
