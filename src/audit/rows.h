#pragma once
// The checkpoint, segment-index and prune-anchor rows, read the same way by the SQLite and the
// PostgreSQL store: the columns are schema.h's, in its order. `Row` gives text(col) and
// i64(col) for the current row (each store wraps its own cursor).
#include "audit/checkpoint.h"
#include "audit/store.h"

namespace regiongate::audit {

// Columns of schema::kCheckpointColumns: replica_id, seq, hash, ts_us, mac.
template <class Row>
Checkpoint checkpointFromRow(const Row& r) {
  return Checkpoint{r.text(0), r.i64(1), r.text(2), r.i64(3), r.text(4)};
}

// Columns: first_seq, last_seq, min_ts_us, max_ts_us, record_count.
template <class Row>
SegmentInfo segmentInfoFromRow(const Row& r) {
  return SegmentInfo{r.i64(0), r.i64(1), r.i64(2), r.i64(3), r.i64(4)};
}

// Columns of schema::kPruneColumns: replica_id, through_seq, hash, ts_us, cutoff_us, mac.
template <class Row>
PruneAnchor pruneAnchorFromRow(const Row& r) {
  return PruneAnchor{r.text(0), r.i64(1), r.text(2), r.i64(3), r.i64(4), r.text(5)};
}

}  // namespace regiongate::audit
