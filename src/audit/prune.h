#pragma once
// Retention: `regiongate audit prune` deletes a chain's oldest segments (those whose records are
// all older than a cutoff) and leaves a signed prune anchor in their place (checkpoint.h
// PruneAnchor), so that `audit verify` still proves the rest of the chain. Storage limitation is
// a legal duty as much as residency is: an audit trail must not grow forever.
//
// Rules, per replica chain (docs/audit.md "Retention"):
// - The chain is verified first (with the checkpoint key when given); a broken chain is never
//   pruned: pruning would destroy the evidence of the tampering.
// - Only whole segments go, oldest first, and only a prefix of the chain (the first segment that
//   holds a record at or after the cutoff stops it). A chain's newest segment is always kept, so
//   its head (and the writer's next prev_hash) stays in the store.
// - Many short transactions, each with its own anchor, sized so that each takes about
//   target_txn_ms (segments differ in size by 100x: a group commit of one record or of 512 with
//   opted-in text): a gateway writing to the same store waits for one short transaction at a
//   time (its SQLite busy timeout is 200 ms), never for the whole prune. Safe while gateways
//   run: they only append after the kept head.
#include <cstdint>
#include <string>
#include <vector>

#include "audit/store.h"
#include "common/clock.h"
#include "common/result.h"

namespace regiongate::audit {

struct PruneOptions {
  int64_t cutoff_us = 0;   // delete segments whose newest record is older than this
  int64_t now_us = 0;      // the anchors' ts_us
  std::string key;         // checkpoint HMAC key: verify with it and sign the anchors ("" = none)
  bool dry_run = false;    // plan and report, change nothing
  int64_t max_segments_per_txn = 1000;  // cap of the adaptive transaction size
  int64_t first_segments_per_txn = 8;   // the first transaction's size
  int64_t target_txn_ms = 25;           // grow while faster than half this, shrink when slower
  const Clock* clock = &SystemClock::instance();  // measures the transactions
};

struct PruneReport {
  std::string store;
  std::string replica_id;
  bool ok = true;
  std::string problem;          // why this chain was not pruned (when !ok)
  int64_t segments_deleted = 0; // (would be, with dry_run)
  int64_t records_deleted = 0;
  int64_t through_seq = 0;      // the newest anchor after this run (0 = never pruned)
  int64_t records_kept = 0;
  int64_t transactions = 0;
  int64_t longest_txn_ms = 0;
};

// Fails only when the store cannot be opened or listed; per-chain failures are in the reports.
Result<std::vector<PruneReport>> pruneStore(Store& store, const PruneOptions& opts);

std::string formatPruneReport(const PruneReport& r, bool dry_run);

}  // namespace regiongate::audit
