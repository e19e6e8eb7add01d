#include "audit/prune.h"

#include <algorithm>

#include "audit/checkpoint.h"
#include "audit/verify.h"

namespace regiongate::audit {
namespace {

// The hash of record `seq` of the replica's chain (already verified by the caller).
Result<std::string> hashAt(Store& store, const std::string& replica, int64_t seq) {
  ScanQuery q;
  q.replica_id = replica;
  q.chain_order = true;
  std::string hash;
  Status st = store.scan(q, [&](const Record& r) {
    if (r.seq == seq) hash = r.hash;
    return r.seq < seq;
  });
  if (!st.ok()) return st.error();
  if (hash.empty())
    return Error::internal(store.name() + ": replica " + replica + ": record " +
                               std::to_string(seq) + " not found",
                           "audit_prune");
  return hash;
}

PruneReport pruneChain(Store& store, const ChainReport& chain, const PruneOptions& opts) {
  PruneReport rep;
  rep.store = store.name();
  rep.replica_id = chain.replica_id;
  rep.through_seq = chain.pruned_through_seq;
  rep.records_kept = chain.records;
  if (!chain.ok) {
    rep.ok = false;
    rep.problem = "chain does not verify (first broken link at seq " +
                  std::to_string(chain.broken_seq) + ": " + chain.problem +
                  "); not pruned: pruning would destroy the evidence";
    return rep;
  }
  auto segs = store.segmentIndex(chain.replica_id);
  if (!segs.ok()) {
    rep.ok = false;
    rep.problem = segs.error().message;
    return rep;
  }
  // The prefix of whole segments entirely older than the cutoff, never the newest segment, and
  // only what verify saw (a gateway may have appended since).
  std::vector<SegmentInfo> doomed;
  for (size_t i = 0; i + 1 < segs->size(); ++i) {
    const SegmentInfo& s = (*segs)[i];
    if (s.max_ts_us >= opts.cutoff_us || s.last_seq > chain.last_seq) break;
    doomed.push_back(s);
  }
  const int64_t cap = std::max<int64_t>(1, opts.max_segments_per_txn);
  int64_t step = std::clamp<int64_t>(opts.first_segments_per_txn, 1, cap);
  for (size_t begin = 0; begin < doomed.size();) {
    const size_t end = std::min(doomed.size(), begin + static_cast<size_t>(step));
    int64_t records = 0;
    for (size_t i = begin; i < end; ++i) records += doomed[i].record_count;
    const int64_t through = doomed[end - 1].last_seq;
    if (!opts.dry_run) {
      auto hash = hashAt(store, chain.replica_id, through);
      if (!hash.ok()) {
        rep.ok = false;
        rep.problem = hash.error().message;
        return rep;
      }
      PruneAnchor a;
      a.replica_id = chain.replica_id;
      a.through_seq = through;
      a.hash = std::move(hash.value());
      a.ts_us = opts.now_us;
      a.cutoff_us = opts.cutoff_us;
      signPruneAnchor(a, opts.key);
      const int64_t t1 = opts.clock->nowNanos();
      if (Status st = store.prune(a); !st.ok()) {
        rep.ok = false;
        rep.problem = st.error().message;
        return rep;
      }
      // Size the next transaction by how long this one held the store (the delete, not the
      // read before it).
      const int64_t ms = (opts.clock->nowNanos() - t1) / 1'000'000;
      ++rep.transactions;
      rep.longest_txn_ms = std::max(rep.longest_txn_ms, ms);
      if (ms * 2 < opts.target_txn_ms) step = std::min(cap, step * 2);
      else if (ms > opts.target_txn_ms) step = std::max<int64_t>(1, step / 2);
    }
    rep.segments_deleted += static_cast<int64_t>(end - begin);
    rep.records_deleted += records;
    rep.records_kept -= records;
    rep.through_seq = through;
    begin = end;
  }
  return rep;
}

}  // namespace

Result<std::vector<PruneReport>> pruneStore(Store& store, const PruneOptions& opts) {
  auto chains = verifyStore(store, opts.key);
  if (!chains.ok()) return chains.error();
  std::vector<PruneReport> out;
  for (const ChainReport& chain : chains.value()) out.push_back(pruneChain(store, chain, opts));
  return out;
}

std::string formatPruneReport(const PruneReport& r, bool dry_run) {
  std::string s = r.ok ? "OK   " : "FAIL ";
  s += r.store + " replica=" + r.replica_id;
  if (!r.ok) return s + "\n     " + r.problem;
  s += (dry_run ? " would delete segments=" : " deleted segments=") +
       std::to_string(r.segments_deleted) + " records=" + std::to_string(r.records_deleted) +
       " kept records=" + std::to_string(r.records_kept);
  if (r.through_seq) s += " pruned_through_seq=" + std::to_string(r.through_seq);
  if (r.transactions)
    s += " transactions=" + std::to_string(r.transactions) +
         " longest_ms=" + std::to_string(r.longest_txn_ms);
  return s;
}

}  // namespace regiongate::audit
