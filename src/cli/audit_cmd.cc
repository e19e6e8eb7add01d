// `regiongate audit verify|query|prune|heads`: offline tools over the audit stores
// (docs/audit.md).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/heads.h"
#include "audit/postgres_store.h"
#include "audit/prune.h"
#include "audit/query.h"
#include "audit/spill.h"
#include "audit/sqlite_store.h"
#include "audit/verify.h"
#include "cli/commands.h"
#include "common/clock.h"

namespace regiongate::cli {
namespace {

namespace fs = std::filesystem;
using audit::Store;

struct AuditArgs {
  std::string dir;
  std::vector<std::string> dsns;
  std::string key_file;
  std::string jurisdiction;
  bool violations = false;
  std::string since;
  std::string until;
  std::string request_id;
  std::string tenant;
  std::string format = "table";
  int64_t limit = -1;
  std::string before;           // prune
  int64_t older_than_days = -1; // prune
  bool dry_run = false;         // prune
  std::string heads_file;       // verify --heads
};

struct NamedStore {
  std::string jurisdiction;  // "" = all jurisdictions in the store (a PostgreSQL DSN)
  std::unique_ptr<Store> store;
};

// Stores named by --dir (one <jurisdiction>.db each) and --dsn. Exit code 2 on usage errors.
// writable: prune (opens and, for an older layout, migrates); verify and query open read-only.
std::optional<std::vector<NamedStore>> collectStores(const AuditArgs& a, const std::string& only,
                                                     int& rc, bool writable = false) {
  std::vector<NamedStore> out;
  if (a.dir.empty() && a.dsns.empty()) {
    std::fprintf(stderr, "regiongate audit: give --dir D (SQLite stores) and/or --dsn DSN\n");
    rc = 2;
    return std::nullopt;
  }
  if (!a.dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(a.dir, ec)) {
      std::fprintf(stderr, "regiongate audit: --dir %s: not a directory\n", a.dir.c_str());
      rc = 2;
      return std::nullopt;
    }
    for (const auto& left : audit::leftSpills(audit::defaultSpillDir(), a.dir))
      std::fprintf(stderr,
                   "regiongate audit: %s holds answered records of %s that a gateway ended before "
                   "storing; they are stored when a gateway starts again on this directory\n",
                   left.c_str(), a.dir.c_str());
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(a.dir, ec))
      if (e.is_regular_file() && e.path().extension() == ".db") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string j = f.stem().string();
      if (!only.empty() && j != only) continue;
      out.push_back({j, std::make_unique<audit::SqliteStore>(f.string(), "normal", !writable)});
    }
  }
  for (const auto& dsn : a.dsns)
    out.push_back({"", std::make_unique<audit::PostgresStore>(dsn, 3, /*read_only=*/!writable)});
  return out;
}

// Parses a time option (empty = not given); false, after printing why, when it is malformed.
bool parseTimeOption(const std::string& text, const char* cmd, std::optional<int64_t>& out) {
  if (text.empty()) return true;
  auto t = audit::parseTimeArg(text);
  if (!t.ok()) {
    std::fprintf(stderr, "regiongate audit %s: %s\n", cmd, t.error().message.c_str());
    return false;
  }
  out = t.value();
  return true;
}

// Reads --key-file when given; false (after printing why) when it cannot be used.
bool loadKey(const AuditArgs& a, const char* cmd, std::string& key) {
  if (a.key_file.empty()) return true;
  auto k = audit::loadCheckpointKey(a.key_file);
  if (!k.ok()) {
    std::fprintf(stderr, "regiongate audit %s: %s\n", cmd, k.error().message.c_str());
    return false;
  }
  key = std::move(k.value());
  return true;
}

int runPrune(const AuditArgs& a) {
  const int64_t now_us = SystemClock::instance().wallMicros();
  audit::PruneOptions opts;
  opts.now_us = now_us;
  opts.dry_run = a.dry_run;
  if (a.before.empty() == (a.older_than_days < 0)) {
    std::fprintf(stderr, "regiongate audit prune: give exactly one of --before T and "
                         "--older-than-days N\n");
    return 2;
  }
  if (!a.before.empty()) {
    std::optional<int64_t> before;
    if (!parseTimeOption(a.before, "prune", before)) return 2;
    opts.cutoff_us = *before;
  } else {
    if (a.older_than_days > 365LL * 1000) {
      std::fprintf(stderr, "regiongate audit prune: --older-than-days %lld is out of range\n",
                   static_cast<long long>(a.older_than_days));
      return 2;
    }
    opts.cutoff_us = now_us - a.older_than_days * 86'400'000'000LL;
  }
  if (opts.cutoff_us > now_us) {
    std::fprintf(stderr, "regiongate audit prune: the cutoff is in the future\n");
    return 2;
  }
  if (!loadKey(a, "prune", opts.key)) return 2;
  int rc = 0;
  auto stores = collectStores(a, a.jurisdiction, rc, /*writable=*/true);
  if (!stores) return rc;
  if (stores->empty()) {
    std::printf("FAIL no audit stores found in %s\n", a.dir.c_str());
    return 1;
  }
  bool all_ok = true;
  int64_t records = 0;
  for (auto& ns : *stores) {
    auto reports = audit::pruneStore(*ns.store, opts);
    if (!reports.ok()) {
      std::printf("FAIL %s: %s\n", ns.store->name().c_str(), reports.error().message.c_str());
      all_ok = false;
      continue;
    }
    for (const auto& r : reports.value()) {
      std::printf("%s\n", audit::formatPruneReport(r, a.dry_run).c_str());
      all_ok = all_ok && r.ok;
      records += r.records_deleted;
    }
  }
  std::printf("%s: %lld record(s) %s%s\n", all_ok ? "pruned" : "prune FAILED for some chains",
              static_cast<long long>(records), a.dry_run ? "would be deleted (dry run)" : "deleted",
              opts.key.empty() ? ", prune anchors unsigned (no --key-file)" : "");
  return all_ok ? 0 : 1;
}

