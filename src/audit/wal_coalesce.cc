#include "audit/wal_coalesce.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <new>
#include <string>

namespace regiongate::audit {
namespace {

constexpr const char* kVfsName = "regiongate-wal-coalesce";
// SQLite's WAL layout (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte file
// header, then frames of a 24-byte header + one page. Bytes 4-7 of a frame header (big-endian)
// are the database size in pages after a commit, 0 for frames that are not the commit frame.
constexpr int kWalHeaderBytes = 32;
constexpr int kFrameHeaderBytes = 24;
// Larger transactions (SQLite spilling its cache, a migration) are written in pieces of at most
// this size: SQLite's unix VFS masks the length of one write to 17 bits (seekAndWriteFd:
// `nBuf &= 0x1ffff`), so one write must stay below 128 KiB. A group commit of the audit writer
// (~34 records, ~40 KiB of frames) fits in one.
constexpr size_t kMaxBuffer = 120 * 1024;

std::atomic<uint64_t> g_writes_in{0}, g_writes_out{0}, g_commit_flushes{0};

sqlite3_vfs* realVfs(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

struct File {
  sqlite3_file base;  // first: SQLite sees a File* as a sqlite3_file*
  sqlite3_file* real;
  std::string* buf;  // WAL files only; null = pass every call through
  sqlite3_int64 buf_off;
  bool commit_pending;  // the last write was a commit frame's header
};
// The real VFS's file object follows ours, aligned for anything it may hold.
constexpr size_t kRealOffset = (sizeof(File) + 15) & ~size_t{15};

File* cast(sqlite3_file* p) { return reinterpret_cast<File*>(p); }
const sqlite3_io_methods* realMethods(File* f) { return f->real->pMethods; }

int flush(File* f) {
  if (!f->buf || f->buf->empty()) return SQLITE_OK;
  g_writes_out.fetch_add(1, std::memory_order_relaxed);
  const int rc = realMethods(f)->xWrite(f->real, f->buf->data(), static_cast<int>(f->buf->size()),
                                        f->buf_off);
  // Cleared either way: after a failure SQLite rolls the transaction back and writes its frames
  // again; frames past the last commit are never read (the wal-index does not list them).
  f->buf->clear();
  return rc;
}

int xClose(sqlite3_file* p) {
  File* f = cast(p);
  const int frc = flush(f);
  const int rc = realMethods(f) ? realMethods(f)->xClose(f->real) : SQLITE_OK;
  delete f->buf;
  f->buf = nullptr;
  return frc != SQLITE_OK ? frc : rc;
}

int xRead(sqlite3_file* p, void* out, int n, sqlite3_int64 off) {
  File* f = cast(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xRead(f->real, out, n, off);
}

int xWrite(sqlite3_file* p, const void* data, int n, sqlite3_int64 off) {
  File* f = cast(p);
  if (!f->buf) return realMethods(f)->xWrite(f->real, data, n, off);
  g_writes_in.fetch_add(1, std::memory_order_relaxed);
  const auto* bytes = static_cast<const char*>(data);
  const auto len = static_cast<size_t>(n);
  std::string& buf = *f->buf;
  const sqlite3_int64 end = f->buf_off + static_cast<sqlite3_int64>(buf.size());
  bool buffered = false;
  if (!buf.empty() && off >= f->buf_off && off + n <= end) {
    // SQLite rewrites a frame of the transaction in progress: overwrite it in place.
    std::memcpy(buf.data() + (off - f->buf_off), bytes, len);
    buffered = true;
  } else if (!buf.empty() && off == end && buf.size() + len <= kMaxBuffer) {
    buf.append(bytes, len);
    buffered = true;
  } else {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    if (len < kMaxBuffer) {
      f->buf_off = off;
      buf.assign(bytes, len);
      buffered = true;
    }
  }
  if (!buffered) {
    g_writes_out.fetch_add(1, std::memory_order_relaxed);
    if (int rc = realMethods(f)->xWrite(f->real, data, n, off); rc != SQLITE_OK) return rc;
  }
  if (f->commit_pending) {
    // This write completed the commit frame: it goes to the file now, before SQLite publishes
    // the commit, and its result is the COMMIT's.
    f->commit_pending = false;
    g_commit_flushes.fetch_add(1, std::memory_order_relaxed);
    return flush(f);
  }
  if (n == kFrameHeaderBytes && off >= kWalHeaderBytes) {
    const auto* h = reinterpret_cast<const unsigned char*>(bytes);
    f->commit_pending = (h[4] | h[5] | h[6] | h[7]) != 0;
  }
  return SQLITE_OK;
}

int xTruncate(sqlite3_file* p, sqlite3_int64 size) {
  File* f = cast(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xTruncate(f->real, size);
}

int xSync(sqlite3_file* p, int flags) {
  File* f = cast(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xSync(f->real, flags);
}

int xFileSize(sqlite3_file* p, sqlite3_int64* size) {
  File* f = cast(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xFileSize(f->real, size);
}

int xLock(sqlite3_file* p, int level) {
  File* f = cast(p);
  return realMethods(f)->xLock(f->real, level);
}

int xUnlock(sqlite3_file* p, int level) {
  File* f = cast(p);
  return realMethods(f)->xUnlock(f->real, level);
}

int xCheckReservedLock(sqlite3_file* p, int* out) {
  File* f = cast(p);
  return realMethods(f)->xCheckReservedLock(f->real, out);
}

int xFileControl(sqlite3_file* p, int op, void* arg) {
  File* f = cast(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xFileControl(f->real, op, arg);
}

int xSectorSize(sqlite3_file* p) {
  File* f = cast(p);
  return realMethods(f)->xSectorSize(f->real);
}

int xDeviceCharacteristics(sqlite3_file* p) {
  File* f = cast(p);
  return realMethods(f)->xDeviceCharacteristics(f->real);
}

// The shared-memory (wal-index) calls are made on the database file, which is never buffered.
int xShmMap(sqlite3_file* p, int page, int size, int extend, void volatile** out) {
  File* f = cast(p);
  if (realMethods(f)->iVersion < 2) return SQLITE_IOERR;
  return realMethods(f)->xShmMap(f->real, page, size, extend, out);
}

int xShmLock(sqlite3_file* p, int offset, int n, int flags) {
  File* f = cast(p);
  if (realMethods(f)->iVersion < 2) return SQLITE_IOERR;
  return realMethods(f)->xShmLock(f->real, offset, n, flags);
}

void xShmBarrier(sqlite3_file* p) {
  File* f = cast(p);
  if (realMethods(f)->iVersion >= 2) realMethods(f)->xShmBarrier(f->real);
}

int xShmUnmap(sqlite3_file* p, int del) {
  File* f = cast(p);
  if (realMethods(f)->iVersion < 2) return SQLITE_OK;
  return realMethods(f)->xShmUnmap(f->real, del);
}

int xFetch(sqlite3_file* p, sqlite3_int64 off, int n, void** out) {
  File* f = cast(p);
  if (realMethods(f)->iVersion < 3) {
    *out = nullptr;  // "no memory map": SQLite reads with xRead
    return SQLITE_OK;
  }
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return realMethods(f)->xFetch(f->real, off, n, out);
}

int xUnfetch(sqlite3_file* p, sqlite3_int64 off, void* ptr) {
  File* f = cast(p);
  if (realMethods(f)->iVersion < 3) return SQLITE_OK;
  return realMethods(f)->xUnfetch(f->real, off, ptr);
}

const sqlite3_io_methods kMethods = {
    3,          xClose,       xRead,      xWrite,       xTruncate,       xSync,
    xFileSize,  xLock,        xUnlock,    xCheckReservedLock, xFileControl, xSectorSize,
    xDeviceCharacteristics, xShmMap, xShmLock, xShmBarrier, xShmUnmap, xFetch,
    xUnfetch};

int xOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* p, int flags, int* out_flags) {
  File* f = cast(p);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(p) + kRealOffset);
  f->real->pMethods = nullptr;
  f->buf = nullptr;
  f->buf_off = 0;
  f->commit_pending = false;
  sqlite3_vfs* real = realVfs(vfs);
  const int rc = real->xOpen(real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite calls xClose on a failed open only if pMethods is set: close the real file here.
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    return rc;
  }
  if (flags & SQLITE_OPEN_WAL) {
    f->buf = new (std::nothrow) std::string();  // no buffer (out of memory): pass through
    if (f->buf) f->buf->reserve(64 * 1024);
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

// The rest of the VFS forwards to the default one, with the default one as its `this`.
int xDelete(sqlite3_vfs* v, const char* name, int sync) {
  return realVfs(v)->xDelete(realVfs(v), name, sync);
}
int xAccess(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return realVfs(v)->xAccess(realVfs(v), name, flags, out);
}
int xFullPathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return realVfs(v)->xFullPathname(realVfs(v), name, n, out);
}
void* xDlOpen(sqlite3_vfs* v, const char* name) { return realVfs(v)->xDlOpen(realVfs(v), name); }
void xDlError(sqlite3_vfs* v, int n, char* out) { realVfs(v)->xDlError(realVfs(v), n, out); }
void (*xDlSym(sqlite3_vfs* v, void* h, const char* sym))(void) {
  return realVfs(v)->xDlSym(realVfs(v), h, sym);
}
void xDlClose(sqlite3_vfs* v, void* h) { realVfs(v)->xDlClose(realVfs(v), h); }
int xRandomness(sqlite3_vfs* v, int n, char* out) {
  return realVfs(v)->xRandomness(realVfs(v), n, out);
}
int xSleep(sqlite3_vfs* v, int us) { return realVfs(v)->xSleep(realVfs(v), us); }
int xCurrentTime(sqlite3_vfs* v, double* out) {
  return realVfs(v)->xCurrentTime(realVfs(v), out);
}
int xGetLastError(sqlite3_vfs* v, int n, char* out) {
  return realVfs(v)->xGetLastError ? realVfs(v)->xGetLastError(realVfs(v), n, out) : 0;
}
int xCurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) {
  sqlite3_vfs* r = realVfs(v);
  if (r->iVersion >= 2 && r->xCurrentTimeInt64) return r->xCurrentTimeInt64(r, out);
  double day = 0;
  const int rc = r->xCurrentTime(r, &day);
  *out = static_cast<sqlite3_int64>(day * 86400000.0);
  return rc;
}

}  // namespace

const char* walCoalescingVfs() {
  static const char* const name = []() -> const char* {
    if (sqlite3_initialize() != SQLITE_OK) return nullptr;
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    if (!real) return nullptr;
    static sqlite3_vfs vfs{};
    vfs.iVersion = 2;  // no xSetSystemCall & co (test hooks of the unix VFS)
    vfs.szOsFile = static_cast<int>(kRealOffset) + real->szOsFile;
    vfs.mxPathname = real->mxPathname;
    vfs.zName = kVfsName;
    vfs.pAppData = real;
    vfs.xOpen = xOpen;
    vfs.xDelete = xDelete;
    vfs.xAccess = xAccess;
    vfs.xFullPathname = xFullPathname;
    vfs.xDlOpen = xDlOpen;
    vfs.xDlError = xDlError;
    vfs.xDlSym = xDlSym;
    vfs.xDlClose = xDlClose;
    vfs.xRandomness = xRandomness;
    vfs.xSleep = xSleep;
    vfs.xCurrentTime = xCurrentTime;
    vfs.xGetLastError = xGetLastError;
    vfs.xCurrentTimeInt64 = xCurrentTimeInt64;
    if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
    return kVfsName;
  }();
  return name;
}

WalCoalesceStats walCoalesceStats() {
  return {g_writes_in.load(std::memory_order_relaxed),
          g_writes_out.load(std::memory_order_relaxed),
          g_commit_flushes.load(std::memory_order_relaxed)};
}

}  // namespace regiongate::audit
