#include "audit/verify.h"

#include <map>

namespace regiongate::audit {
namespace {

ChainReport verifyChain(Store& store, const std::string& replica, const std::string& key,
                        ExpectedHeads* heads, Status& io) {
  ChainReport rep;
  rep.store = store.name();
  rep.replica_id = replica;
  auto cps = store.checkpoints(replica);
  if (!cps.ok()) {
    io = cps.error();
    return rep;
  }
  // Checkpoints we trust: all when no key is given, else only those whose MAC verifies.
  std::map<int64_t, std::string> trusted;  // seq -> hash
  for (const auto& cp : cps.value()) {
    if (!key.empty()) {
      if (cp.mac.empty()) {
        ++rep.checkpoints_unsigned;
        continue;
      }
      if (!checkpointMacValid(cp, key)) {
        if (rep.ok) {
          rep.ok = false;
          rep.problem = "checkpoint MAC invalid (checkpoint edited or signed with another key)";
          rep.broken_seq = cp.seq;
          rep.expected = hmacSha256Hex(key, checkpointMessage(cp));
          rep.found = cp.mac;
        }
        continue;
      }
    }
    trusted[cp.seq] = cp.hash;
  }
  rep.checkpoints_checked = static_cast<int64_t>(trusted.size());
  if (!trusted.empty()) rep.newest_checkpoint_seq = trusted.rbegin()->first;

  // Prune anchors (retention, prune.h) we trust, by the same rule as checkpoints. The chain may
  // start right after one of them instead of at the genesis hash.
  auto anchors = store.pruneAnchors(replica);
  if (!anchors.ok()) {
    io = anchors.error();
    return rep;
  }
  std::map<int64_t, std::string> anchor_at;  // through_seq -> hash of that (deleted) record
  for (const auto& a : anchors.value()) {
    if (!key.empty()) {
      if (a.mac.empty()) {
        ++rep.anchors_unsigned;
        continue;
      }
      if (!pruneAnchorMacValid(a, key)) {
        if (rep.ok) {
          rep.ok = false;
          rep.problem = "prune anchor MAC invalid (anchor edited or signed with another key)";
          rep.broken_seq = a.through_seq;
          rep.expected = hmacSha256Hex(key, pruneMessage(a));
          rep.found = a.mac;
        }
        continue;
      }
    }
    anchor_at[a.through_seq] = a.hash;
  }

  int64_t expected_seq = 1;
  std::string prev(kGenesisHash);
  bool broken = !rep.ok;
  auto breakAt = [&](int64_t seq, std::string problem, std::string expected, std::string found) {
    broken = true;
    rep.ok = false;
    rep.problem = std::move(problem);
    rep.broken_seq = seq;
    rep.expected = std::move(expected);
    rep.found = std::move(found);
  };
  ScanQuery q;
  q.replica_id = replica;
  q.chain_order = true;
  const std::map<int64_t, std::string>* chain_heads = nullptr;  // this chain's exported heads
  Status st = store.scan(q, [&](const Record& r) {
    ++rep.records;
    rep.last_seq = r.seq;
    if (r.jurisdiction != rep.jurisdiction) {
      rep.jurisdiction = r.jurisdiction;
      chain_heads = nullptr;
      if (heads) {
        if (auto it = heads->by_chain.find({r.jurisdiction, replica}); it != heads->by_chain.end())
          chain_heads = &it->second;
      }
    }
    if (broken) return true;  // keep counting
    if (rep.records == 1 && r.seq > 1) {
      // The oldest records were pruned: the chain continues from the anchor naming r.seq - 1.
      if (auto it = anchor_at.find(r.seq - 1); it != anchor_at.end()) {
        expected_seq = r.seq;
        prev = it->second;
        rep.pruned_through_seq = it->first;
      } else if (!anchor_at.empty()) {
        expected_seq = anchor_at.rbegin()->first + 1;  // report against the newest anchor
      }
    }
    if (r.seq != expected_seq) {
      breakAt(expected_seq,
              r.seq > expected_seq ? "missing record(s) (deleted or renumbered)"
                                   : "record out of order (renumbered)",
              "seq " + std::to_string(expected_seq), "seq " + std::to_string(r.seq));
      return true;
    }
    if (r.prev_hash != prev) {
      breakAt(r.seq, "prev_hash does not link to the previous record", prev, r.prev_hash);
      return true;
    }
    std::string h = recordHash(r.prev_hash, r);
    if (h != r.hash) {
      breakAt(r.seq, "hash mismatch (record edited)", h, r.hash);
      return true;
    }
    if (auto it = trusted.find(r.seq); it != trusted.end() && it->second != r.hash) {
      breakAt(r.seq, "record differs from its checkpoint", it->second, r.hash);
      return true;
    }
    if (auto it = anchor_at.find(r.seq); it != anchor_at.end() && it->second != r.hash) {
      breakAt(r.seq, "record differs from its prune anchor", it->second, r.hash);
      return true;
    }
    if (chain_heads) {
      if (auto it = chain_heads->find(r.seq); it != chain_heads->end()) {
        ++rep.heads_checked;
        if (it->second != r.hash) {
          breakAt(r.seq, "record differs from an exported head (chain rewritten)", it->second,
                  r.hash);
          return true;
        }
      }
    }
    prev = r.hash;
    ++expected_seq;
    return true;
  });
  if (!st.ok()) {
    io = st;
    return rep;
  }
  if (!broken && rep.records == 0 && !anchor_at.empty()) {
    // prune never deletes a chain's newest segment: no record at all after an anchor is a
    // deletion.
    rep.pruned_through_seq = rep.last_seq = anchor_at.rbegin()->first;
    breakAt(rep.last_seq + 1,
            "no records after the prune anchor at seq " + std::to_string(rep.last_seq) +
                " (prune keeps each chain's newest records: they were deleted)",
            "seq " + std::to_string(rep.last_seq + 1), "(no record)");
  }
  if (heads && !rep.jurisdiction.empty()) {
    auto it = heads->by_chain.find({rep.jurisdiction, replica});
    if (it != heads->by_chain.end()) {
      heads->seen.insert(it->first);
      for (const auto& [seq, hash] : it->second) {
        if (seq <= rep.pruned_through_seq) ++rep.heads_pruned;
      }
      const auto newest = it->second.rbegin();
      if (!broken && newest->first > rep.last_seq) {
        breakAt(rep.last_seq + 1,
                "truncated: exported head at seq " + std::to_string(newest->first) +
                    " but the chain ends at seq " + std::to_string(rep.last_seq),
                newest->second, "(no record)");
      }
    }
  }
  if (!broken && !trusted.empty() && rep.newest_checkpoint_seq > rep.last_seq) {
    breakAt(rep.last_seq + 1,
            "truncated: checkpoint at seq " + std::to_string(rep.newest_checkpoint_seq) +
                " but the chain ends at seq " + std::to_string(rep.last_seq),
            trusted.rbegin()->second, "(no record)");
  }
  return rep;
}

}  // namespace

Result<std::vector<ChainReport>> verifyStore(Store& store, const std::string& key,
                                             ExpectedHeads* heads) {
  if (auto st = store.open(); !st.ok()) return st.error();
  auto replicas = store.replicas();
  if (!replicas.ok()) return replicas.error();
  std::vector<ChainReport> out;
  for (const auto& replica : replicas.value()) {
    Status io;
    ChainReport rep = verifyChain(store, replica, key, heads, io);
    if (!io.ok()) return io.error();
    out.push_back(std::move(rep));
  }
  return out;
}

std::string formatReport(const ChainReport& r) {
  std::string s = r.ok ? "OK   " : "FAIL ";
  s += r.store + " replica=" + r.replica_id + " records=" + std::to_string(r.records) +
       " last_seq=" + std::to_string(r.last_seq);
  if (r.checkpoints_checked)
    s += " checkpoint_seq=" + std::to_string(r.newest_checkpoint_seq);
  else
    s += " checkpoint=none";
  if (r.checkpoints_unsigned)
    s += " unsigned_checkpoints_ignored=" + std::to_string(r.checkpoints_unsigned);
  if (r.pruned_through_seq) s += " pruned_through_seq=" + std::to_string(r.pruned_through_seq);
  if (r.heads_checked) s += " exported_heads_checked=" + std::to_string(r.heads_checked);
  if (r.heads_pruned) s += " exported_heads_pruned=" + std::to_string(r.heads_pruned);
  if (r.anchors_unsigned)
    s += " unsigned_prune_anchors_ignored=" + std::to_string(r.anchors_unsigned);
  if (!r.ok)
    s += "\n     first broken link at seq " + std::to_string(r.broken_seq) + ": " + r.problem +
         "\n     expected: " + r.expected + "\n     found:    " + r.found;
  return s;
}

}  // namespace regiongate::audit