int runHeads(const AuditArgs& a) {
  int rc = 0;
  auto stores = collectStores(a, a.jurisdiction, rc);
  if (!stores) return rc;
  bool failed = false;
  for (auto& ns : *stores) {
    auto replicas = ns.store->replicas();
    if (!replicas.ok()) {
      std::fprintf(stderr, "regiongate audit heads: %s\n", replicas.error().message.c_str());
      failed = true;
      continue;
    }
    for (const auto& replica : replicas.value()) {
      auto head = ns.store->chainHead(replica);
      if (!head.ok()) {
        std::fprintf(stderr, "regiongate audit heads: %s\n", head.error().message.c_str());
        failed = true;
        continue;
      }
      if (head->seq == 0) continue;  // no records (only checkpoints or anchors)
      audit::ExportedHead h;
      h.jurisdiction = head->jurisdiction.empty() ? ns.jurisdiction : head->jurisdiction;
      h.replica_id = replica;
      h.seq = head->seq;
      h.hash = head->hash;
      h.ts_us = head->ts_us;
      if (!a.jurisdiction.empty() && h.jurisdiction != a.jurisdiction) continue;
      std::printf("%s\n", audit::headToJson(h).c_str());
    }
  }
  return failed ? 1 : 0;
}

int runVerify(const AuditArgs& a) {
  int rc = 0;
  std::string key;
  if (!loadKey(a, "verify", key)) return 2;
  std::optional<audit::ExpectedHeads> heads;
  if (!a.heads_file.empty()) {
    std::ifstream in(a.heads_file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "regiongate audit verify: --heads %s: cannot read\n",
                   a.heads_file.c_str());
      return 2;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto parsed = audit::parseHeads(text.str());
    if (!parsed.ok()) {
      std::fprintf(stderr, "regiongate audit verify: --heads %s: %s\n", a.heads_file.c_str(),
                   parsed.error().message.c_str());
      return 2;
    }
    heads = std::move(parsed.value());
  }
  auto stores = collectStores(a, a.jurisdiction, rc);
  if (!stores) return rc;
  if (stores->empty()) {
    std::printf("FAIL no audit stores found in %s\n", a.dir.c_str());
    return 1;
  }
  bool all_ok = true;
  size_t chains = 0;
  for (auto& ns : *stores) {
    auto reports = audit::verifyStore(*ns.store, key, heads ? &*heads : nullptr);
    if (!reports.ok()) {
      std::printf("FAIL %s: cannot read: %s\n", ns.store->name().c_str(),
                  reports.error().message.c_str());
      all_ok = false;
      continue;
    }
    if (reports->empty()) std::printf("OK   %s: empty (no records)\n", ns.store->name().c_str());
    for (const auto& r : reports.value()) {
      std::printf("%s\n", audit::formatReport(r).c_str());
      all_ok = all_ok && r.ok;
      ++chains;
    }
  }
  size_t heads_count = 0;
  if (heads) {
    // A chain named in the heads file that no store holds was deleted (a store or a replica).
    for (const auto& [chain, at] : heads->by_chain) {
      if (!a.jurisdiction.empty() && chain.first != a.jurisdiction) continue;
      heads_count += at.size();
      if (heads->seen.count(chain)) continue;
      std::printf("FAIL chain jurisdiction=%s replica=%s: exported head at seq %lld, but no store "
                  "given holds this chain (store or replica deleted?)\n",
                  chain.first.c_str(), chain.second.c_str(),
                  static_cast<long long>(at.rbegin()->first));
      all_ok = false;
    }
  }
  std::string notes;
  if (key.empty()) notes += ", checkpoint MACs not checked (no --key-file)";
  if (heads) notes += ", " + std::to_string(heads_count) + " exported head(s) from " + a.heads_file;
  std::printf("%s: %zu store(s), %zu chain(s)%s\n", all_ok ? "verified" : "verification FAILED",
              stores->size(), chains, notes.c_str());
  return all_ok ? 0 : 1;
}

