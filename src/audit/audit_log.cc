#include "audit/audit_log.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <thread>

#include "audit/postgres_store.h"
#include "audit/sqlite_store.h"

namespace regiongate::audit {
namespace {

bool safeFileName(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+' ||
          c == '.'))
      return false;
  return true;
}

void escapeLabel(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
}

// The directory of the SQLite writers' spills (spill.h), "" for none. A spill only helps a
// response that waits for its record and may be answered before an fsync (durability full
// answers after the WAL's fsync, so it waits for the store's commit).
std::string spillDirFor(const AuditConfig& a) {
  if (!a.wait_durable || a.durability == AuditDurability::Full || a.spill_dir == "off") return "";
  if (a.spill_dir == "auto") return defaultSpillDir();
  return a.spill_dir;
}

// One spill per worker for `writer`, and the spills of the same chain a predecessor with more
// workers left (recovered by prepare(), then removed).
Status openSpills(StoreWriter& writer, const std::string& spill_dir, const std::string& audit_dir,
                  const std::string& replica_id, uint32_t workers) {
  std::vector<std::unique_ptr<SpillFile>> own, left;
  std::vector<std::string> own_paths;
  for (uint32_t i = 0; i < workers; ++i) {
    own_paths.push_back(spillPath(spill_dir, audit_dir, replica_id, writer.jurisdiction(), i));
    auto spill = SpillFile::open(own_paths.back());
    if (!spill.ok()) return spill.error();
    own.push_back(std::move(spill.value()));
  }
  for (const auto& path : spillsOf(spill_dir, audit_dir, replica_id, writer.jurisdiction())) {
    if (std::find(own_paths.begin(), own_paths.end(), path) != own_paths.end()) continue;
    auto spill = SpillFile::open(path);
    if (!spill.ok()) return spill.error();
    left.push_back(std::move(spill.value()));
  }
  writer.setSpills(std::move(own), std::move(left));
  return {};
}

}  // namespace

std::string defaultReplicaId() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const Config& cfg, const Clock& clock) {
  const AuditConfig& a = cfg.audit;
  std::vector<std::pair<std::string, std::unique_ptr<Store>>> stores;
  if (a.sink == AuditSink::None) return openWithStores(cfg, clock, std::move(stores));
  if (a.sink == AuditSink::Sqlite) {
    std::error_code ec;
    std::filesystem::create_directories(a.dir, ec);
    if (ec) return Error::config("audit.dir: cannot create " + a.dir + ": " + ec.message());
    for (const auto& j : cfg.jurisdictions) {
      if (!safeFileName(j.name))
        return Error::config("jurisdictions." + j.name +
                             ": name cannot be used as an audit file name");
      auto store = std::make_unique<SqliteStore>(
          (std::filesystem::path(a.dir) / (j.name + ".db")).string(),
          std::string(auditDurabilityName(a.durability)));
      // No answer waits for the commit: the checkpoints' stalls of the writer reach nobody.
      if (!spillDirFor(a).empty() || !a.wait_durable)
        store->setBackgroundCheckpointPages(SqliteStore::kCheckpointPages);
      stores.emplace_back(j.name, std::move(store));
    }
  } else {
    for (const auto& j : cfg.jurisdictions) {
      auto it = a.dsn.find(j.name);
      if (it == a.dsn.end() || it->second.empty())
        return Error::config("audit.dsn." + j.name + ": missing PostgreSQL DSN for jurisdiction " +
                             j.name + " (audit.sink is postgres)");
      stores.emplace_back(j.name, std::make_unique<PostgresStore>(it->second));
    }
  }
  return openWithStores(cfg, clock, std::move(stores));
}

Result<std::unique_ptr<AuditLog>> AuditLog::openWithStores(
    const Config& cfg, const Clock& clock,
    std::vector<std::pair<std::string, std::unique_ptr<Store>>> stores) {
  const AuditConfig& a = cfg.audit;
  if (a.queue_capacity == 0) return Error::config("audit.queue_capacity: must be at least 1");
  if (a.batch_max == 0) return Error::config("audit.batch_max: must be at least 1");
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->replica_id_ = a.replica_id.empty() ? defaultReplicaId() : a.replica_id;
  log->none_ = a.sink == AuditSink::None;
  WriterOptions opts;
  opts.queue_capacity = a.queue_capacity;
  opts.batch_max = a.batch_max;
  opts.flush_interval_ms = a.flush_interval_ms;
  opts.reject_when_failing = a.on_audit_failure == AuditFailureMode::Reject;
  opts.replica_id = log->replica_id_;
  opts.checkpoint_interval_ms = a.checkpoint_interval_ms;
  opts.stop_timeout_ms = a.stop_timeout_ms;
  if (!a.checkpoint_key_file.empty()) {
    auto key = loadCheckpointKey(a.checkpoint_key_file);
    if (!key.ok()) return key.error();
    opts.checkpoint_key = std::move(key.value());
  }
  const std::string spill_dir = spillDirFor(a);
  for (auto& [jurisdiction, store] : stores) {
    const bool sqlite = store->kind() == "sqlite";
    auto writer = std::make_unique<StoreWriter>(jurisdiction, std::move(store), opts, clock);
    if (sqlite && !spill_dir.empty()) {
      auto st = openSpills(*writer, spill_dir, a.dir, opts.replica_id, std::max<uint32_t>(1, cfg.workers));
      if (!st.ok()) return Error::config("audit.spill_dir: " + st.error().message);
    }
    if (auto st = writer->prepare(); !st.ok()) {
      // A local file that cannot be opened is a configuration problem; a database server that
      // is down may come back: start unhealthy and let the writer retry.
      if (sqlite)
        return Error::config("audit.dir: store for jurisdiction " + jurisdiction + ": " +
                             st.error().message);
      spdlog::warn("audit store {} unavailable at start, retrying: {}", jurisdiction,
                   st.error().message);
    }
    log->writers_.push_back(std::move(writer));
  }
  for (auto& w : log->writers_) w->start();
  return log;
}

