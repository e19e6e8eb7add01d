#pragma once
// The spill: a gateway worker's audit records that are not yet in their SQLite store, one file
// per worker and jurisdiction on a memory filesystem (tmpfs, /dev/shm by default).
//
// Why: a response (wait_durable) may be sent once its record survives a crash of the process. A
// copy into a shared mapping of a tmpfs file gives that promise in a microsecond, on the worker's
// own thread, without a system call (the pages belong to the file, not the process). Waiting for
// the store instead costs every request two thread hops (worker -> writer -> worker) and, on
// ext4, the commit's wait behind the WAL checkpoint's fsync: measured on the benchmark VM, one
// client's p99 was ~1 ms above `sink: none` with a spill the writer wrote and 2-3 ms with none
// (docs/benchmarks.md "audit"). So the worker writes the record here and answers; the
// jurisdiction's writer thread chains and commits it behind the response and then marks it
// committed in this file.
//
// A process that dies leaves its spills. The next writer on the same audit directory and replica
// id reads every spill of its jurisdiction before it serves, takes the records after each one's
// committed mark that its store does not already hold (the mark is written after the commit, so
// a crash between the two leaves stored records behind it: compared by request id and start
// time), chains them and commits them. What tmpfs does not survive, a reboot or power loss, is
// what `durability: normal` already gives up (docs/audit.md "Durability").
//
// Layout: a 64-byte head (magic, ring capacity, committed position, checksum), then a ring of
// `capacity` bytes. Positions are logical and only grow; the entry at position p is at file
// offset 64 + p % capacity and never straddles the ring's end (one that would goes to the start
// of the next lap). Each entry is a 24-byte header (magic, payload length, its own position, XXH3
// of both and the payload) and one record as a JSON array of one element (segment.h), seq and
// hashes unset. The position in each header tells the current lap's entries from older ones.
//
// Nothing read back is trusted: the file lives in a world-writable directory (opened with
// O_NOFOLLOW, owned by this user, mode 0600, locked against a second process) and recovery
// stops at the first entry whose header, position, checksum or JSON does not hold. Its pages are
// reserved when it is mapped (posix_fallocate), so a full tmpfs is an error at start, never a
// SIGBUS in a worker.
//
// Thread affinity: append() on one worker thread, committed() on the writer thread (an atomic
// between them); open()/recover()/clear()/removeFile() before the workers start or after they
// and the writer stopped.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record.h"
#include "common/result.h"

namespace regiongate::audit {

// What parseSpill reads back.
struct SpillContents {
  uint64_t capacity = 0, committed = 0;
  std::vector<Record> records;  // after the committed mark, in the order they were written
  uint64_t end = 0;             // position after the last one read
};

// Parses a spill file's bytes: the head, then the entries from its committed position up to the
// first one that is missing, torn, from an older lap or not one record. A bad head reads as empty.
SpillContents parseSpill(std::string_view bytes);
// The bytes of a spill's head, and of one entry at `position` holding `payload` (for the fuzz
// target and the tests).
std::string encodeSpillHead(uint64_t capacity, uint64_t committed);
void encodeSpillEntry(std::string& out, uint64_t position, std::string_view payload);

class SpillFile {
public:
  // Per worker and jurisdiction: ~10 000 records of a few hundred bytes each. A worker whose
  // spill is full (its writer is behind by that much) waits for the store's commit instead.
  static constexpr uint64_t kDefaultCapacity = uint64_t{4} << 20;

  // Creates or opens `path`; fails (typed, with the reason) if it is not a regular file owned by
  // this user or another process holds it.
  static Result<std::unique_ptr<SpillFile>> open(const std::string& path,
                                                 uint64_t capacity = kDefaultCapacity);
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  // What a previous process left: the records after its committed mark.
  Result<std::vector<Record>> recover();
  // Forgets every record (after recovery committed them): the file starts again, empty, with
  // all its pages reserved and mapped for append().
  Status clear();

  // Worker thread. Copies `rec` (seq and hashes unset) as one entry into the mapped file.
  // Returns the entry's end position (> 0), or 0 when it could not (the ring is full, or the
  // file was never cleared): the caller then waits for the store's commit as without a spill.
  uint64_t append(const Record& rec);
  // Writer thread: every entry ending at or before `position` is in the store.
  void committed(uint64_t position);
  // Bytes appended and not yet committed.
  uint64_t pendingBytes() const;

  // At a clean stop with nothing pending: removes the file.
  void removeFile();
  const std::string& path() const { return path_; }

private:
  SpillFile(std::string path, int fd, uint64_t capacity)
      : path_(std::move(path)), fd_(fd), capacity_(capacity) {}
  Status writeHead(uint64_t committed);

  const std::string path_;
  int fd_ = -1;
  const uint64_t capacity_;
  std::atomic<uint64_t> written_{0};  // position after the last entry (written by the worker)
  std::atomic<uint64_t> committed_{0};
  std::string scratch_;  // the entry being written (worker thread, reused)
  char* map_ = nullptr;  // the whole file, mapped by clear()
};

// Where worker `worker`'s spill of one jurisdiction lives: `<spill_dir>/regiongate-audit-<hash of
// the audit dir's real path>-<hash of the replica id>-<jurisdiction>.<worker>.spill`, so that
// gateways on one host with different audit directories or chains never share one, and a
// restarted gateway finds its predecessor's.
std::string spillPath(const std::string& spill_dir, const std::string& audit_dir,
                      const std::string& replica_id, const std::string& jurisdiction,
                      size_t worker);
// Every spill of that audit directory, replica and jurisdiction in `spill_dir`, whatever its
// worker number (a predecessor may have run more workers).
std::vector<std::string> spillsOf(const std::string& spill_dir, const std::string& audit_dir,
                                  const std::string& replica_id, const std::string& jurisdiction);

// Spills of `audit_dir` in `spill_dir` that hold something and no running process owns: what
// a gateway that ended without committing left for the next one (`audit verify` says so).
std::vector<std::string> leftSpills(const std::string& spill_dir, const std::string& audit_dir);

// The default spill directory: /dev/shm when it is a tmpfs this process can write, else "" (no
// spill: responses wait for the SQLite commit).
std::string defaultSpillDir();

}  // namespace regiongate::audit
