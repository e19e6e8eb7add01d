#pragma once
// Audit segments: the storage unit of both sinks. One group commit of one replica's chain is
// stored as ONE row of `audit_segments` (replica_id, first_seq, last_seq, min_ts_us, max_ts_us,
// record_count, violations, records) whose `records` column is a JSON array of the records in
// chain order, each exactly as `audit query --format jsonl` prints it (recordToJson).
//
// Why not one row per record: a SQLite row insert with its two b-tree updates costs ~4-5 µs of
// writer CPU, about a fifth of a whole proxied request (~22 µs), and PostgreSQL's per-row cost is
// higher still; one row per group commit makes the store's share per record a JSON append
// (docs/audit.md "Storage layout", docs/benchmarks.md "audit"). SQL users keep a per-record view:
// `audit_records` (same 26 columns as before) is a view over the segments.
//
// Readers (scan) decode segments back into Records. Nothing here trusts the stored bytes: a
// segment that does not parse, or an element with a missing/unknown/mistyped field, becomes a
// record whose prev_hash names the problem, so `audit verify` reports the first broken link
// there instead of failing or skipping data.
#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record.h"
#include "audit/store.h"

namespace regiongate::audit {

// Records per segment row at most (larger batches are split): keeps rows well under SQLite's and
// libpq's size limits even with opted-in prompt text, and bounds what a reader decodes at once.
inline constexpr size_t kMaxRecordsPerSegment = 512;

struct Segment {
  std::string replica_id;
  int64_t first_seq = 0, last_seq = 0;
  int64_t min_ts_us = 0, max_ts_us = 0;
  int64_t record_count = 0;
  int64_t violations = 0;  // records with a non-empty violation (lets readers skip segments)
  std::string records;     // JSON array of recordToJson objects
};

// Builds the segment of records [begin, end) of `batch` (one replica, seq ascending, hashes set).
Segment makeSegment(const std::vector<Record>& batch, size_t begin, size_t end);

// Decodes a stored segment's records. Never fails: see the header comment for what malformed
// input becomes. `replica_id` / `first_seq` are the row's, used for the marker of an unreadable
// segment.
std::vector<Record> decodeSegment(std::string_view replica_id, int64_t first_seq,
                                  std::string_view records_json);

// Applies a ScanQuery to segments delivered in the order the query needs:
//   chain_order: ORDER BY replica_id, first_seq
//   else:        ORDER BY min_ts_us, replica_id, first_seq
// Records come out filtered (since/tenant/violations), ordered and limited. In time order a
// record is held back only until no later segment can hold an earlier record (segments arrive
// by their smallest timestamp), so memory is bounded by the overlapping segments, not the store.
class SegmentScanner {
public:
  SegmentScanner(const ScanQuery& q, const std::function<bool(const Record&)>& fn);
  // False once fn asked to stop or the limit was reached: the caller may stop reading rows.
  bool add(std::string_view replica_id, int64_t first_seq, int64_t min_ts_us,
           std::string_view records_json);
  // Emits what is held back (time order). Call once after the last row.
  void finish();

private:
  bool emit(const Record& r);
  bool matches(const Record& r) const;

  struct Later {
    bool operator()(const Record& a, const Record& b) const;
  };
  const ScanQuery& q_;
  const std::function<bool(const Record&)>& fn_;
  int64_t emitted_ = 0;
  bool stopped_ = false;
  std::priority_queue<Record, std::vector<Record>, Later> held_;
};

// Where-clause pieces shared by both sinks' segment queries (placeholders differ per sink, so
// each sink formats them); documented here so they stay in step with SegmentScanner::matches.
//   replica_id = <p>          when q.replica_id
//   max_ts_us >= <p>          when q.since_us (a segment wholly before `since` is skipped)
//   min_ts_us < <p>           when q.until_us (a segment wholly at/after `until` is skipped)
//   violations > 0            when q.violations_only

}  // namespace regiongate::audit
