#include "audit/spill.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "audit/segment.h"
#include "common/hash.h"

namespace regiongate::audit {
namespace {

constexpr uint32_t kHeadMagic = 0x32505352;   // "RSP2"
constexpr uint32_t kEntryMagic = 0x45505352;  // "RSPE"
constexpr size_t kHeadBytes = 64;
constexpr size_t kEntryHeaderBytes = 24;
constexpr uint64_t kTmpfsMagic = 0x01021994;
// A spill is never bigger than its head and ring; a bigger ring was not written by us.
constexpr uint64_t kMaxCapacity = uint64_t{256} << 20;

struct Head {
  uint32_t magic = 0;
  uint32_t reserved = 0;
  uint64_t capacity = 0;
  uint64_t committed = 0;
  uint64_t checksum = 0;  // XXH3 of the fields above
};

struct EntryHeader {
  uint32_t magic = 0;
  uint32_t payload_len = 0;
  uint64_t position = 0;
  uint64_t checksum = 0;  // XXH3 of the fields above, then of the payload
};
static_assert(sizeof(EntryHeader) == kEntryHeaderBytes);

uint64_t headChecksum(const Head& h) {
  return xxh3(std::string_view(reinterpret_cast<const char*>(&h), offsetof(Head, checksum)));
}

uint64_t entryChecksum(const EntryHeader& h, std::string_view payload) {
  const uint64_t fields = xxh3(
      std::string_view(reinterpret_cast<const char*>(&h), offsetof(EntryHeader, checksum)));
  return xxh3(payload, fields);
}

Error spillError(const std::string& path, const std::string& what, int err = 0) {
  std::string msg = "audit spill " + path + ": " + what;
  if (err) msg += ": " + std::string(std::strerror(err));
  return Error{ErrorSource::Internal, "audit_spill", std::move(msg), false};
}

// Where an entry of `size` bytes that would start at `position` goes: there, or at the start of
// the next lap when it would straddle the ring's end.
uint64_t placeEntry(uint64_t position, uint64_t size, uint64_t capacity) {
  const uint64_t in_lap = position % capacity;
  return in_lap + size <= capacity ? position : position - in_lap + capacity;
}

// The record of the entry at ring offset `off` if it is whole, at `position`, and one record.
std::optional<Record> entryAt(std::string_view ring, uint64_t off, uint64_t position,
                              uint64_t& size) {
  if (off > ring.size() || ring.size() - off < kEntryHeaderBytes) return std::nullopt;
  EntryHeader h;
  std::memcpy(&h, ring.data() + off, kEntryHeaderBytes);
  if (h.magic != kEntryMagic || h.position != position ||
      h.payload_len > ring.size() - off - kEntryHeaderBytes)
    return std::nullopt;
  const std::string_view payload = ring.substr(off + kEntryHeaderBytes, h.payload_len);
  if (entryChecksum(h, payload) != h.checksum) return std::nullopt;
  std::vector<Record> recs = decodeSegment("", 0, payload);
  // decodeSegment marks what does not parse with a prev_hash naming the problem ("<...>"); a
  // spilled record is not chained yet.
  if (recs.size() != 1 || recs[0].seq != 0 || !recs[0].prev_hash.empty() ||
      !recs[0].hash.empty())
    return std::nullopt;
  size = kEntryHeaderBytes + h.payload_len;
  return std::move(recs[0]);
}

}  // namespace

std::string encodeSpillHead(uint64_t capacity, uint64_t committed) {
  Head h;
  h.magic = kHeadMagic;
  h.capacity = capacity;
  h.committed = committed;
  h.checksum = headChecksum(h);
  std::string out(kHeadBytes, '\0');
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

void encodeSpillEntry(std::string& out, uint64_t position, std::string_view payload) {
  EntryHeader h;
  h.magic = kEntryMagic;
  h.payload_len = static_cast<uint32_t>(payload.size());
  h.position = position;
  h.checksum = entryChecksum(h, payload);
  out.append(reinterpret_cast<const char*>(&h), kEntryHeaderBytes);
  out.append(payload);
}

SpillContents parseSpill(std::string_view bytes) {
  SpillContents out;
  if (bytes.size() < kHeadBytes) return out;
  Head h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (h.magic != kHeadMagic || h.checksum != headChecksum(h) || h.capacity < kEntryHeaderBytes ||
      h.capacity > kMaxCapacity)
    return out;
  out.capacity = h.capacity;
  out.committed = out.end = h.committed;
  const std::string_view ring = bytes.substr(kHeadBytes, h.capacity);
  // Each entry is at the next position, or (when it did not fit before the ring's end) at the
  // start of the next lap. Bounded: every step moves past a whole entry, at most one lap.
  uint64_t pos = h.committed;
  while (pos - h.committed < h.capacity) {
    uint64_t size = 0;
    std::optional<Record> rec = entryAt(ring, pos % h.capacity, pos, size);
    if (!rec) {
      const uint64_t next_lap = pos - pos % h.capacity + h.capacity;
      if (pos % h.capacity == 0 || next_lap - h.committed >= h.capacity) break;
      rec = entryAt(ring, 0, next_lap, size);
      if (!rec) break;
      pos = next_lap;
    }
    out.records.push_back(std::move(*rec));
    pos += size;
    out.end = pos;
  }
  return out;
}

Result<std::unique_ptr<SpillFile>> SpillFile::open(const std::string& path, uint64_t capacity) {
  if (capacity < kEntryHeaderBytes || capacity > kMaxCapacity)
    return spillError(path, "capacity out of range");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return spillError(path, "cannot open", errno);
  std::unique_ptr<SpillFile> f(new SpillFile(path, fd, capacity));
  struct stat st {};
  if (fstat(fd, &st) != 0) return spillError(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
    return spillError(path, "not a regular file of this user with mode 0600; remove it");
  if (flock(fd, LOCK_EX | LOCK_NB) != 0)
    return spillError(path, "in use by another process (two gateways on one audit.dir?)", errno);
  return f;
}

SpillFile::~SpillFile() {
  if (map_) munmap(map_, kHeadBytes + capacity_);
  if (fd_ >= 0) ::close(fd_);
}

namespace {

Result<std::string> readAll(int fd, const std::string& path) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return spillError(path, "cannot stat", errno);
  const uint64_t size =
      std::min<uint64_t>(static_cast<uint64_t>(st.st_size), kHeadBytes + kMaxCapacity);
  std::string bytes(size, '\0');
  size_t got = 0;
  while (got < size) {
    const ssize_t n = pread(fd, bytes.data() + got, size - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return spillError(path, "cannot read", errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

}  // namespace

Result<std::vector<Record>> SpillFile::recover() {
  auto bytes = readAll(fd_, path_);
  if (!bytes.ok()) return bytes.error();
  return std::move(parseSpill(bytes.value()).records);
}

Status SpillFile::clear() {
  if (map_) {
    munmap(map_, kHeadBytes + capacity_);
    map_ = nullptr;
  }
  if (ftruncate(fd_, 0) != 0) return spillError(path_, "cannot empty", errno);
  written_.store(0, std::memory_order_relaxed);
  committed_.store(0, std::memory_order_relaxed);
  // Every page reserved now: a write through the mapping into a page tmpfs cannot supply (the
  // filesystem full) would kill the process with SIGBUS.
  if (const int err = posix_fallocate(fd_, 0, static_cast<off_t>(kHeadBytes + capacity_)))
    return spillError(path_, "cannot reserve " + std::to_string(capacity_ >> 10) + " KiB", err);
  if (Status st = writeHead(0); !st.ok()) return st;
  // The file is mapped: a worker's append is a copy into the page cache, no system call (each
  // one costs microseconds on a virtual machine). A process that dies leaves the pages to the
  // file, as a write(2) would.
  void* ring = mmap(nullptr, kHeadBytes + capacity_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (ring == MAP_FAILED) return spillError(path_, "cannot map", errno);
  map_ = static_cast<char*>(ring);
  return {};
}

Status SpillFile::writeHead(uint64_t committed) {
  const std::string head = encodeSpillHead(capacity_, committed);
  if (pwrite(fd_, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size()))
    return spillError(path_, "cannot write its head", errno);
  return {};
}

uint64_t SpillFile::append(const Record& rec) {
  if (!map_) return 0;  // not cleared (recovery failed): the caller waits for the store
  scratch_.assign(kEntryHeaderBytes, '\0');  // the header, filled in below
  scratch_.push_back('[');
  appendRecordJson(scratch_, rec);
  scratch_.push_back(']');
  const std::string_view payload(scratch_.data() + kEntryHeaderBytes,
                                 scratch_.size() - kEntryHeaderBytes);
  const uint64_t size = scratch_.size();
  const uint64_t written = written_.load(std::memory_order_relaxed);
  const uint64_t at = placeEntry(written, size, capacity_);
  if (size > capacity_ || payload.size() > UINT32_MAX ||
      at + size - committed_.load(std::memory_order_acquire) > capacity_)
    return 0;
  EntryHeader h;
  h.magic = kEntryMagic;
  h.payload_len = static_cast<uint32_t>(payload.size());
  h.position = at;
  h.checksum = entryChecksum(h, payload);
  std::memcpy(scratch_.data(), &h, kEntryHeaderBytes);
  // A crash in the middle of the copy leaves an entry whose checksum fails, and its request was
  // not answered.
  std::memcpy(map_ + kHeadBytes + at % capacity_, scratch_.data(), scratch_.size());
  written_.store(at + size, std::memory_order_release);
  return at + size;
}

void SpillFile::committed(uint64_t position) {
  if (position <= committed_.load(std::memory_order_relaxed)) return;
  // The mark on file first: a worker may reuse the space once committed_ moves, and recovery
  // must not start before what is in that space.
  (void)writeHead(position);
  committed_.store(position, std::memory_order_release);
}

uint64_t SpillFile::pendingBytes() const {
  return written_.load(std::memory_order_acquire) - committed_.load(std::memory_order_acquire);
}

void SpillFile::removeFile() { ::unlink(path_.c_str()); }

namespace {

std::string hex64(uint64_t v, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%0*llx", digits, static_cast<unsigned long long>(v));
  return std::string(buf, static_cast<size_t>(digits));
}

// "regiongate-audit-<hash of the audit dir's real path>-": the names of one directory's spills.
std::string spillPrefix(const std::string& audit_dir) {
  std::error_code ec;
  std::string real = std::filesystem::weakly_canonical(audit_dir, ec).string();
  if (ec) real = audit_dir;
  return "regiongate-audit-" + hex64(xxh3(real), 16) + "-";
}

// "...-<replica hash>-<jurisdiction>.": one chain's spills, followed by "<worker>.spill".
std::string chainPrefix(const std::string& audit_dir, const std::string& replica_id,
                        const std::string& jurisdiction) {
  return spillPrefix(audit_dir) + hex64(xxh3(replica_id) >> 32, 8) + "-" + jurisdiction + ".";
}

bool isWorkerSuffix(std::string_view rest) {
  constexpr std::string_view kExt = ".spill";
  if (rest.size() <= kExt.size() || rest.substr(rest.size() - kExt.size()) != kExt) return false;
  rest.remove_suffix(kExt.size());
  return rest.size() <= 6 &&
         std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string spillPath(const std::string& spill_dir, const std::string& audit_dir,
                      const std::string& replica_id, const std::string& jurisdiction,
                      size_t worker) {
  const std::string name =
      chainPrefix(audit_dir, replica_id, jurisdiction) + std::to_string(worker) + ".spill";
  return (std::filesystem::path(spill_dir) / name).string();
}

std::vector<std::string> spillsOf(const std::string& spill_dir, const std::string& audit_dir,
                                  const std::string& replica_id, const std::string& jurisdiction) {
  std::vector<std::string> out;
  if (spill_dir.empty()) return out;
  const std::string prefix = chainPrefix(audit_dir, replica_id, jurisdiction);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(spill_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && isWorkerSuffix(std::string_view(name).substr(prefix.size())))
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> leftSpills(const std::string& spill_dir, const std::string& audit_dir) {
  std::vector<std::string> out;
  if (spill_dir.empty()) return out;
  const std::string prefix = spillPrefix(audit_dir);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(spill_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || !e.is_regular_file(ec)) continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    // Locked: a running gateway owns it, and its records are on their way to the store.
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
      auto bytes = readAll(fd, e.path().string());
      if (bytes.ok() && !parseSpill(bytes.value()).records.empty())
        out.push_back(e.path().string());
    }
    ::close(fd);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string defaultSpillDir() {
  struct statfs fs {};
  if (statfs("/dev/shm", &fs) != 0 || static_cast<uint64_t>(fs.f_type) != kTmpfsMagic) return "";
  if (access("/dev/shm", W_OK | X_OK) != 0) return "";
  return "/dev/shm";
}

}  // namespace regiongate::audit