AuditLog::~AuditLog() { stop(); }

StoreWriter* AuditLog::find(std::string_view jurisdiction) const {
  for (const auto& w : writers_)
    if (w->jurisdiction() == jurisdiction) return w.get();
  return nullptr;
}

SpillFile* AuditLog::spillFor(std::string_view jurisdiction, size_t worker) const {
  const StoreWriter* w = none_ ? nullptr : find(jurisdiction);
  return w ? w->spill(worker) : nullptr;
}

bool AuditLog::admit(std::string_view jurisdiction) const {
  if (none_) return true;
  const StoreWriter* w = find(jurisdiction);
  return w && w->admit();
}

Expectation AuditLog::expect(std::string_view jurisdiction) {
  if (none_) return {};
  StoreWriter* w = find(jurisdiction);
  return w ? w->expect() : Expectation{};
}

bool AuditLog::submit(Record rec, std::function<void(bool durable)> on_durable) {
  if (none_) {
    if (on_durable) on_durable(true);
    return true;
  }
  StoreWriter* w = find(rec.jurisdiction);
  if (!w) {
    unknown_dropped_.fetch_add(1, std::memory_order_relaxed);
    if (on_durable) on_durable(false);
    return false;
  }
  return w->submit(std::move(rec), std::move(on_durable));
}

void AuditLog::submitMany(std::vector<Submission>& subs) {
  if (subs.empty()) return;
  std::vector<uint8_t> taken(subs.size(), 0);
  size_t n = 0;
  if (!none_)
    for (const auto& w : writers_) {
      n += w->submitMany(subs, taken);
      if (n == subs.size()) break;
    }
  if (n < subs.size()) {
    // Sink none: nothing to store, durable at once. Otherwise: no store for the jurisdiction.
    ListenerBatch listeners;
    for (size_t i = 0; i < subs.size(); ++i) {
      if (taken[i]) continue;
      if (!none_) unknown_dropped_.fetch_add(1, std::memory_order_relaxed);
      if (subs[i].listener) listeners.add(subs[i].listener, subs[i].cookie);
    }
    listeners.send(none_);
  }
  subs.clear();
}

std::vector<AuditLog::StoreStatus> AuditLog::status() const {
  std::vector<StoreStatus> out;
  for (const auto& w : writers_)
    out.push_back(StoreStatus{w->jurisdiction(), w->sink(), w->lastError(), w->healthy(),
                              w->queueDepth(), w->written(), w->dropped()});
  return out;
}

void AuditLog::renderMetrics(std::string& out) const {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    std::function<std::string(const StoreWriter&)> value;
  };
  const Family families[] = {
      {"regiongate_audit_records_total", "counter", "Audit records committed to their store.",
       [](const StoreWriter& w) { return std::to_string(w.written()); }},
      {"regiongate_audit_commits_total", "counter",
       "Group commits (transactions) that stored audit records; records_total / commits_total is "
       "the mean group size (see audit.flush_interval_ms).",
       [](const StoreWriter& w) { return std::to_string(w.commits()); }},
      {"regiongate_audit_queue_depth", "gauge", "Audit records queued or in flight, not durable.",
       [](const StoreWriter& w) { return std::to_string(w.queueDepth()); }},
      {"regiongate_audit_dropped_total", "counter",
       "Audit records dropped (queue full, store failing under drop policy, or stop timeout).",
       [](const StoreWriter& w) { return std::to_string(w.dropped()); }},
      {"regiongate_audit_store_up", "gauge", "1 when the jurisdiction's audit store is writable.",
       [](const StoreWriter& w) { return std::string(w.healthy() ? "1" : "0"); }},
  };
  for (const auto& f : families) {
    out.append("# HELP ").append(f.name).append(" ").append(f.help).append("\n");
    out.append("# TYPE ").append(f.name).append(" ").append(f.type).append("\n");
    for (const auto& w : writers_) {
      out.append(f.name).append("{jurisdiction=\"");
      escapeLabel(out, w->jurisdiction());
      out.append("\"} ").append(f.value(*w)).append("\n");
    }
    if (std::string_view(f.name) == "regiongate_audit_dropped_total" &&
        unknown_dropped_.load(std::memory_order_relaxed) > 0)
      out.append(f.name)
          .append("{jurisdiction=\"\"} ")
          .append(std::to_string(unknown_dropped_.load(std::memory_order_relaxed)))
          .append("\n");
  }
}

void AuditLog::stop() {
  // Stop stores in parallel so the total bound is one stop_timeout_ms, not one per store.
  std::vector<std::thread> stoppers;
  for (auto& w : writers_) stoppers.emplace_back([&w] { w->stop(); });
  for (auto& t : stoppers) t.join();
}

}  // namespace regiongate::audit
