#pragma once
// One audit record per request (docs/audit.md) and its canonical encoding, the bytes
// the hash chain covers. Thread affinity: plain values, no sharing.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace regiongate::audit {

// One upstream try. outcome: ok|connect_error|timeout|status_5xx|status_429|...
struct Attempt {
  std::string endpoint, region, outcome;
  double ms = 0;
};

struct Record {
  int64_t seq = 0;                 // assigned by the store's writer (per chain)
  int64_t ts_us = 0;               // wall time of request start, µs since epoch
  std::string request_id, tenant, jurisdiction, model, model_version;
  std::string intended_region, actual_region;
  std::string evidence;            // source, e.g. "header:x-inference-region" / "endpoint"
  std::string evidence_value;      // raw value seen ("" if missing)
  std::string endpoint;
  std::vector<Attempt> attempts;
  int status = 0;
  double ttft_ms = -1, duration_ms = 0;
  int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  std::string violation;           // "" | outside_jurisdiction | missing_evidence | unknown_region
  std::string error_type;          // typed error returned to the client, "" if none
  std::optional<std::string> prompt_text, completion_text;  // only when the tenant opted in
  std::string replica_id, prev_hash, hash;                  // filled by the writer
};

// prev_hash of the first record of every chain: 64 hex zeros.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Deterministic encoding of every field except prev_hash and hash (docs/audit.md "Canonical
// encoding"): a version line, then one `name=<byte length>:<bytes>\n` per field in a fixed
// order; integers in decimal, milliseconds with exactly 3 decimals, absent text as `name=-\n`.
std::string canonicalEncoding(const Record& rec);
void appendCanonicalEncoding(std::string& out, const Record& rec);

// hash = hex(SHA-256(prev_hash_hex || canonicalEncoding(rec))).
std::string recordHash(std::string_view prev_hash, const Record& rec);

// Makes a record storable in every sink and its encoding stable, before it is hashed: text
// fields become valid UTF-8 without NUL (invalid bytes -> U+FFFD), milliseconds become finite
// and within +-1e12 (NaN -> -1). Called by the writer; a poison record must not block a store.
void normalizeRecord(Record& rec);

// Milliseconds as written by canonicalEncoding (3 decimals), so stored values round-trip.
std::string formatMs(double ms);

// Attempts as a JSON array [{"endpoint","region","outcome","ms"}], the stored column form.
std::string attemptsToJson(const std::vector<Attempt>& attempts);
void appendAttemptsJson(std::string& out, const std::vector<Attempt>& attempts);
// Parses attemptsToJson's output (and any JSON of that shape). Errors name what is wrong.
Result<std::vector<Attempt>> parseAttemptsJson(std::string_view json);

// For readers of a store: a stored attempts column that no longer parses becomes one marker
// attempt, so the recomputed hash cannot match and verify names the record.
std::vector<Attempt> decodeStoredAttempts(std::string_view json);

// One JSON object per record (audit query --format jsonl).
// Also the stored form: a segment's `records` column is a JSON array of these (segment.h).
std::string recordToJson(const Record& rec);
void appendRecordJson(std::string& out, const Record& rec);

}  // namespace regiongate::audit
