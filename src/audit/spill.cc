#include "audit/spill.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "audit/segment.h"
#include "common/hash.h"

namespace regiongate::audit {
namespace {

constexpr uint32_t kMagic = 0x31505352;  // "RSP1"
constexpr size_t kHeaderBytes = 32;
constexpr uint64_t kTmpfsMagic = 0x01021994;
// A spill never holds more than its writer's max_bytes; a bigger file was not written by us.
constexpr uint64_t kMaxReadBytes = uint64_t{256} << 20;

struct Header {
  uint32_t magic = 0;
  uint32_t payload_len = 0;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  uint64_t checksum = 0;
};
static_assert(sizeof(Header) == kHeaderBytes);

uint64_t checksumOf(const Header& h, std::string_view payload) {
  const uint64_t fields = xxh3(std::string_view(reinterpret_cast<const char*>(&h), 24));
  return xxh3(payload, fields);
}

Error spillError(const std::string& path, const std::string& what, int err = 0) {
  std::string msg = "audit spill " + path + ": " + what;
  if (err) msg += ": " + std::string(std::strerror(err));
  return Error{ErrorSource::Internal, "audit_spill", std::move(msg), false};
}

// The records of one entry, if they are exactly [first, last] and each one's hash covers it
// and links to the one before.
bool wellFormed(const Header& h, const std::vector<Record>& recs) {
  if (h.last_seq < h.first_seq || recs.size() != static_cast<size_t>(h.last_seq - h.first_seq + 1))
    return false;
  for (size_t i = 0; i < recs.size(); ++i) {
    const Record& r = recs[i];
    if (r.seq != h.first_seq + static_cast<int64_t>(i)) return false;
    if (i > 0 && r.prev_hash != recs[i - 1].hash) return false;
    if (r.hash != recordHash(r.prev_hash, r)) return false;
  }
  return true;
}

}  // namespace

std::vector<SpilledGroup> parseSpill(std::string_view bytes) {
  std::vector<SpilledGroup> out;
  size_t off = 0;
  while (bytes.size() - off >= kHeaderBytes) {
    Header h;
    std::memcpy(&h, bytes.data() + off, kHeaderBytes);
    if (h.magic != kMagic || h.payload_len > bytes.size() - off - kHeaderBytes) break;
    const std::string_view payload = bytes.substr(off + kHeaderBytes, h.payload_len);
    if (checksumOf(h, payload) != h.checksum) break;
    std::vector<Record> recs = decodeSegment("", h.first_seq, payload);
    if (!wellFormed(h, recs)) break;
    out.push_back(SpilledGroup{h.first_seq, h.last_seq, std::move(recs)});
    off += kHeaderBytes + h.payload_len;
  }
  return out;
}

Result<std::unique_ptr<SpillFile>> SpillFile::open(const std::string& path, uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return spillError(path, "cannot open", errno);
  std::unique_ptr<SpillFile> f(new SpillFile(path, fd, max_bytes));
  struct stat st {};
  if (fstat(fd, &st) != 0) return spillError(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
    return spillError(path, "not a regular file of this user with mode 0600; remove it");
  if (flock(fd, LOCK_EX | LOCK_NB) != 0)
    return spillError(path, "in use by another process (two gateways on one audit.dir?)", errno);
  return f;
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::vector<SpilledGroup>> SpillFile::recover() {
  struct stat st {};
  if (fstat(fd_, &st) != 0) return spillError(path_, "cannot stat", errno);
  const uint64_t size = std::min<uint64_t>(static_cast<uint64_t>(st.st_size), kMaxReadBytes);
  std::string bytes(size, '\0');
  size_t got = 0;
  while (got < size) {
    const ssize_t n = pread(fd_, bytes.data() + got, size - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return spillError(path_, "cannot read", errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return parseSpill(bytes);
}

Status SpillFile::clear() {
  if (ftruncate(fd_, 0) != 0) return spillError(path_, "cannot empty", errno);
  base_ = written_;
  committed_.store(written_, std::memory_order_relaxed);
  return {};
}

void encodeSpillEntry(std::string& out, int64_t first_seq, int64_t last_seq,
                      std::string_view payload) {
  Header h;
  h.magic = kMagic;
  h.payload_len = static_cast<uint32_t>(payload.size());
  h.first_seq = first_seq;
  h.last_seq = last_seq;
  h.checksum = checksumOf(h, payload);
  out.append(reinterpret_cast<const char*>(&h), kHeaderBytes);
  out.append(payload);
}

uint64_t SpillFile::append(const std::vector<Record>& batch, size_t begin, size_t end) {
  // Everything written is in the store: start again at offset 0 (see the header comment).
  if (committed_.load(std::memory_order_acquire) == written_) base_ = written_;
  const Segment seg = makeSegment(batch, begin, end);
  const uint64_t offset = written_ - base_;
  const uint64_t size = kHeaderBytes + seg.records.size();
  if (seg.records.size() > UINT32_MAX || offset + size > max_bytes_) return 0;
  scratch_.clear();
  encodeSpillEntry(scratch_, seg.first_seq, seg.last_seq, seg.records);
  // One pwrite: on tmpfs it completes or fails whole (a short count is treated as a failure and
  // the next entry overwrites it).
  const ssize_t n = pwrite(fd_, scratch_.data(), scratch_.size(), static_cast<off_t>(offset));
  if (n != static_cast<ssize_t>(scratch_.size())) return 0;
  written_ += size;
  return written_;
}

uint64_t SpillFile::pendingBytes() const {
  return written_ - committed_.load(std::memory_order_acquire);
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

}  // namespace

std::string spillPath(const std::string& spill_dir, const std::string& audit_dir,
                      const std::string& replica_id, const std::string& jurisdiction) {
  const std::string name =
      spillPrefix(audit_dir) + hex64(xxh3(replica_id) >> 32, 8) + "-" + jurisdiction + ".spill";
  return (std::filesystem::path(spill_dir) / name).string();
}

std::vector<std::string> leftSpills(const std::string& spill_dir, const std::string& audit_dir) {
  std::vector<std::string> out;
  if (spill_dir.empty()) return out;
  const std::string prefix = spillPrefix(audit_dir);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(spill_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || !e.is_regular_file(ec) || e.file_size(ec) == 0) continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    // Locked: a running gateway owns it, and its records are on their way to the store.
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) out.push_back(e.path().string());
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
