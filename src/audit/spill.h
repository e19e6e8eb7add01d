#pragma once
// The spill: records a StoreWriter has chained (seq and hash assigned) but not yet committed to
// its SQLite store, kept in one file on a memory filesystem (tmpfs, /dev/shm by default).
//
// Why: a response (wait_durable) may be sent once its record survives a crash of the process. A
// write(2) to tmpfs gives that promise in microseconds and never waits for a disk, while a SQLite
// commit on ext4 waits whenever a WAL checkpoint is fsyncing the block it appends to (measured
// on the benchmark VM: one client's p99 3.6-91 ms with the audit against 0.6-2.5 ms without it,
// docs/benchmarks.md "audit"). With the spill, the writer answers after the spill write and a
// second thread commits to SQLite behind it. A process that dies leaves the spill behind; the
// next writer on the same audit directory commits what the store lacks before it starts
// (StoreWriter::prepare). What tmpfs does not survive, a reboot or power loss, is what
// `durability: normal` already gives up (docs/audit.md "Durability").
//
// Layout: entries back to back from offset 0, each a 32-byte header (magic, payload length,
// first and last seq, XXH3 of the header fields and payload) and a payload: the JSON array of the
// records (segment.h), as a store would keep them. When every entry written is committed, the
// next one starts again at offset 0; the older entries left behind it name older sequence
// numbers, which recovery skips (it takes only records that continue the store's chain).
//
// Nothing read back is trusted: the file lives in a world-writable directory (opened with
// O_NOFOLLOW, owned by this user, mode 0600, locked against a second process) and recovery
// stops at the first entry whose header, checksum, JSON or hash chain does not hold.
//
// Thread affinity: append() on the writer thread, committed() on the committing thread (an
// atomic between them); open()/recover()/removeFile() before start or after both stopped.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record.h"
#include "common/result.h"

namespace regiongate::audit {

// One entry read back by recover(): a group of chained records in chain order.
struct SpilledGroup {
  int64_t first_seq = 0, last_seq = 0;
  std::vector<Record> records;
};

// Appends one entry (header and payload, the JSON array of the records first_seq..last_seq).
void encodeSpillEntry(std::string& out, int64_t first_seq, int64_t last_seq,
                      std::string_view payload);

// Parses a spill file's bytes: the entries from offset 0 up to the first one that is
// incomplete, fails its checksum or does not decode into exactly [first_seq, last_seq].
std::vector<SpilledGroup> parseSpill(std::string_view bytes);

class SpillFile {
public:
  static constexpr uint64_t kDefaultMaxBytes = uint64_t{16} << 20;

  // Creates or opens `path`; fails (typed, with the reason) if it is not a regular file owned by
  // this user or another process holds it.
  static Result<std::unique_ptr<SpillFile>> open(const std::string& path,
                                                 uint64_t max_bytes = kDefaultMaxBytes);
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  // What a previous process left: the file's entries as parseSpill reads them.
  Result<std::vector<SpilledGroup>> recover();
  // Forgets every entry (after recovery committed them): the file is emptied.
  Status clear();

  // Writer thread. Writes records [begin, end) of `batch` (one chain, seq ascending) as one
  // entry. Returns the entry's end position (a logical position, increasing for the life of this
  // object), or 0 when it could not (the file would pass max_bytes, or the write failed): the
  // caller then waits for the store's commit as without a spill.
  uint64_t append(const std::vector<Record>& batch, size_t begin, size_t end);
  // Committing thread: every entry ending at or before `position` is in the store.
  void committed(uint64_t position) { committed_.store(position, std::memory_order_release); }
  // Entries appended and not yet committed (bytes).
  uint64_t pendingBytes() const;

  // At a clean stop with nothing pending: removes the file.
  void removeFile();
  const std::string& path() const { return path_; }

private:
  SpillFile(std::string path, int fd, uint64_t max_bytes)
      : path_(std::move(path)), fd_(fd), max_bytes_(max_bytes) {}

  const std::string path_;
  int fd_ = -1;
  const uint64_t max_bytes_;
  // Logical positions: `written_` is where the next entry goes, `base_` the logical position of
  // file offset 0 (moved up when the writer starts again at offset 0).
  uint64_t written_ = 0;
  uint64_t base_ = 0;
  std::atomic<uint64_t> committed_{0};
  std::string scratch_;  // the entry being written (reused)
};

// Where a writer's spill lives: `<spill_dir>/regiongate-audit-<hash of the audit dir's real
// path>-<hash of the replica id>-<jurisdiction>.spill`, so that gateways on one host with different
// audit directories or chains never share one, and a restarted gateway finds its predecessor's.
std::string spillPath(const std::string& spill_dir, const std::string& audit_dir,
                      const std::string& replica_id, const std::string& jurisdiction);

// Spills of `audit_dir` in `spill_dir` that hold something and no running process owns: what
// a gateway that ended without committing left for the next one (`audit verify` says so).
std::vector<std::string> leftSpills(const std::string& spill_dir, const std::string& audit_dir);

// The default spill directory: /dev/shm when it is a tmpfs this process can write, else "" (no
// spill: responses wait for the SQLite commit).
std::string defaultSpillDir();

}  // namespace regiongate::audit