int runQuery(const AuditArgs& a) {
  int rc = 0;
  if (a.format != "table" && a.format != "jsonl") {
    std::fprintf(stderr, "regiongate audit query: --format must be table or jsonl\n");
    return 2;
  }
  audit::ScanQuery q;
  q.chain_order = false;
  q.violations_only = a.violations;
  if (!a.tenant.empty()) q.tenant = a.tenant;
  if (!parseTimeOption(a.since, "query", q.since_us) ||
      !parseTimeOption(a.until, "query", q.until_us))
    return 2;
  if (q.since_us && q.until_us && *q.until_us <= *q.since_us) {
    std::fprintf(stderr, "regiongate audit query: --until must be after --since\n");
    return 2;
  }
  if (!a.request_id.empty()) q.request_id = a.request_id;
  auto stores = collectStores(a, a.jurisdiction, rc);
  if (!stores) return rc;
  std::vector<audit::Record> records;
  bool failed = false;
  for (auto& ns : *stores) {
    audit::ScanQuery sq = q;
    // A DSN may hold several jurisdictions: filter rows here, so the limit applies after it.
    const bool filter_rows = ns.jurisdiction.empty() && !a.jurisdiction.empty();
    if (!filter_rows) sq.limit = a.limit;
    int64_t taken = 0;
    Status st = ns.store->scan(sq, [&](const audit::Record& r) {
      if (filter_rows && r.jurisdiction != a.jurisdiction) return true;
      records.push_back(r);
      return a.limit < 0 || ++taken < a.limit;
    });
    if (!st.ok()) {
      std::fprintf(stderr, "regiongate audit query: %s\n", st.error().message.c_str());
      failed = true;
    }
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const audit::Record& x, const audit::Record& y) { return x.ts_us < y.ts_us; });
  if (a.limit >= 0 && records.size() > static_cast<size_t>(a.limit))
    records.resize(static_cast<size_t>(a.limit));
  if (a.format == "jsonl") {
    for (const auto& r : records) std::printf("%s\n", audit::recordToJson(r).c_str());
  } else {
    std::fputs(audit::formatTable(records).c_str(), stdout);
  }
  return failed ? 1 : 0;
}

}  // namespace

Run addAuditCommand(CLI::App& app) {
  auto args = std::make_shared<AuditArgs>();
  auto* audit_cmd = app.add_subcommand("audit", "Verify or query the audit log");
  audit_cmd->require_subcommand(1);
  auto* verify = audit_cmd->add_subcommand(
      "verify", "Recompute every hash chain; exit 1 on any break it can detect");
  auto* query = audit_cmd->add_subcommand("query", "List audit records");
  auto* prune = audit_cmd->add_subcommand(
      "prune", "Retention: delete each chain's segments older than a cutoff, leaving a signed "
               "anchor so the rest still verifies");
  auto* heads = audit_cmd->add_subcommand(
      "heads", "Print each chain's newest (seq, hash) as JSON lines, to keep off the host for "
               "verify --heads");
  for (auto* sub : {verify, query, prune, heads}) {
    sub->add_option("--dir", args->dir, "Directory of SQLite stores (<jurisdiction>.db)");
    sub->add_option("--dsn", args->dsns, "PostgreSQL DSN of a store (repeatable)");
    sub->add_option("--jurisdiction", args->jurisdiction, "Only this jurisdiction's store");
  }
  for (auto* sub : {verify, prune})
    sub->add_option("--key-file", args->key_file,
                    "Checkpoint HMAC key (audit.checkpoint_key_file)");
  verify->add_option("--heads", args->heads_file,
                     "File of exported heads (audit heads): each must still be in its chain");
  prune->add_option("--before", args->before,
                    "Delete records older than this (RFC 3339 or unix seconds)");
  prune->add_option("--older-than-days", args->older_than_days,
                    "Delete records older than N days")
      ->check(CLI::NonNegativeNumber);
  prune->add_flag("--dry-run", args->dry_run, "Report what would be deleted; change nothing");
  query->add_flag("--violations", args->violations, "Only records with a residency violation");
  query->add_option("--since", args->since, "From this time on (RFC 3339 or unix seconds)");
  query->add_option("--until", args->until, "Before this time (RFC 3339 or unix seconds)");
  query->add_option("--tenant", args->tenant, "Only this tenant");
  query->add_option("--request-id", args->request_id,
                    "Only this request (the x-regiongate-request-id a client got)");
  query->add_option("--format", args->format, "table | jsonl")
      ->check(CLI::IsMember({"table", "jsonl"}));
  query->add_option("--limit", args->limit, "At most N records (oldest first)");
  return [args, verify, query, prune, heads]() -> int {
    if (verify->parsed()) return runVerify(*args);
    if (heads->parsed()) return runHeads(*args);
    if (prune->parsed()) return runPrune(*args);
    if (query->parsed()) return runQuery(*args);
    return 2;
  };
}

}  // namespace regiongate::cli
